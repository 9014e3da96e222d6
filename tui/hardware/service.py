"""The app's one hardware service: the probe, the samplers on it, and the CPU bandwidth.

The gauges and the model picker both want hardware figures: the gauges every second while
shown, the picker each time it is shown and every few seconds after; both want the CPU's memory
bandwidth when a model runs (or would run) on the CPU. Made once by the app and handed to both,
the service keeps one NVML session (the probe), starts and stops every sampling thread, and
measures the bandwidth once per process however many panes ask, concurrently or not.

Plain threads and callbacks, no Textual: a callback runs on the service's thread, so a widget
hands what it gets to the UI thread with `post_message` (see tui/widgets/hardware_feed.py).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable

from tui.hardware.bandwidth import cpu_bandwidth, read_cached_cpu_bandwidth
from tui.hardware.probe import HardwareProbe
from tui.hardware.sampler import DEFAULT_INTERVAL_S, GENERATING_INTERVAL_S, Sampler
from tui.hardware.snapshot import HardwareSnapshot

log = logging.getLogger(__name__)

BandwidthCallback = Callable[[float | None], object]


class HardwareService:
    """Hardware sampling and the CPU-bandwidth figure, shared by every pane of one app.

    Args:
        probe: the probe to sample (tests pass a fake); None makes a `HardwareProbe`. The
            service owns it either way: `close()` closes it.
        use_nvml: passed to the `HardwareProbe` made when `probe` is None.
        cpu_bandwidth_fn: the CPU memory bandwidth in bytes/s, blocking (cached, else
            measured); None uses `tui.hardware.bandwidth.cpu_bandwidth` and peeks at its cache
            file first. A stand-in (tests) replaces both the cache and the measurement.
    """

    def __init__(
        self,
        probe: HardwareProbe | None = None,
        *,
        use_nvml: bool = True,
        cpu_bandwidth_fn: Callable[[], float | None] | None = None,
    ) -> None:
        self.probe = probe if probe is not None else HardwareProbe(use_nvml=use_nvml)
        self._measure = cpu_bandwidth_fn or cpu_bandwidth
        self._peek: Callable[[], float | None] = (
            read_cached_cpu_bandwidth if cpu_bandwidth_fn is None else lambda: None
        )
        # Weak: a sampler its pane dropped goes; a running one is held by its own thread.
        self._samplers: weakref.WeakSet[Sampler] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._bw: float | None = None
        self._bw_state = "unknown"  # unknown | measuring | known | failed
        self._bw_waiting: list[BandwidthCallback] = []
        self._closed = False

    # -- sampling ---------------------------------------------------------------------------

    def sampler(
        self,
        on_sample: Callable[[HardwareSnapshot], object],
        *,
        interval: float = DEFAULT_INTERVAL_S,
        fast_interval: float = GENERATING_INTERVAL_S,
        once: bool = False,
    ) -> Sampler:
        """A `Sampler` of the shared probe for one consumer, not started (the consumer starts,
        pauses, resumes and stops it; `close()` stops whatever is left running)."""
        sampler = Sampler(
            self.probe,
            on_sample,
            interval=interval,
            fast_interval=fast_interval,
            once=once,
        )
        with self._lock:
            self._samplers.add(sampler)
        return sampler

    # -- CPU bandwidth --------------------------------------------------------------------

    @property
    def cpu_bandwidth_state(self) -> str:
        """ "unknown", "measuring", "known" or "failed" (a failure is not retried this run)."""
        return self._bw_state

    def known_cpu_bandwidth(self) -> float | None:
        """The figure if it is known without measuring: from this run, else from the cache
        file (a small read, fine on the UI thread). Never measures."""
        with self._lock:
            if self._bw_state == "known":
                return self._bw
        value = self._peek()
        if not value or value <= 0:
            return None
        with self._lock:
            if self._bw_state != "known":
                self._bw, self._bw_state = value, "known"
            return self._bw

    def measure_cpu_bandwidth(self, on_done: BandwidthCallback) -> None:
        """Get the figure, measuring it on a thread of its own if need be (~0.3 s of full
        memory traffic: not while a reply decodes), and call `on_done(bytes_per_s or None)`
        once: on that thread, or at once on the caller's when the figure is known or its
        measurement failed. Callers while it is being measured share that one measurement."""
        now = start = False
        with self._lock:
            if self._bw_state in ("known", "failed"):
                value, now = self._bw, True
            else:
                value = None
                self._bw_waiting.append(on_done)
                start = self._bw_state == "unknown"
                self._bw_state = "measuring"
        if now:
            on_done(value)
            return
        if start:
            threading.Thread(
                target=self._measure_thread, name="tchat-cpu-bandwidth", daemon=True
            ).start()

    def _measure_thread(self) -> None:
        try:
            value = self._measure()
        except Exception:  # an unknown bandwidth only hides a figure
            log.exception("measuring the CPU bandwidth failed")
            value = None
        if value is not None and value <= 0:
            value = None
        with self._lock:
            self._bw, self._bw_state = value, "known" if value else "failed"
            waiting, self._bw_waiting = self._bw_waiting, []
        for on_done in waiting:
            try:
                on_done(value)
            except Exception:  # one failing consumer must not starve the others
                log.exception("CPU bandwidth callback failed")

    # -- lifecycle --------------------------------------------------------------------------

    def close(self, timeout: float = 2.0) -> None:
        """Stop every sampler still running and close the probe (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            samplers = list(self._samplers)
            self._samplers.clear()
        for sampler in samplers:
            sampler.stop(timeout=timeout)
        self.probe.close(timeout=timeout)
