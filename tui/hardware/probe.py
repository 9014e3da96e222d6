"""The one object the app asks "what is the hardware doing?": NVML when it can, psutil always.

Created once per app. NVML is initialised lazily on the first `sample()` (which runs on the
sampler thread, because nvmlInit can take a noticeable fraction of a second) and shut down once
by `close()`. `sample()` never raises: every failure becomes `gpu_off_reason`, a sentence the
pane shows, and the CPU figures carry on.
"""

from __future__ import annotations

import os
import threading
import time
from types import ModuleType

from tui.hardware.cpu import CpuReader
from tui.hardware.nvml import NvmlReader, NvmlUnavailable, load_pynvml
from tui.hardware.snapshot import GpuSnapshot, HardwareSnapshot, visible_device_filter
from tui.hardware.torch_cuda import read_torch_cuda


class HardwareProbe:
    """Thread-safe sampler of GPU (NVML), torch CUDA and CPU figures.

    Args:
        nvml_module: a `pynvml`-compatible module; None imports the real one on first use.
            Tests pass a fake here.
        use_nvml: False skips NVML entirely (e.g. a `--device cpu` run); the reason says so.
        visible: CUDA_VISIBLE_DEVICES-style filter; None reads the environment.
    """

    def __init__(
        self,
        nvml_module: ModuleType | None = None,
        *,
        use_nvml: bool = True,
        visible: str | None = None,
    ) -> None:
        self._nvml_module = nvml_module
        self._use_nvml = use_nvml
        self._visible = visible_device_filter(visible)
        self._lock = threading.Lock()
        self._cpu: CpuReader | None = None
        self._nvml: NvmlReader | None = None
        self._opened = False
        self._closed = False
        self._reason: str | None = None
        self._notes: tuple[str, ...] = ()
        self._driver: str | None = None

    @property
    def gpu_off_reason(self) -> str | None:
        """Why there are no GPU figures (None while GPUs are monitored or before first sample)."""
        return self._reason

    @property
    def nvml_active(self) -> bool:
        return self._nvml is not None

    def open(self) -> None:
        """Initialise the readers now (idempotent). `sample()` calls it on first use."""
        with self._lock:
            self._open_locked()

    def _open_locked(self) -> None:
        if self._opened:
            return
        self._opened = True
        self._cpu = CpuReader()
        if not self._use_nvml:
            self._reason = "GPU monitoring off (CPU-only run)"
            return
        if self._visible == ():
            self._reason = "No GPU visible to this process (CUDA_VISIBLE_DEVICES is empty)"
            return
        try:
            module = self._nvml_module if self._nvml_module is not None else load_pynvml()
            reader = NvmlReader(module, visible=self._visible)
            reader.open()
        except NvmlUnavailable as err:
            self._reason = err.reason
            return
        except Exception as err:  # a broken install must not take the app down
            self._reason = f"NVML unavailable ({type(err).__name__}: {err})"
            return
        self._nvml = reader
        self._driver = reader.driver_version
        self._notes = (reader.hidden_note,) if reader.hidden_note else ()

    def sample(self) -> HardwareSnapshot:
        """Take one snapshot. Never raises; after close() it returns CPU figures only."""
        with self._lock:
            if self._closed:
                # close() released NVML; keep answering so a late caller cannot crash.
                return HardwareSnapshot(
                    time=time.monotonic(),
                    cpu=(self._cpu or CpuReader()).read(),
                    gpu_off_reason="GPU monitoring stopped",
                )
            self._open_locked()
            assert self._cpu is not None
            gpus: tuple[GpuSnapshot, ...] = ()
            if self._nvml is not None:
                try:
                    gpus = self._nvml.read(os.getpid())
                except NvmlUnavailable as err:
                    self._drop_nvml(err.reason)
                except Exception as err:
                    self._drop_nvml(f"GPU monitoring failed ({type(err).__name__}: {err})")
            # torch's figures stand on their own: useful even when NVML is missing.
            torch = read_torch_cuda()
            return HardwareSnapshot(
                time=time.monotonic(),
                cpu=self._cpu.read(),
                gpus=gpus,
                torch=torch,
                gpu_off_reason=None if gpus else self._reason,
                driver_version=self._driver,
                notes=self._notes,
            )

    def _drop_nvml(self, reason: str) -> None:
        # A lost GPU stays lost and permissions don't come back mid-run; retrying would only
        # risk slow NVML timeouts every tick, so GPU monitoring stops for this run.
        assert self._nvml is not None
        self._nvml.close()
        self._nvml = None
        self._reason = reason
        self._notes = ()

    def close(self, timeout: float = 2.0) -> None:
        """Shut NVML down (idempotent). Waits up to `timeout` for a sample in flight; a sample
        stuck in the driver is abandoned rather than blocking the app's exit."""
        if not self._lock.acquire(timeout=timeout):
            return
        try:
            if self._closed:
                return
            self._closed = True
            if self._nvml is not None:
                self._nvml.close()
                self._nvml = None
        finally:
            self._lock.release()

    def __enter__(self) -> HardwareProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
