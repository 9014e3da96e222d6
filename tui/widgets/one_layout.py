"""One layout of the screen per resize, for widgets that do not scroll.

Why: after Textual lays the screen out it hands every resized widget its new size, and a
widget stores its virtual (scrollable) size in a reactive that asks for a layout: so each
resize costs a second layout and a repaint of every resized widget on the next frame. A
streamed reply grows a line every second or so; that second pass was about 5 ms of UI-thread
Python each time (measured with a scripted stream at 15 tok/s), and the UI thread shares the
GIL with generate. A widget that cannot scroll has no use for its virtual size beyond what the
layout that just ran computed, so `OneLayout` records it without asking for another.

`Widget._size_updated` is private Textual, and no public hook runs at that point: the override
is kept for what it saves (bench/stream_render_scaling.py, bench/app_vs_generate.py), with
Textual pinned to the tested minor release and its signature checked by
tests/unit/test_textual_private_hooks.py, so an upgrade fails there rather than misdrawing.
"""

from __future__ import annotations

from typing import TypeVar

from textual.geometry import Size
from textual.widget import Widget

W = TypeVar("W", bound=Widget)


class OneLayout(Widget):
    """Mix-in, listed after the Textual base (Textual takes a widget's CSS type names from
    its first base, then that one's first base...): a resize does not ask for a second layout
    unless the widget can scroll, where the virtual size decides the scrollbars."""

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        scrolls = self.styles.overflow_x != "hidden" or self.styles.overflow_y != "hidden"
        return super()._size_updated(size, virtual_size, container_size, layout=layout and scrolls)


def one_layout(cls: type[W]) -> type[W]:
    """`cls` with `OneLayout` mixed in, under the same name (so CSS aimed at it still
    applies: Textual matches type selectors against base classes too)."""
    if issubclass(cls, OneLayout):
        return cls
    return type(cls.__name__, (cls, OneLayout), {"__module__": __name__})
