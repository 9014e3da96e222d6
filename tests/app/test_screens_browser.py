"""The session browser, driven by keys: list, search, open, rename, delete, export."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from tests.app.screen_host import ScreenHost, make_sessions, use_utc, wait_for
from tui.screens.confirm import ConfirmScreen, TextPromptScreen
from tui.screens.session_browser import SessionBrowser, SessionTable
from tui.store import SessionStore


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    use_utc(monkeypatch)


def browser_app(folder: Path, current_id: str | None = None, **kw: object) -> ScreenHost:
    store = SessionStore(folder)
    return ScreenHost(lambda: SessionBrowser(store, current_id, **kw))  # type: ignore[arg-type]


def browser(app: ScreenHost) -> SessionBrowser:
    screen = app.screen_stack[1]
    assert isinstance(screen, SessionBrowser)
    return screen


def visible_titles(app: ScreenHost) -> list[str]:
    table = app.screen.query_one(SessionTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def detail(app: ScreenHost) -> str:
    return str(app.screen.query_one("#detail", Static).render())


async def opened(pilot) -> SessionBrowser:  # noqa: ANN001
    await wait_for(pilot, lambda: len(pilot.app.screen_stack) > 1 and browser(pilot.app).loaded)
    await pilot.pause()
    return browser(pilot.app)


async def test_300_sessions_listed_newest_first_and_enter_opens_one(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 300)
    app = browser_app(folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        titles = visible_titles(app)
        assert len(titles) == 300
        assert titles[:2] == ["Chat number 299", "Chat number 298"]
        table = screen.query_one(SessionTable)
        assert str(table.get_row_at(0)[1]) == "2026-12-08 07:00"
        assert "300 sessions" in str(screen.query_one("#browser").border_subtitle)
        await pilot.press("end")  # the list scrolls to the oldest without lag
        assert table.cursor_row == 299
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results == [folder / "20261125-000001-abcdef.toml"]


async def test_cells_show_date_model_and_count_within_80_columns(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 2, title="A title long enough that it has to be cut to fit the column")
    app = browser_app(folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        table = screen.query_one(SessionTable)
        title, updated, model, count = (str(c) for c in table.get_row_at(0))
        assert title.startswith("A title long") and title.endswith("…")
        assert updated == "2026-11-25 21:00"
        assert model.startswith("SmolLM2-360M")
        assert count == "2"
        # no horizontal scrolling needed to see the message count
        assert table.virtual_size.width <= table.size.width


async def test_search_filters_by_message_text_and_shows_the_match(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 5)
    make_sessions(tmp_path / "other", 1)
    store = SessionStore(folder)
    special = store.load(folder / "20261125-000003-abcdef.toml")
    special.messages[1].content = "The answer involves a platypus in the river."
    store.save(special)
    app = browser_app(folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"PLATYPUS")
        await wait_for(pilot, lambda: visible_titles(app) == ["Chat number 3"])
        assert "platypus in the river" in detail(app)
        assert "1 session matching" in str(screen.query_one("#browser").border_subtitle)
        await pilot.press("down")
        assert isinstance(app.focused, SessionTable)
        await pilot.press("slash", "ctrl+u")  # clear the search: everything is back
        await wait_for(pilot, lambda: len(visible_titles(app)) == 5)
        await pilot.press(*"nothing like this")
        await wait_for(pilot, lambda: visible_titles(app) == [])
        assert "No session mentions" in detail(app)


async def test_unreadable_file_is_listed_with_its_reason_and_not_opened(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 1)
    (folder / "broken.toml").write_text("this is [not toml", "utf-8")
    app = browser_app(folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        assert visible_titles(app) == ["Chat number 0", "broken.toml"]
        table = app.screen.query_one(SessionTable)
        assert str(table.get_row_at(1)[1]) == "cannot be read"
        await pilot.press("down")
        assert "broken.toml cannot be read:" in detail(app)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert not app.results  # still browsing
        assert any("cannot be opened" in n.message for n in app._notifications)


async def test_rename_another_session_saves_the_new_title(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 2)
    app = browser_app(folder, current_id="20261125-000001-abcdef")
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("down", "r")
        assert isinstance(app.screen, TextPromptScreen)
        await pilot.press("ctrl+u", *"[b]Renamed[/b]", "enter")
        await wait_for(pilot, lambda: "[b]Renamed[/b]" in visible_titles(app))
        assert not app.posted  # not the open chat: the browser saved it itself
    assert SessionStore(folder).load(folder / "20261125-000000-abcdef.toml").title == (
        "[b]Renamed[/b]"
    )


async def test_renaming_the_open_chat_is_left_to_the_app(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 2)
    app = browser_app(folder, current_id="20261125-000001-abcdef")
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        assert visible_titles(app)[0] == "● Chat number 1"  # the open chat is marked
        await pilot.press("r", "ctrl+u", *"Fresh name", "enter")
        await wait_for(pilot, lambda: bool(app.posted))
        assert isinstance(app.posted[0], SessionBrowser.CurrentRenamed)
        assert app.posted[0].title == "Fresh name"
        assert visible_titles(app)[0] == "● Fresh name"
    # the file is untouched: the app saves its own copy of the chat with the new title
    assert SessionStore(folder).load(folder / "20261125-000001-abcdef.toml").title == (
        "Chat number 1"
    )


async def test_delete_asks_first_and_n_keeps_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 2)
    app = browser_app(folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # Enter is not an answer
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause(0.1)
        assert isinstance(app.screen, SessionBrowser)
    assert len(list(folder.glob("*.toml"))) == 2


async def test_deleting_the_open_chat_removes_it_and_tells_the_app(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 3)
    app = browser_app(folder, current_id="20261125-000002-abcdef")
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: len(visible_titles(app)) == 2)
        assert visible_titles(app) == ["Chat number 1", "Chat number 0"]
        assert [type(m) for m in app.posted] == [SessionBrowser.CurrentDeleted]
        assert app.posted[0].path == folder / "20261125-000002-abcdef.toml"
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results == [None]
    assert not (folder / "20261125-000002-abcdef.toml").exists()


async def test_export_writes_markdown_and_says_where(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    make_sessions(folder, 1, words="with `code`")
    exports = tmp_path / "exports"
    app = browser_app(folder, export_dir=exports)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("e")
        target = exports / "20261125-000000-abcdef.md"
        await wait_for(pilot, target.exists)
        await wait_for(pilot, lambda: any(str(target) in n.message for n in app._notifications))
    text = target.read_text("utf-8")
    assert text.startswith("# Chat number 0")
    assert "question 0 with `code`" in text and "## Assistant" in text


async def test_export_goes_to_the_data_folder_by_default(tmp_path: Path, private_home) -> None:  # noqa: ANN001
    folder = tmp_path / "sessions"
    make_sessions(folder, 1)
    app = browser_app(folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("e")
        target = private_home / "data" / "tchat" / "exports" / "20261125-000000-abcdef.md"
        await wait_for(pilot, target.exists)


async def test_empty_folder_says_so_and_escape_closes(tmp_path: Path) -> None:
    app = browser_app(tmp_path / "nothing-here")
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        assert "No saved sessions yet" in detail(app)
        await pilot.press("r", "d", "e")  # nothing to act on: no crash, no dialog
        await pilot.pause(0.1)
        assert isinstance(app.screen, SessionBrowser)
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results == [None]


async def test_an_unreadable_folder_is_reported_instead_of_loading_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: SessionStore) -> list:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(SessionStore, "list", refuse)
    app = browser_app(tmp_path / "sessions")
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        assert "Cannot read" in detail(app) and "Permission denied" in detail(app)
