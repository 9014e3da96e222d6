"""Screenshots of every modal screen at 80x24 and 120x40, with fixed data.

Each screen is hosted in a small App (`ScreenHost`) with fixed sessions, timestamps (shown in
UTC) and text, so the picture depends only on the code. After a deliberate change, update with
`pytest tests/app/test_screens_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.screen_host import ScreenHost, make_sessions, use_utc, wait_for
from tui.engine.fake import FakeBackend
from tui.screens.help import SCREEN_KEYS, HelpScreen
from tui.screens.prompt_inspector import PromptInspector
from tui.screens.session_browser import SessionBrowser
from tui.screens.settings import SettingsScreen
from tui.store import SessionStore
from tui.store.session import GenerationSettings

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])

APP_KEYS = [
    ("", "Chat"),
    ("enter", "send the prompt"),
    ("ctrl+j", "new line in the prompt"),
    ("escape", "stop the reply being written"),
    ("ctrl+n", "new chat"),
    ("f2", "system prompt"),
    ("ctrl+q", "quit (saves first)"),
]


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    use_utc(monkeypatch)


async def steady(pilot) -> None:  # noqa: ANN001
    """A blinking cursor is a coin toss in a screenshot: hold every cursor on."""
    await pilot.pause()
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    await pilot.pause(0.05)


def browser_host(folder: Path) -> ScreenHost:
    titles = [
        "Lists vs tuples in Python",
        "Why is my CUDA kernel slow?",
        "[bold]Markup[/bold] in a title stays text",
        "A very long title that goes on and on about tokenizers and chat templates",
    ]
    make_sessions(folder, 8, title="Chat number {i}")
    store = SessionStore(folder)
    for i, title in enumerate(titles):
        session = store.load(folder / f"20261125-{i + 4:06d}-abcdef.toml")
        session.title = title
        store.save(session)
    (folder / "20261124-000000-broken.toml").write_text("title = [unclosed", "utf-8")
    return ScreenHost(lambda: SessionBrowser(store, "20261125-000006-abcdef"))


async def browser_loaded(pilot) -> None:  # noqa: ANN001
    app = pilot.app
    await wait_for(pilot, lambda: len(app.screen_stack) > 1 and app.screen_stack[1].loaded)
    await steady(pilot)


@SIZES
def test_session_browser(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    """You should see 'Sessions' with a search line, a table of 8 chats newest first (title,
    updated 2026-11-26 03:00 down to 2026-11-25 20:00, model SmolLM2-360M-Instruct cut to
    fit, 2 msgs), the open chat marked '●', '[bold]Markup[/bold]' as literal text, the
    unreadable file last ('cannot be read'), the highlighted row's file name under the
    table, '9 sessions' in the bottom border, and the footer keys Open/Rename/Delete/Export/
    Search/Close."""
    app = browser_host(tmp_path / "sessions")
    assert snap_compare(app, terminal_size=size, run_before=browser_loaded)


def test_session_browser_unreadable_highlighted(snap_compare, tmp_path: Path) -> None:
    """You should see the last row, 20261124-000000-broken.toml, highlighted and under the
    table, in the error colour, why it cannot be read (the TOML parser's message)."""

    async def go_last(pilot) -> None:  # noqa: ANN001
        await browser_loaded(pilot)
        await pilot.press("end")
        await pilot.pause(0.1)

    assert snap_compare(browser_host(tmp_path / "s"), terminal_size=(80, 24), run_before=go_last)


def test_session_browser_search(snap_compare, tmp_path: Path) -> None:
    """You should see the search box holding 'chat number', the 4 chats still called 'Chat
    number …' listed, '4 sessions matching' in the bottom border, and 'To the list' (Down) in
    the footer."""

    async def search(pilot) -> None:  # noqa: ANN001
        await browser_loaded(pilot)
        await pilot.press("slash", *"chat number")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.query_one("SessionTable").row_count == 4)
        await steady(pilot)

    assert snap_compare(browser_host(tmp_path / "s"), terminal_size=(80, 24), run_before=search)


def test_session_browser_delete_confirmation(snap_compare, tmp_path: Path) -> None:
    """You should see a red-bordered dialog over the browser asking to delete 'A very long
    title…', with the file name and 'y delete · n or Esc keep it'."""

    async def ask(pilot) -> None:  # noqa: ANN001
        await browser_loaded(pilot)
        await pilot.press("down", "down", "d")
        await pilot.pause(0.1)

    assert snap_compare(browser_host(tmp_path / "s"), terminal_size=(80, 24), run_before=ask)


SETTINGS = GenerationSettings(
    max_new_tokens=512,
    do_sample=True,
    temperature=0.7,
    top_p=0.9,
    top_k=50,
    repetition_penalty=1.1,
    seed=None,
)
SYSTEM = "You are a concise assistant.\nAnswer in plain English; use code blocks for code."


@SIZES
def test_settings(snap_compare, size: tuple[int, int]) -> None:
    """You should see 'Settings for this chat': Sampling (switch on), Temperature 0.7, Top p
    0.9, Top k 50, Max new tokens 512, Repetition penalty 1.1, Seed empty ('random'), each
    with a short hint, then the two-line system prompt in an editor, and ctrl+s/Esc in the
    footer."""
    app = ScreenHost(lambda: SettingsScreen(SETTINGS, SYSTEM))
    assert snap_compare(app, terminal_size=size, run_before=steady)


def test_settings_with_errors(snap_compare) -> None:
    """You should see Temperature 0 with 'must be more than 0 when sampling' in red beside it,
    and Top p 2 with 'must be more than 0 and at most 1' in red."""

    async def break_it(pilot) -> None:  # noqa: ANN001
        for name, value in (("temperature", "0"), ("top_p", "2")):
            pilot.app.screen.query_one(f"#{name}").focus()
            await pilot.press("ctrl+a", "ctrl+k", *value)
        await steady(pilot)

    app = ScreenHost(lambda: SettingsScreen(SETTINGS, SYSTEM))
    assert snap_compare(app, terminal_size=(80, 24), run_before=break_it)


def inspector_host() -> ScreenHost:
    backend = FakeBackend()
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is [bold]this[/bold]?\tAn \x1b[31mescape\x1b[0m."},
        {"role": "assistant", "content": "Literal text."},
        {"role": "user", "content": "And a tab?"},
    ]
    rendered = backend.render_prompt(messages)
    count = backend.count_tokens(messages)
    return ScreenHost(lambda: PromptInspector(rendered, count, lambda: list(range(1, count + 1))))


@SIZES
def test_prompt_inspector(snap_compare, size: tuple[int, int]) -> None:
    """You should see 'Prompt as the model receives it' with '31 tokens · 144 characters' in
    the bottom border, the fake template (<|system|>, <|user|>, … <|assistant|>) as plain
    text, '[bold]this[/bold]' literally, ␛ where the escapes were, and the footer keys
    Token ids/Line ends/Copy/Close."""
    assert snap_compare(inspector_host(), terminal_size=size, run_before=steady)


def test_prompt_inspector_ids_and_line_ends(snap_compare) -> None:
    """You should see ↵ at the end of every line and → before the tab, and below the prompt
    'Token ids (31):' with the numbers 1 to 31."""

    async def show(pilot) -> None:  # noqa: ANN001
        await pilot.press("w", "t")
        await pilot.pause(0.3)
        await steady(pilot)

    assert snap_compare(inspector_host(), terminal_size=(80, 24), run_before=show)


@SIZES
def test_help(snap_compare, size: tuple[int, int]) -> None:
    """You should see 'Keys' with groups in bold (Chat, Prompt, Session browser, Settings,
    Prompt inspector, Dialogs), each key in a column and what it does beside it; at 80x24
    the list scrolls."""
    app = ScreenHost(lambda: HelpScreen(APP_KEYS + SCREEN_KEYS))
    assert snap_compare(app, terminal_size=size, run_before=steady)
