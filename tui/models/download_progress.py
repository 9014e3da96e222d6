"""How far a download is: files and bytes done of the total, the rate, the time left.

Every download tool people use shows these four figures, and a 16 GB model over a shared
link is a wait of minutes to hours: the user must see it move, and know when it will end. The
downloader (`tui.models.download`) feeds a `RateMeter` with each chunk and hands out
`DownloadProgress` records; the status line, the gauges pane and the `-p` mode's stderr line
all print them with `progress_line` so they read the same everywhere.

Pure data and arithmetic: no I/O, no threads.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from tui.models.units import format_bytes

RATE_WINDOW_S = 5.0  # the rate is measured over this trailing window: steady, yet current
MIN_SPAN_S = 1.0  # no rate (nor time left) before this much of the transfer has been seen


@dataclass(frozen=True)
class DownloadProgress:
    """One moment of a download. `bytes_done` counts bytes already on disk when it started
    (a resumed partial file, files fetched by an earlier try) as done; `resumed_bytes` says
    how many of them there were. `phase`: "downloading", "verifying" (checking a file's hash),
    "done"."""

    repo_id: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str = ""
    rate: float | None = None  # bytes/s, None until measured
    eta_s: float | None = None
    phase: str = "downloading"
    resumed_bytes: int = 0

    @property
    def fraction(self) -> float:
        if self.bytes_total <= 0:
            return 1.0 if self.phase == "done" else 0.0
        return min(1.0, self.bytes_done / self.bytes_total)


def human_duration(seconds: float | None) -> str:
    """ "45 s", "4 min", "1 h 12 min": how long is left, rounded as people say it."""
    if seconds is None:
        return "?"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{round(s / 60)} min"
    hours, rest = divmod(s, 3600)
    return f"{hours} h {round(rest / 60)} min" if rest >= 60 else f"{hours} h"


def bytes_figure(done: int, total: int) -> str:
    """ "4.10 of 16.4 GB": both in the total's unit, so the eye compares like with like."""
    text = format_bytes(total)
    unit = text.split()[-1] if " " in text else "B"
    scale = {"TB": 1e12, "GB": 1e9, "MB": 1e6, "kB": 1e3}.get(unit, 1.0)
    value = done / scale
    if scale == 1.0 or value >= 100:
        shown = f"{value:.0f}"
    else:
        shown = f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return f"{shown} of {text}"


def short_line(p: DownloadProgress) -> str:
    """ "Qwen3-8B 25% · 4.10 of 16.4 GB · 52.1 MB/s · 4 min left": the status line's version,
    the most telling figures first (a narrow terminal cuts the end)."""
    name = p.repo_id.split("/")[-1]
    parts = [f"{name} {p.fraction:.0%}", bytes_figure(p.bytes_done, p.bytes_total)]
    if p.phase == "verifying":
        parts.append("checking")
    elif p.phase != "done":
        parts.append(f"{format_bytes(p.rate)}/s" if p.rate else "starting…")
        if p.eta_s is not None:
            parts.append(f"{human_duration(p.eta_s)} left")
    return " · ".join(parts)


def progress_line(p: DownloadProgress) -> str:
    """ "3/9 files · 4.10 of 16.4 GB · 52.1 MB/s · 4 min left": the one line every view shows."""
    parts = [f"{p.files_done}/{p.files_total} files", bytes_figure(p.bytes_done, p.bytes_total)]
    if p.phase == "verifying":
        parts.append(f"checking {p.current}" if p.current else "checking")
    elif p.phase == "done":
        parts.append("done")
    else:
        parts.append(f"{format_bytes(p.rate)}/s" if p.rate else "starting…")
        if p.eta_s is not None:
            parts.append(f"{human_duration(p.eta_s)} left")
    return " · ".join(parts)


class RateMeter:
    """Bytes per second over the last RATE_WINDOW_S, and the time left at that rate.

    Bytes found on disk at the start are not transfer: they are counted done but never enter
    the rate, so a resumed download does not claim a burst of gigabytes per second."""

    def __init__(self, window_s: float = RATE_WINDOW_S, clock=time.monotonic) -> None:  # noqa: ANN001
        self.window_s = window_s
        self._clock = clock
        self._points: deque[tuple[float, int]] = deque()
        self._moved = 0  # bytes transferred by this meter so far

    def add(self, n: int) -> None:
        self._moved += n
        now = self._clock()
        self._points.append((now, self._moved))
        while len(self._points) > 2 and now - self._points[0][0] > self.window_s:
            self._points.popleft()

    def start(self) -> None:
        """Mark the time the transfer starts (before its first byte): the first rate then
        counts the wait for it, as a user's stopwatch would."""
        self._points.append((self._clock(), self._moved))

    def rate(self) -> float | None:
        if len(self._points) < 2:
            return None
        (t0, n0), (t1, n1) = self._points[0], self._points[-1]
        # A window with no byte in it for a while: the rate is falling, not frozen.
        t1 = max(t1, self._clock())
        if t1 - t0 < MIN_SPAN_S:
            return None  # too early: the first requests' latency would read as a slow link
        return (n1 - n0) / (t1 - t0)

    def eta(self, remaining: int) -> float | None:
        rate = self.rate()
        if not rate or rate <= 0:
            return None
        return remaining / rate
