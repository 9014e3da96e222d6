"""Two small parts of the model picker: lines drawn for the width they get, and the search line.

`DrawnLines` exists because a table that the terminal wraps is unreadable: it asks its owner
to draw for the exact width the layout gives, so a narrow pane gets fewer columns instead of
broken rows. `SearchLine` is an Input whose up/down keys move a list's highlight, so typing,
arrowing and Enter work without leaving it (as in a command palette).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input


class DrawnLines(Widget):
    """Lines from `draw(width)`; `redraw()` after the state they show changed."""

    DEFAULT_CSS = """
    DrawnLines {
        height: auto;
        width: 1fr;
        text-wrap: nowrap;
    }
    """

    def __init__(self, draw: Callable[[int], list[Content]], *, id: str) -> None:
        super().__init__(id=id)
        self._draw = draw

    def lines(self, width: int | None = None) -> list[Content]:
        return self._draw(max(1, width if width is not None else self.size.width or 40))

    @property
    def plain(self) -> str:
        """What it shows now, as text: for tests."""
        return "\n".join(line.plain for line in self.lines())

    def redraw(self) -> None:
        self.refresh(layout=True)  # the number of lines may change

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[override]  # noqa: ANN001
        return len(self._draw(max(1, width)))

    def render(self) -> Content:
        lines = self._draw(max(1, self.size.width))
        return Content("\n").join(lines) if lines else Content("")


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
