"""A background thread that samples the probe at an interval and hands snapshots to a callback.

Plain threading, no Textual, so it is testable on its own and the UI thread never waits for
NVML. Idle cost is one short wake-up per interval; while paused the thread blocks on an event
and costs nothing at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tui.hardware.probe import HardwareProbe
from tui.hardware.snapshot import HardwareSnapshot

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0
GENERATING_INTERVAL_S = 0.25


class Sampler:
    """Calls `probe.sample()` every `interval` seconds (every `fast_interval` while `fast`)
    and passes each snapshot to `on_sample`, on its own daemon thread.

    `on_sample` runs on the sampler thread: in Textual, hand the snapshot over with
    `post_message` (thread-safe), never touch widgets from it. The sampler starts paused
    unless `start(paused=False)`; `resume()` takes a sample at once so a pane that becomes
    visible shows fresh figures. With `once`, that sample is the only one: the sampler pauses
    again after it (a pane that wants fresh figures each time it is shown, and no more).
    """

    def __init__(
        self,
        probe: HardwareProbe,
        on_sample: Callable[[HardwareSnapshot], object],
        *,
        interval: float = DEFAULT_INTERVAL_S,
        fast_interval: float = GENERATING_INTERVAL_S,
        once: bool = False,
        name: str = "tchat-hardware-sampler",
    ) -> None:
        if interval <= 0 or fast_interval <= 0:
            raise ValueError("sampling intervals must be positive")
        self.probe = probe
        self._on_sample = on_sample
        self.interval = interval
        self.fast_interval = fast_interval
        self._name = name
        self._once = once
        self._fast = False
        self._paused = True
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = 0  # how many snapshots were delivered: tests and the idle-cost bench
        self._parked = False

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def parked(self) -> bool:
        """Paused and at rest: no sample in flight (paused alone may still deliver one)."""
        return self._parked

    @property
    def fast(self) -> bool:
        return self._fast

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def current_interval(self) -> float:
        return self.fast_interval if self._fast else self.interval

    def start(self, *, paused: bool = True) -> None:
        if self._thread is not None:
            return
        self._paused = paused
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def set_fast(self, flag: bool) -> None:
        """Switch to the fast interval (while generating) or back; takes effect at once."""
        if flag != self._fast:
            self._fast = flag
            self._wake.set()

    def set_intervals(self, interval: float | None = None, fast: float | None = None) -> None:
        if interval is not None and interval > 0:
            self.interval = interval
        if fast is not None and fast > 0:
            self.fast_interval = fast
        self._wake.set()

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._wake.set()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the thread and wait up to `timeout` for it. Does not close the probe."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._paused:
                self._parked = True
                self._wake.wait()
                self._parked = False
                self._wake.clear()
                continue
            snapshot = self.probe.sample()
            if self._stop.is_set():
                break
            try:
                self._on_sample(snapshot)
            except Exception:  # a failing consumer must not kill sampling
                log.exception("hardware sample callback failed")
            self.samples += 1
            if self._once:
                self._paused = True
                continue
            self._wake.wait(self.current_interval)
            self._wake.clear()
