"""Streamed text reaches the screen in batches, a few a second, not one update per token.

Each update costs the UI thread a relayout and a frame, and that thread shares Python's lock
with generate: at one update per token the app decoded 15-25% slower than bare generate on a
2-core CPU (bench/app_vs_generate.py). The user sees the same text either way.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Markdown

import tui.app
from tests.app.test_chat import type_and_send, wait_replies
from tui.app import TchatApp
from tui.cli import LaunchConfig
from tui.engine.fake import FakeBackend
from tui.engine.pump import MIN_INTERVAL_S
from tui.messages import ReplyChunked
from tui.store.session import GenerationSettings
from tui.widgets.stream_markdown import StreamMarkdown, StreamParagraph

TOKENS = 300
DELAY = 0.005  # 200 tokens a second: a small model on a GPU


class CountingApp(TchatApp):
    """The real app, keeping every batch of streamed text it is handed."""

    CSS_PATH = str(Path(tui.app.__file__).with_name(str(TchatApp.CSS_PATH)))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.batches: list[ReplyChunked] = []

    def on_reply_chunked(self, event: ReplyChunked) -> None:
        # Textual then calls TchatApp's own handler too: it walks the class hierarchy.
        self.batches.append(event)


async def test_a_fast_reply_reaches_the_screen_in_a_few_batches_a_second(
    sessions_dir: Path,
) -> None:
    backend = FakeBackend(script="word " * TOKENS, delay=DELAY)
    app = CountingApp(LaunchConfig(sessions_dir=sessions_dir), backend=backend)
    async with app.run_test(size=(100, 30)) as pilot:
        app.session.settings = GenerationSettings(max_new_tokens=TOKENS)
        await type_and_send(pilot, "go")
        await wait_replies(pilot, 1, timeout=30)
    seen = app.batches
    reply = app.session.messages[-1]
    assert "".join(b.text for b in seen) == reply.content  # every word arrived, in order
    assert reply.stats is not None and reply.stats.new_tokens >= TOKENS
    elapsed = seen[-1].elapsed_s
    # At most one batch per shortest interval (plus the first and the last), far fewer
    # than tokens.
    assert len(seen) <= elapsed / MIN_INTERVAL_S + 2
    assert len(seen) < TOKENS / 10


class ParagraphHost(App):
    """A reply's Markdown widget alone, in a narrow column."""

    def compose(self) -> ComposeResult:
        yield StreamMarkdown("")


async def test_a_streamed_paragraph_shows_every_word_as_it_grows_line_by_line() -> None:
    # Most batches only lengthen the last line, and then the paragraph repaints without a
    # layout of the screen; a batch that starts a new line must still grow the paragraph.
    words = [f"word{i:02d}" for i in range(40)]
    app = ParagraphHost()
    async with app.run_test(size=(30, 30)) as pilot:
        markdown = app.query_one(StreamMarkdown)
        stream = Markdown.get_stream(markdown)
        heights = set()
        for i, word in enumerate(words):
            await stream.write(("" if i == 0 else " ") + word)
            await pilot.pause()
            await pilot.pause()
            paragraph = markdown.query_one(StreamParagraph)
            screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
            assert all(w in screen for w in words[: i + 1]), screen  # nothing clipped
            # Exactly as tall as its text wrapped to its width: no blank or missing lines.
            text_lines = [line for line in screen.splitlines() if "word" in line]
            assert paragraph.content_size.height == len(text_lines)
            heights.add(len(text_lines))
        await stream.stop()
    assert len(heights) >= 5  # it did grow, several times
