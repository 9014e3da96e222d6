"""The private Textual names tchat still relies on exist, with the signatures it was written
against.

tchat uses Textual's public API wherever there is one (`textual.widgets.markdown`,
`Markdown.get_block_class`, `parser_factory`, `Markdown.get_stream`, `on_key`). Where there is
none, it uses a private name, and pyproject.toml pins Textual to the minor release tested here.
An upgrade that renames or reshapes one of these fails in this file, saying which tchat module
relies on it and what to re-check, instead of drawing wrongly or quietly losing a speed-up
(bench/stream_render_scaling.py and bench/app_vs_generate.py measure what they save).
No running app is needed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

import textual
from markdown_it.token import Token
from textual import screen as textual_screen
from textual.app import App
from textual.content import Content
from textual.driver import Driver
from textual.widget import Widget
from textual.widgets.markdown import Markdown, MarkdownBlock

TESTED = "8.2"


def check_signature(func: Callable[..., object], expected: str, user: str, recheck: str) -> None:
    actual = str(inspect.signature(func))
    assert actual == expected, (
        f"Textual {textual.__version__} (tchat was tested with {TESTED}.x) changed "
        f"{func.__qualname__}{actual}, expected {expected}. {user} relies on it: {recheck}"
    )


def test_widget_size_updated_for_one_layout() -> None:
    """tui/widgets/one_layout.py overrides it to skip the second layout after a resize."""
    recheck = (
        "re-check that OneLayout still passes layout=False for widgets that cannot scroll, "
        "then rerun bench/stream_render_scaling.py."
    )
    check_signature(
        Widget._size_updated,
        "(self, size: 'Size', virtual_size: 'Size', container_size: 'Size', "
        "layout: 'bool' = True) -> 'bool'",
        "tui/widgets/one_layout.py (OneLayout)",
        recheck,
    )
    # Renamed or no longer called, the override would cost nothing but save nothing either.
    assert "._size_updated(" in inspect.getsource(textual_screen), (
        "Textual's screen no longer calls Widget._size_updated: tui/widgets/one_layout.py "
        f"overrides a dead hook; {recheck}"
    )


def test_markdown_paragraph_for_stream_paragraph() -> None:
    """tui/widgets/stream_markdown.py subclasses the private MarkdownParagraph: the CSS aimed
    at it must apply, and an append must update the last paragraph in place through
    `set_content`, which StreamParagraph overrides to repaint without a layout."""
    from textual.widgets._markdown import MarkdownParagraph

    user = "tui/widgets/stream_markdown.py (StreamParagraph)"
    assert Markdown.BLOCKS["paragraph_open"] is MarkdownParagraph, (
        f"Markdown no longer builds paragraphs as MarkdownParagraph: {user} must subclass "
        "what `Markdown.BLOCKS['paragraph_open']` is now."
    )
    assert issubclass(MarkdownParagraph, MarkdownBlock)
    check_signature(
        MarkdownParagraph._update_from_block,
        "(self, block: 'MarkdownBlock')",
        user,
        "re-check that an append still updates the paragraph in place with set_content.",
    )
    check_signature(
        MarkdownBlock.set_content,
        "(self, content: 'Content') -> 'None'",
        user,
        "re-check StreamParagraph.set_content.",
    )

    updates: list[tuple[object, bool]] = []

    class Recording(MarkdownParagraph):
        def update(self, content: object = "", *, layout: bool = True) -> None:
            updates.append((content, layout))

    document = Markdown()
    token = Token("paragraph_open", "p", 1, map=[0, 1])
    old, new = Recording(document, token), MarkdownParagraph(document, token)
    new.set_content(Content("more text"))
    updates.clear()
    asyncio.run(old._update_from_block(new))  # what Markdown.append does to the last paragraph
    assert updates == [(Content("more text"), True)], (
        f"an append no longer reaches the paragraph as set_content -> update(content): {user} "
        "keeps streamed paragraphs from laying the screen out through that path; re-check it "
        "(tests/app/test_stream_updates.py) and bench/stream_render_scaling.py."
    )


def test_app_clipboard_and_driver_for_copy() -> None:
    """tui/clipboard.py `copy_in_app` sets App._clipboard (no public setter behind
    App.clipboard, which the inputs paste from) and writes through App._driver (no public way
    to write to the terminal but copy_to_clipboard, which sends the bare OSC 52)."""
    user = "tui/clipboard.py (copy_in_app)"
    app = App()
    assert app._driver is None, f"App._driver is gone: {user} cannot reach the terminal."
    app._clipboard = "copied"
    assert app.clipboard == "copied", (
        f"App.clipboard no longer reads App._clipboard: {user} must set the app's clipboard "
        "another way, or ctrl+v in the prompt pastes something stale."
    )
    check_signature(Driver.write, "(self, data: 'str') -> 'None'", user, "re-check copy_in_app.")
    source = inspect.getsource(App.copy_to_clipboard)
    assert "self._clipboard = text" in source and "self._driver.write(" in source, (
        f"App.copy_to_clipboard no longer works through _clipboard and _driver: {user} copies "
        "its way; re-check it against the new method (tests/unit/test_clipboard.py)."
    )
