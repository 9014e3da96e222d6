"""A reply's thinking, in its own dimmed block above the answer.

While the model thinks, the block shows a header ("Thinking… 12 s · 340 tokens") and the
latest few lines of the thinking, so the user sees it move without the answer pane filling
up with it. Once the answer starts, the block folds to its header line ("▸ Thought for 14 s ·
812 tokens"); `t` on the message opens and folds it, ctrl+f does so for the whole chat.

Cost while streaming stays flat however long the thinking grows: only the tail is wrapped
(a few hundred characters), at a fixed height once it has filled, so an update repaints the
block without laying the screen out again. The whole text is drawn only when the user opens
the block. Thinking is model text: shown as text, never markup, control characters visible.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from tui.store.session import ReplyStats
from tui.text import visible
from tui.widgets.one_layout import OneLayout

LIVE_LINES = 4  # the latest lines of the thinking shown while it streams


def figures(tokens: int | None, seconds: float | None) -> str:
    """ "14 s · 812 tokens" (either part left out when unknown)."""
    bits = []
    if seconds is not None:
        bits.append(f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s")
    if tokens:
        bits.append(f"{tokens} tokens")
    return " · ".join(bits)


class ThinkingBlock(Vertical, OneLayout):
    """Header line plus the thinking text: live (its tail), folded, or open (all of it)."""

    DEFAULT_CSS = """
    ThinkingBlock { height: auto; }
    ThinkingBlock > .thinking-head { height: 1; color: $text-muted; text-style: italic; }
    ThinkingBlock > .thinking-text {
        height: auto; color: $text-muted; text-style: italic;
        border-left: vkey $foreground-muted; padding-left: 1;
    }
    ThinkingBlock.-folded > .thinking-text { display: none; }
    """

    def __init__(self, text: str = "", stats: ReplyStats | None = None, live: bool = False) -> None:
        super().__init__(classes="thinking")
        self.text = text
        self.live = live
        self.opened = False  # the user asked to read it all
        self._tokens = stats.thinking_tokens if stats else None
        self._seconds = stats.thinking_s if stats else None
        self.head = Static(Content(""), classes="thinking-head")
        self.body = Static(Content(""), classes="thinking-text")
        self._lines = -1
        self.set_class(not live, "-folded")

    def compose(self) -> ComposeResult:
        yield self.head
        yield self.body

    def on_mount(self) -> None:
        self._draw_head()
        self._draw_body()

    @property
    def folded(self) -> bool:
        return self.has_class("-folded")

    def append(self, text: str) -> None:
        self.text += text
        if not self.folded:
            self._draw_body()

    def show_figures(self, tokens: int, seconds: float) -> None:
        """The live figures while it streams (the caller paces these)."""
        self._tokens, self._seconds = tokens or self._tokens, seconds
        self._draw_head()

    def answer_started(self) -> None:
        """The answer began: the thinking folds away, unless the user opened it."""
        self.live = False
        if not self.opened:
            self.add_class("-folded")
        self._draw_head()

    def finish(self, text: str, stats: ReplyStats | None) -> None:
        """The reply ended: its final thinking and figures, folded unless opened."""
        self.text = text
        if stats is not None:
            self._tokens = stats.thinking_tokens or self._tokens
            self._seconds = stats.thinking_s if stats.thinking_s is not None else self._seconds
        self.answer_started()
        if not self.folded:
            self._draw_body()

    def restart(self) -> None:
        """A continued reply thinks on: live again."""
        self.live = True
        self.remove_class("-folded")
        self._draw_head()
        self._draw_body()

    def toggle(self, show: bool | None = None) -> None:
        """Open or fold (`show` forces one)."""
        show = self.folded if show is None else show
        self.opened = show
        self.set_class(not show, "-folded")
        self._draw_head()
        if show:
            self._draw_body()

    def _draw_head(self) -> None:
        numbers = figures(self._tokens, self._seconds)
        if self.live and not self.opened:
            text = f"Thinking… {numbers}" if numbers else "Thinking…"
        else:
            mark, key = ("▸", "t shows it") if self.folded else ("▾", "t folds it")
            words = f"Thought for {numbers}" if self._seconds is not None else "Thinking"
            if self._seconds is None and numbers:
                words += f" · {numbers}"
            text = f"{mark} {words} · {key}"
        self.head.update(Content(text), layout=False)

    def _draw_body(self) -> None:
        text = visible(self.text.strip("\n"))
        if self.live and not self.opened:
            # Only the tail, wrapped to the width: the cost of an update stays flat.
            width = max(self.body.content_size.width, 20) if self.is_mounted else 76
            if not self.body.content_size.width and self.is_mounted:
                width = max(self.app.size.width - 8, 20)
            lines = Content(text[-(LIVE_LINES + 1) * width :]).wrap(width)[-LIVE_LINES:]
            content = Content("\n").join(lines)
            count = len(lines)
        else:
            content, count = Content(text), -1
        layout = count != self._lines or count < 0
        self._lines = count
        self.body.update(content, layout=layout)
