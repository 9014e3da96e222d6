"""Edit the session's system prompt.

The new prompt applies from the next reply on; earlier replies keep what they were given.
ctrl+s saves, Esc cancels, so the same keys work in every terminal.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea


class SystemPromptScreen(ModalScreen[str | None]):
    """Returns the edited prompt, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self._prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("System prompt (applies from the next reply)", classes="title")
            yield TextArea(self._prompt, id="system-text", soft_wrap=True)
            yield Static("ctrl+s save · Esc cancel", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
