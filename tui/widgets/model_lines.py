"""The model picker's search line.

`SearchLine` is an Input whose up/down keys move a list's highlight, so typing, arrowing and
Enter work without leaving it (as in a command palette).
"""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SearchLine(Input):
    """A one-line Input; up/down/page keys post `Move` for the list it searches."""

    BINDINGS = [
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("pagedown", "move(5)", show=False),
        Binding("pageup", "move(-5)", show=False),
    ]

    class Move(Message):
        """Move the searched list's highlight by `step` (negative: up)."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def action_move(self, step: int) -> None:
        self.post_message(self.Move(step))
