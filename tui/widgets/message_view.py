"""One turn of the conversation on screen.

User and system turns are plain text (never markup). Assistant turns are Markdown, streamed
through `Markdown.get_stream()` so each batch of text is appended, not re-rendered; a long
reply streams into a chain of Markdown segments (segments.py) so each update's layout work
stays bounded, and the cost of a reply stays linear in its length. When the reply ends it is
shown again as one document. A footer line says how the reply ended and its speed.

A reasoning model's thinking goes to its own block above the answer (thinking.py), mounted
when the first thinking arrives: a message without thinking is drawn as before.
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

from tui.chat import THINKING_BUDGET_NOTE, ran_out_while_thinking
from tui.engine.backend import Thinking
from tui.store.session import Message, ReplyStats
from tui.text import visible
from tui.widgets.one_layout import OneLayout
from tui.widgets.segments import find_cut
from tui.widgets.stream_markdown import StreamMarkdown
from tui.widgets.thinking import ThinkingBlock
from tui.widgets.version_label import role_line

# Segments nearest the end of a streaming reply stay displayed (the view shows them).
KEEP_SEGMENTS_SHOWN = 3
# The live figures under a streaming reply (tokens, speed) change this often at most: a
# repaint of that line was a fifth of a text batch's frame, and a figure that changes every
# second reads as live (the gauges use 1.5 s).
LIVE_META_INTERVAL_S = 1.0


def describe_stats(stats: ReplyStats | None) -> str:
    return stats.describe() if stats is not None else ""


class MessageView(Vertical, OneLayout, can_focus=True):
    """A message: a role label, the body, and (for replies) a line of stats.

    Focusable (Tab / shift+tab, or up/down between messages): the keys below act on the
    focused message by posting `MessageView.ActionRequested`; the app decides what they mean.
    """

    BINDINGS = [
        Binding("up,k", "screen.focus_message(-1)", "Previous", show=False),
        Binding("down,j", "screen.focus_message(1)", "Next", show=False),
        Binding("home", "screen.focus_message(-100000)", "First", show=False),
        Binding("end", "screen.focus_message(100000)", "Last", show=False),
        Binding("c", "request('copy')", "Copy"),
        Binding("y", "request('copy_code')", "Copy code"),
        Binding("e", "request('edit')", "Edit & resend"),
        Binding("r", "request('regenerate')", "Regenerate"),
        Binding("plus,g", "request('continue')", "Continue"),
        Binding("delete,d", "request('delete')", "Delete"),
        # A turn with versions ("‹ 2/3 ›"): branch_keys.py.
        Binding("left,h", "request('previous_version')", "Previous version ‹", show=False),
        Binding("right,l", "request('next_version')", "Next version ›", show=False),
        Binding("D", "request('delete_turn')", "Delete the turn, all versions", show=False),
        Binding("f", "request('fork')", "Fork into a new chat", show=False),
        Binding("a", "request('alternatives')", "Token alternatives", show=False),
        Binding("t", "toggle_thinking", "Thinking"),
        Binding("T", "screen.toggle_all_thinking", "All thinking", show=False),
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

    def __init__(
        self, message: Message, versions: tuple[int, int] = (1, 1), **kwargs: object
    ) -> None:
        classes = f"message -{message.role}"
        super().__init__(classes=classes, **kwargs)  # type: ignore[arg-type]
        self.message = message
        self.versions = versions  # (which version is shown, how many): "‹ 2/3 ›"
        self.role_label = Static(role_line(message, *versions), classes="role")
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
        self.thinking: ThinkingBlock | None = None
        if message.thinking:
            self.thinking = ThinkingBlock(message.thinking, message.stats)
        self._meta_lines = -1
        self._progress_at = float("-inf")  # when the live figures were last shown

    def compose(self) -> ComposeResult:
        yield self.role_label
        if self.thinking is not None:
            yield self.thinking
        yield self.body
        yield self.meta

    def on_mount(self) -> None:
        self.refresh_meta()

    def set_versions(self, shown: int, versions: int, force: bool = False) -> None:
        """The turn's versions changed (one added, deleted, another shown), or (`force`) what
        the label says of the reply: its model and settings, known once it has started."""
        if (shown, versions) != self.versions or force:
            self.versions = (shown, versions)
            self.role_label.update(role_line(self.message, shown, versions))

    def refresh_meta(self, live: str | None = None) -> None:
        """Show stats, an error, or a live note such as 'waiting for the model…'."""
        meta = self.meta
        text = live if live is not None else describe_stats(self.message.stats)
        if live is None and ran_out_while_thinking(self.message):
            text = f"{text}\n{THINKING_BUDGET_NOTE}"
        elif live is None and self._answerless():
            text = f"{text}\nNo answer after the thinking (t shows it)."
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

    def show_progress(
        self, new_tokens: int, speed: float, thinking_tokens: int = 0, elapsed_s: float = 0.0
    ) -> None:
        """The live figures of a streaming reply, shown at most every LIVE_META_INTERVAL_S;
        thinking and answer tokens counted apart."""
        now = time.monotonic()
        if now - self._progress_at >= LIVE_META_INTERVAL_S:
            self._progress_at = now
            tokens = f"{new_tokens} tokens"
            if thinking_tokens:
                answer = max(new_tokens - thinking_tokens, 0)
                tokens = f"{thinking_tokens} thinking + {answer} answer tokens"
            self.refresh_meta(f"{tokens} · {speed:.1f} tok/s")
            if self.thinking is not None and self.thinking.live:
                self.thinking.show_figures(thinking_tokens, elapsed_s)

    def _answerless(self) -> bool:
        """The model ended its turn after thinking, without an answer (or with a tool call)."""
        m = self.message
        done = m.stats is not None and m.stats.stop_reason == "end_of_turn"
        return done and bool(m.thinking) and not m.content.strip()

    def action_toggle_thinking(self) -> None:
        if self.thinking is None:
            self.app.notify("This message has no thinking.", timeout=3)
            return
        self.thinking.toggle()

    async def _append_thinking(self, text: str) -> None:
        if self.thinking is None:
            self.thinking = ThinkingBlock(live=True)
            await self.mount(self.thinking, before=self.body)
        self.thinking.append(text)

    # ---- streaming (assistant only) ------------------------------------------------------

    async def append(self, text: str) -> None:
        """Append streamed text; the Markdown widget parses only what changed. A `Thinking`
        piece goes to the thinking block instead."""
        if isinstance(text, Thinking):
            await self._append_thinking(text)
            return
        if self.thinking is not None and self.thinking.live:
            self.thinking.answer_started()
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
        if self.thinking is not None and not self.message.content:
            self.thinking.restart()  # it stopped while thinking: it thinks on
        self.refresh_meta("continuing…")

    async def finish(self) -> None:
        """End the stream and show the final text once, as a whole document."""
        self.set_versions(*self.versions, force=True)  # the model and settings that wrote it
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
            if self.message.thinking and self.thinking is None:
                self.thinking = ThinkingBlock(self.message.thinking, self.message.stats)
                await self.mount(self.thinking, before=self.body)
            elif self.thinking is not None:
                self.thinking.finish(self.message.thinking or "", self.message.stats)
        self.refresh_meta()
