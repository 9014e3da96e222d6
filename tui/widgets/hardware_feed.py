"""The hardware service's news as Textual messages, for the panes that show it.

`tui.hardware.HardwareService` calls back on its own threads (a sampler's, the bandwidth
measurement's); a widget must only be touched on the UI thread. `post_to` turns a widget into
such a callback: it posts a message (thread-safe) that the widget then handles on the UI thread
as `on_hardware_sampled` / `on_cpu_bandwidth_known`. Neither message bubbles: each pane asked
for its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual.message import Message
from textual.widget import Widget

from tui.hardware import HardwareSnapshot

T = TypeVar("T")


class HardwareSampled(Message, bubble=False):
    """A hardware snapshot from the pane's sampler."""

    def __init__(self, snapshot: HardwareSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class CpuBandwidthKnown(Message, bubble=False):
    """The CPU's memory bandwidth in bytes/s, None if it could not be measured."""

    def __init__(self, value: float | None) -> None:
        super().__init__()
        self.value = value


def post_to(widget: Widget, message: Callable[[T], Message]) -> Callable[[T], None]:
    """A callback for any thread that posts `message(value)` to `widget`."""

    def post(value: T) -> None:
        try:
            widget.post_message(message(value))
        except RuntimeError:
            pass  # the app is shutting down: its loop is gone

    return post
