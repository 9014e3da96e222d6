"""One turn of the conversation on screen.

User and system turns are plain text (never markup). Assistant turns are Markdown, streamed
through `Markdown.get_stream()` so each batch of text is appended, not re-rendered; a long
reply streams into a chain of Markdown segments (segments.py) so each update's layout work
stays bounded, and the cost of a reply stays linear in its length. When the reply ends it is
shown again as one document. A footer line says how the reply ended and its speed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from tui.store.session import Message, ReplyStats
from tui.text import visible
from tui.widgets.one_layout import OneLayout
from tui.widgets.segments import find_cut
from tui.widgets.stream_markdown import StreamMarkdown

# Segments nearest the end of a streaming reply stay displayed (the view shows them).
KEEP_SEGMENTS_SHOWN = 3
# The live figures under a streaming reply (tokens, speed) change this often at most: a
# repaint of that line was a fifth of a text batch's frame, and a figure that changes every
# second reads as live (the gauges use 1.5 s).
LIVE_META_INTERVAL_S = 1.0

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "system": "System"}


def describe_stats(stats: ReplyStats | None) -> str:
    return stats.describe() if stats is not None else ""


class MessageView(Vertical, OneLayout, can_focus=True):
    """A message: a role label, the body, and (for replies) a line of stats.

    Focusable (Tab / shift+tab, or up/down between messages): the keys below act on the
    focused message by posting `MessageView.ActionRequested`; the app decides what they mean.
    """

    BINDINGS = [
        Binding("up,k", "app.focus_message(-1)", "Previous", show=False),
        Binding("down,j", "app.focus_message(1)", "Next", show=False),
        Binding("home", "app.focus_message(-100000)", "First", show=False),
        Binding("end", "app.focus_message(100000)", "Last", show=False),
        Binding("c", "request('copy')", "Copy"),
        Binding("y", "request('copy_code')", "Copy code"),
        Binding("e", "request('edit')", "Edit & resend"),
        Binding("r", "request('regenerate')", "Regenerate"),
        Binding("plus,g", "request('continue')", "Continue"),
        Binding("delete,d", "request('delete')", "Delete"),
    ]

    @dataclass
    class ActionRequested(TextualMessage):
        """The user pressed an action key (`action`) on `view`."""

        view: MessageView
        action: str

    def on_focus(self) -> None:
        self.scroll_visible(animate=False)

    def action_request(self, action: str) -> None:
        self.post_message(self.ActionRequested(self, action))

    def __init__(self, message: Message, **kwargs: object) -> None:
        classes = f"message -{message.role}"
        super().__init__(classes=classes, **kwargs)  # type: ignore[arg-type]
        self.message = message
        self._stream: MarkdownStream | None = None
        # While streaming: the source so far of the segment being written (the last one).
        self._segment_source = ""
        self._extra_segments: list[Markdown] = []
        # Finished segments far above the view are hidden while the reply streams, a spacer of
        # their height in their place: Textual reflows every displayed widget on each update,
        # so without this a long reply's updates got slower as it grew.
        self._hidden_segments: list[Markdown] = []
        self._spacer: Static | None = None
        self._spacer_height = 0
        text = visible(message.content)
        self.body: Markdown | Static = (
            StreamMarkdown(text, classes="body")
            if message.role == "assistant"
            else Static(Content(text), classes="body")
        )
        self.meta = Static(Content(""), classes="meta")
        self._meta_lines = -1
        self._progress_at = float("-inf")  # when the live figures were last shown

    def compose(self) -> ComposeResult:
        yield Static(Content(ROLE_LABELS.get(self.message.role, self.message.role)), classes="role")
        yield self.body
        yield self.meta

    def on_mount(self) -> None:
        self.refresh_meta()

    def refresh_meta(self, live: str | None = None) -> None:
        """Show stats, an error, or a live note such as 'waiting for the model…'."""
        meta = self.meta
        text = live if live is not None else describe_stats(self.message.stats)
        if self.message.error:
            text = f"{text}\n{self.message.error}" if text else self.message.error
        # Most updates (live speed while streaming) keep the line count: then no relayout,
        # which would walk the whole screen on every streamed batch.
        same_height = meta.display == bool(text) and self._meta_lines == text.count("\n")
        self._meta_lines = text.count("\n")
        meta.update(Content(visible(text)), layout=not same_height)
        meta.display = bool(text)
        self.set_class(self.message.error is not None, "-error")
        self.set_class(self.message.stopped, "-stopped")

    def show_progress(self, new_tokens: int, speed: float) -> None:
        """The live figures of a streaming reply, shown at most every LIVE_META_INTERVAL_S."""
        now = time.monotonic()
        if now - self._progress_at >= LIVE_META_INTERVAL_S:
            self._progress_at = now
            self.refresh_meta(f"{new_tokens} tokens · {speed:.1f} tok/s")

    # ---- streaming (assistant only) ------------------------------------------------------

    async def append(self, text: str) -> None:
        """Append streamed text; the Markdown widget parses only what changed."""
        text = visible(text)
        if self._stream is None:
            assert isinstance(self.body, Markdown), "only replies stream"
            self._segment_source = self.body.source
            self._stream = Markdown.get_stream(self.body)
        cut = find_cut(self._segment_source, text)
        if cut is not None:
            await self._write(text[:cut])
            await self._next_segment()
            text = text[cut:]
        await self._write(text)

    async def _write(self, text: str) -> None:
        if text and self._stream is not None:
            self._segment_source += text
            await self._stream.write(text)

    async def _next_segment(self) -> None:
        """Close the segment being written (its layout is then cached) and start another."""
        if self._stream is not None:
            await self._stream.stop()
        done = self._segments[-1]
        if isinstance(done, StreamMarkdown):
            done.settle()
        segment = StreamMarkdown("", classes="body -segment")
        self._extra_segments.append(segment)
        await self.mount(segment, before=self.meta)
        self._segment_source = ""
        self._stream = Markdown.get_stream(segment)
        await self._hide_far_segments()

    @property
    def _segments(self) -> list[Markdown]:
        first = [self.body] if isinstance(self.body, Markdown) else []
        return [*first, *self._extra_segments]

    async def _hide_far_segments(self) -> None:
        """Hide finished segments well above the newest, while the view follows the reply."""
        scroller = self.parent
        following = isinstance(scroller, Widget) and scroller.scroll_y >= scroller.max_scroll_y - 1
        if not following:
            return
        far = [s for s in self._segments[:-KEEP_SEGMENTS_SHOWN] if s.display]
        if not far:
            return
        height = sum(s.outer_size.height for s in far)
        if self._spacer is None:
            self._spacer = Static("", classes="-spacer")
            self._spacer.styles.height = 0
            await self.mount(self._spacer, before=self._segments[0])
        self._spacer_height += height
        self._spacer.styles.height = self._spacer_height
        for segment in far:
            segment.display = False
        self._hidden_segments.extend(far)

    def reveal_segments(self) -> None:
        """Show every segment again (the user scrolled up to read the reply mid-stream)."""
        if not self._hidden_segments:
            return
        with self.app.batch_update():
            for segment in self._hidden_segments:
                segment.display = True
            self._hidden_segments = []
            self._spacer_height = 0
            if self._spacer is not None:
                self._spacer.styles.height = 0

    async def restart_stream(self) -> None:
        """Carry on streaming into a finished reply (continue after a stop)."""
        if isinstance(self.body, Markdown):
            await self.body.update(visible(self.message.content))
        self.refresh_meta("continuing…")

    async def finish(self) -> None:
        """End the stream and show the final text once, as a whole document."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        body = self.body
        with self.app.batch_update():
            if self._extra_segments:
                await self.remove_children(self._extra_segments)
                self._extra_segments = []
            if self._spacer is not None:
                await self._spacer.remove()
                self._spacer = None
            self._spacer_height = 0
            self._hidden_segments = []
            body.display = True
            self._segment_source = ""
            if isinstance(body, Markdown):
                await body.update(visible(self.message.content))
        self.refresh_meta()
