"""One line under the conversation: model, device, dtype, live speed, context and save state.

The app sets fields; the line re-renders itself. Plain text only (model names can contain
brackets, which must not be read as markup).
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from tui.text import visible


class StatusLine(Static):
    """What the app is doing right now, in one line."""

    model: reactive[str] = reactive("no model")
    detail: reactive[str] = reactive("")  # device · dtype
    activity: reactive[str] = reactive("")  # loading…, 14.2 tok/s, error
    # A model downloading beside the chat: "Qwen3-8B: 3/9 files · 4.10 of 16.4 GB · 52 MB/s"
    download: reactive[str] = reactive("")
    context: reactive[str] = reactive("")
    saved: reactive[str] = reactive("")

    def render(self) -> Content:
        parts = [self.model, self.detail, self.activity, self.download, self.context, self.saved]
        return Content(visible(" · ".join(p for p in parts if p)))
