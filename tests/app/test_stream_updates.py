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
from tests.app.test_model_picker import screen_text
from tui.app import TchatApp
from tui.engine.fake import FakeBackend
from tui.engine.pump import MIN_INTERVAL_S
from tui.launch import LaunchConfig
from tui.screens.chat.events import ReplyChunked
from tui.store.session import GenerationSettings
from tui.widgets.message_view import LIVE_META_INTERVAL_S
from tui.widgets.stream_markdown import SPARE_LINES, StreamMarkdown, StreamParagraph

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
        app.chat_screen.session.settings = GenerationSettings(max_new_tokens=TOKENS)
        await type_and_send(pilot, "go")
        await wait_replies(pilot, 1, timeout=30)
    seen = app.batches
    reply = app.chat_screen.session.messages[-1]
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


async def test_a_streamed_paragraph_shows_every_word_and_grows_a_few_lines_at_a_time() -> None:
    # Most batches only lengthen the last line, and then the paragraph repaints without a
    # layout of the screen; a batch that needs a new line must grow it, by a few lines at
    # once (fewer layouts and fewer repaints of a scrolling conversation), which it gives
    # back when the stream settles.
    words = [f"word{i:02d}" for i in range(60)]
    app = ParagraphHost()
    async with app.run_test(size=(30, 40)) as pilot:
        markdown = app.query_one(StreamMarkdown)
        stream = Markdown.get_stream(markdown)
        heights, line_counts = set(), set()
        for i, word in enumerate(words):
            await stream.write(("" if i == 0 else " ") + word)
            await pilot.pause()
            await pilot.pause()
            paragraph = markdown.query_one(StreamParagraph)
            screen = screen_text(app)
            assert all(w in screen for w in words[: i + 1]), screen  # nothing clipped
            text_lines = len([line for line in screen.splitlines() if "word" in line])
            height = paragraph.content_size.height
            assert text_lines <= height <= text_lines + SPARE_LINES
            heights.add(height)
            line_counts.add(text_lines)
        await stream.stop()
        assert len(heights) >= 4  # it did grow, several times
        assert len(heights) <= len(line_counts) / 2  # ... a few lines at a time
        markdown.settle()
        await pilot.pause()
        await pilot.pause()
        text_lines = len([line for line in screen_text(app).splitlines() if "word" in line])
        assert paragraph.content_size.height == text_lines  # no blank lines left


async def test_a_paragraph_the_stream_has_moved_past_keeps_no_blank_lines() -> None:
    app = ParagraphHost()
    async with app.run_test(size=(30, 40)) as pilot:
        markdown = app.query_one(StreamMarkdown)
        stream = Markdown.get_stream(markdown)
        for i in range(13):  # five lines: it holds two blank ones below them
            await stream.write(f"first{i:02d} ")
            await pilot.pause()
        await pilot.pause()
        first_paragraph = markdown.query(StreamParagraph).first()
        assert first_paragraph.content_size.height > 5  # the test means something
        await stream.write("\n\nsecond")
        for _ in range(4):
            await pilot.pause()
        lines = screen_text(app).splitlines()
        first = [n for n, line in enumerate(lines) if "first" in line]
        second = [n for n, line in enumerate(lines) if "second" in line]
        assert first_paragraph.content_size.height == len(first) == 5
        assert second == [first[-1] + 2]  # one blank line between paragraphs, as at rest
        await stream.stop()


async def test_a_paragraph_that_grows_lays_the_screen_out_once() -> None:
    # Textual lays the screen out a second time after any resize unless the resized
    # widgets say they do not scroll (tui/widgets/one_layout.py): each layout is a walk of
    # every widget and a repaint of what moved, on the thread generate needs.
    app = ParagraphHost()
    async with app.run_test(size=(30, 40)) as pilot:
        markdown = app.query_one(StreamMarkdown)
        stream = Markdown.get_stream(markdown)
        await stream.write("word00")
        for _ in range(4):
            await pilot.pause()
        paragraph = markdown.query_one(StreamParagraph)
        height = paragraph.content_size.height
        layouts: list[object] = []
        app.screen.screen_layout_refresh_signal.subscribe(app.screen, layouts.append)
        i = 1
        while paragraph.content_size.height == height:
            await stream.write(f" word{i:02d}")
            i += 1
            for _ in range(4):
                await pilot.pause()
        for _ in range(6):
            await pilot.pause()
        assert len(layouts) == 1
        await stream.stop()


async def test_the_line_under_a_streaming_reply_shows_live_figures_about_once_a_second(
    sessions_dir: Path,
) -> None:
    # Tokens and speed change on every batch; repainting them that often was a fifth of a
    # batch's frame, and a figure that moves once a second still reads as live.
    backend = FakeBackend(script="word " * 400, delay=0.008)  # ~3 s of streaming
    app = CountingApp(LaunchConfig(sessions_dir=sessions_dir), backend=backend)
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat_screen.session.settings = GenerationSettings(max_new_tokens=400)
        await type_and_send(pilot, "go")
        shown: list[str] = []
        while app.chat_screen.replies_finished < 1:
            view = app.chat_screen.reply_view
            if view is not None:
                text = str(view.meta.render())
                if "tok/s" in text and (not shown or shown[-1] != text):
                    shown.append(text)
            await pilot.pause(0.02)
    elapsed = app.batches[-1].elapsed_s
    assert all(" tokens · " in text for text in shown), shown
    assert 2 <= len(shown) <= elapsed / LIVE_META_INTERVAL_S + 1, (shown, elapsed)
    assert len(shown) < len(app.batches) / 2  # far fewer repaints than batches
