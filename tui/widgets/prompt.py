"""The prompt box: Enter sends, ctrl+j (or shift+enter) adds a new line.

A TextArea rather than an Input so multi-line prompts and pasted code keep their shape.
ctrl+j is the newline key because every terminal sends it (it is a plain line feed), while
shift+enter only reaches the app on terminals that report modified keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea


class PromptInput(TextArea):
    """Posts `PromptInput.Submitted` with the text when the user presses Enter."""

    DEFAULT_CSS = """
    PromptInput { height: auto; max-height: 8; min-height: 3; }
    """

    @dataclass
    class Submitted(Message):
        """The user sent `text` (never empty or whitespace only)."""

        text: str

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs  # type: ignore[arg-type]
        )

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text
            if text.strip():
                self.clear()
                self.post_message(self.Submitted(text))
            return
        if event.key in ("ctrl+j", "shift+enter"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        await super()._on_key(event)
