"""The prompt inspector and the help screen: exact text, token ids on demand, every key."""

from __future__ import annotations

import threading

from textual.widgets import Static, TextArea

from tests.app.screen_host import ScreenHost, wait_for
from tui.engine.fake import FakeBackend
from tui.screens.help import HelpScreen
from tui.screens.prompt_inspector import PromptInspector, shown_text

HOSTILE = "<|system|>\n[bold]not markup[/bold] \x1b[2J\tend\n<|assistant|>\n"


def inspector_app(rendered: str = HOSTILE, ids=None) -> ScreenHost:  # noqa: ANN001
    return ScreenHost(lambda: PromptInspector(rendered, 42, ids))


def prompt_area(app: ScreenHost) -> TextArea:
    return app.screen.query_one("#prompt-text", TextArea)


async def test_the_rendered_prompt_is_shown_literally_with_its_token_count() -> None:
    app = inspector_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = prompt_area(app).text
        assert "[bold]not markup[/bold]" in text  # brackets are text
        assert "\x1b" not in text and "␛[2J" in text  # the escape is shown, not obeyed
        assert "42 tokens" in str(app.screen.query_one("#inspector").border_subtitle)
        await pilot.press("w")
        assert prompt_area(app).text.startswith("<|system|>↵\n")
        assert "→\tend↵" in prompt_area(app).text
        await pilot.press("w")
        assert prompt_area(app).text == shown_text(HOSTILE, False)
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results == [None]


async def test_t_tokenizes_in_the_background_and_shows_the_ids() -> None:
    backend = FakeBackend()
    messages = [{"role": "user", "content": "hello there"}]
    called_on: list[str] = []

    def ids() -> list[int]:
        called_on.append(threading.current_thread().name)
        return [1, 9690, 198, 2]

    app = inspector_app(backend.render_prompt(messages), ids)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not called_on  # nothing tokenized until asked
        await pilot.press("t")
        area = app.screen.query_one("#token-ids", TextArea)
        await wait_for(pilot, lambda: area.text == "1 9690 198 2")
        assert area.display
        assert "Token ids (4)" in str(app.screen.query_one("#ids-label", Static).render())
        assert called_on and called_on[0] != threading.main_thread().name
        await pilot.press("t")  # hides them again
        assert not area.display


async def test_without_a_tokenizer_t_says_so_and_a_failure_is_shown() -> None:
    app = inspector_app(ids=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert any("cannot list token ids" in n.message for n in app._notifications)

    def broken() -> list[int]:
        raise RuntimeError("tokenizer went away")

    app = inspector_app(ids=broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        label = app.screen.query_one("#ids-label", Static)
        await wait_for(pilot, lambda: "tokenizer went away" in str(label.render()))


async def test_c_copies_the_exact_prompt() -> None:
    app = inspector_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == HOSTILE


KEYS = [
    ("", "Chat"),
    ("enter", "send the prompt"),
    ("ctrl+j", "new line in the prompt"),
    ("up / down", "earlier prompts (on the first / last line)"),
    ("", "Session browser"),
    ("r", "rename [the chat]"),
    ("d", "delete (asks first)"),
] + [(f"f{i}", f"function key {i}") for i in range(1, 25)]


async def test_help_lists_every_key_and_scrolls_at_80x24() -> None:
    app = ScreenHost(lambda: HelpScreen(KEYS))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#keys", Static).render())
        for key, what in KEYS:
            assert key in text and what in text
        assert "rename [the chat]" in text  # markup-looking text stays text
        scroller = app.screen.query_one("#scroller")
        assert scroller.max_scroll_y > 0  # more keys than fit: it scrolls
        await pilot.press("end")
        assert scroller.scroll_y == scroller.max_scroll_y
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results == [None]


async def test_help_closes_with_f1_and_question_mark_too() -> None:
    for key in ("f1", "question_mark"):
        app = ScreenHost(lambda: HelpScreen(KEYS))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press(key)
            await wait_for(pilot, lambda: bool(app.results))  # noqa: B023


def test_fake_backend_token_ids_match_its_token_count() -> None:
    backend = FakeBackend()
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi you"}]
    ids = backend.token_ids(messages)
    assert len(ids) == backend.count_tokens(messages)
    assert ids == backend.token_ids(messages)  # stable
