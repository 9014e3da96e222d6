"""Text blocks drawn for the exact width they get: the gauges' sections, the picker's tables.

A table the terminal wraps is unreadable: these widgets ask their owner to draw for the width
the layout gives, so a narrow pane gets fewer columns instead of broken rows.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.content import Content

from tui.widgets.one_layout import OneLayout


class DrawnLines(OneLayout):
    """Lines from `draw(width)`, drawn at whatever width the layout gives, so a resize or a
    scrollbar appearing re-fits every line instead of wrapping it. Call `redraw()` after the
    state they show changed."""

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
        self._lines: list[Content] = []
        self._key: list[tuple[str, tuple]] | None = None
        self._width = 0

    def lines(self, width: int | None = None) -> list[Content]:
        return self._draw(max(1, width if width is not None else self.size.width or 40))

    @property
    def plain(self) -> str:
        """What the section shows now, as text: for tests and for copying figures."""
        return "\n".join(line.plain for line in self.lines())

    def redraw(self) -> None:
        """Repaint if what the section shows changed; lay the screen out again only if its
        height changed. Most samples change a figure or two, and a repaint of a few lines is
        far cheaper than a relayout: this keeps the idle cost of the pane well under 1%."""
        width = self.size.width
        if not width:
            self.refresh(layout=True)
            return
        lines = self._draw(width)
        key = [(line.plain, tuple(line.spans)) for line in lines]
        if key == self._key and width == self._width:
            return
        layout = len(lines) != len(self._lines) or self._key is None
        self._lines, self._key, self._width = lines, key, width
        self.refresh(layout=layout)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[override]
        return max(1, len(self._draw(max(1, width))))

    def render(self) -> Content:
        width = self.size.width
        if self._key is None or width != self._width:
            self._lines = self._draw(max(1, width))
            self._key = [(line.plain, tuple(line.spans)) for line in self._lines]
            self._width = width
        return Content("\n").join(self._lines) if self._lines else Content(" ")
