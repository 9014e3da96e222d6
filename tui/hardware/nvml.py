"""NVML through the official `pynvml` bindings (package nvidia-ml-py), turned into snapshots.

Kept separate from the probe so the failure vocabulary lives in one place: every NVML error is
either *optional* (this figure is missing: not supported, no permission for power, ...) or
*fatal* (the GPU or driver is gone), and fatal ones become a sentence the pane shows instead of
an exception. The module is passed in, so tests hand in a fake with the same names.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from tui.hardware.bandwidth import gpu_peak_bandwidth
from tui.hardware.snapshot import GpuSnapshot

T = TypeVar("T")


class NvmlUnavailable(Exception):
    """NVML cannot be used (now or any more). `reason` is the sentence the pane shows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Error codes (stable in the NVML C API) whose meaning is "this figure is not available here";
# anything else from a figure we need means the GPU or driver went away.
_OPTIONAL_CODES = {
    "NVML_ERROR_NOT_SUPPORTED": 3,
    "NVML_ERROR_NO_PERMISSION": 4,
    "NVML_ERROR_NOT_FOUND": 6,
    "NVML_ERROR_INSUFFICIENT_SIZE": 7,
    "NVML_ERROR_FUNCTION_NOT_FOUND": 13,
    "NVML_ERROR_NO_DATA": 21,
    "NVML_ERROR_ARGUMENT_VERSION_MISMATCH": 25,
    "NVML_ERROR_DEPRECATED": 26,
}


def describe_init_error(err: BaseException) -> str:
    """A user-facing sentence for an nvmlInit / device enumeration failure."""
    code = getattr(err, "value", None)
    text = _err_text(err)
    if code == 12:  # LIBRARY_NOT_FOUND
        return "No NVIDIA driver (libnvidia-ml not found)"
    if code == 9:  # DRIVER_NOT_LOADED
        return f"No NVIDIA driver (NVML: {text})"
    if code == 18:  # LIB_RM_VERSION_MISMATCH
        return (
            f"NVIDIA driver/library version mismatch (NVML: {text}); "
            "reboot or reload the nvidia kernel module"
        )
    if code == 4:  # NO_PERMISSION
        return f"No permission to read the GPU (NVML: {text})"
    if code == 15:  # GPU_IS_LOST
        return f"GPU lost (NVML: {text}); the card needs a reset"
    return f"NVML unavailable ({text})"


def describe_runtime_error(err: BaseException) -> str:
    """A user-facing sentence for an NVML failure after monitoring had started."""
    code = getattr(err, "value", None)
    text = _err_text(err)
    if code == 15:
        return f"GPU lost (NVML: {text}); GPU gauges stopped"
    if code == 4:
        return f"No permission to read the GPU (NVML: {text}); GPU gauges stopped"
    if code in (1, 9, 18):
        return f"NVIDIA driver went away (NVML: {text}); GPU gauges stopped"
    return f"GPU monitoring failed (NVML: {text}); GPU gauges stopped"


def _err_text(err: BaseException) -> str:
    try:
        text = str(err)
    except Exception:  # the real NVMLError.__str__ calls into the library, which may be gone
        text = ""
    return text or type(err).__name__


@dataclass
class _Device:
    """What stays fixed per device for the life of the NVML session."""

    index: int
    handle: Any
    name: str
    uuid: str | None
    power_limit_w: float | None
    peak_bandwidth: float | None
    bandwidth_source: str | None


class NvmlReader:
    """One NVML session: `open()` calls nvmlInit once and reads what never changes (names,
    bandwidth, power limit); `read()` takes the moving figures; `close()` calls nvmlShutdown.
    Not thread-safe on its own: HardwareProbe serialises calls."""

    def __init__(self, module: ModuleType, *, visible: tuple[str, ...] | None = None) -> None:
        self._nvml = module
        self._visible = visible
        self._devices: list[_Device] = []
        self._open = False
        self.driver_version: str | None = None
        self.hidden_note: str | None = None

    @property
    def devices(self) -> int:
        return len(self._devices)

    def open(self) -> None:
        """Initialise NVML and enumerate GPUs. Raises NvmlUnavailable with the reason."""
        nvml = self._nvml
        try:
            nvml.nvmlInit()
        except Exception as err:
            raise NvmlUnavailable(describe_init_error(err)) from err
        self._open = True
        try:
            count = nvml.nvmlDeviceGetCount()
            self.driver_version = self._optional(nvml.nvmlSystemGetDriverVersion)
            if isinstance(self.driver_version, bytes):
                self.driver_version = self.driver_version.decode(errors="replace")
            devices = [self._describe(i) for i in range(count)]
        except NvmlUnavailable as err:
            self.close()
            cause = err.__cause__
            raise NvmlUnavailable(describe_init_error(cause) if cause else err.reason) from cause
        except Exception as err:
            self.close()
            raise NvmlUnavailable(describe_init_error(err)) from err
        if not devices:
            self.close()
            raise NvmlUnavailable("No GPU found (NVIDIA driver loaded, 0 devices)")
        kept = self._filter_visible(devices)
        if not kept:
            self.close()
            raise NvmlUnavailable(
                f"No GPU visible to this process (CUDA_VISIBLE_DEVICES="
                f"{os.environ.get('CUDA_VISIBLE_DEVICES', '')!r})"
            )
        if len(kept) < len(devices):
            self.hidden_note = (
                f"{len(devices) - len(kept)} other GPU(s) hidden by CUDA_VISIBLE_DEVICES"
            )
        self._devices = kept

    def _describe(self, index: int) -> _Device:
        nvml = self._nvml
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = nvml.nvmlDeviceGetName(handle)
        if isinstance(name, bytes):  # bindings before 11.5 returned bytes
            name = name.decode(errors="replace")
        uuid = self._optional(nvml.nvmlDeviceGetUUID, handle)
        if isinstance(uuid, bytes):
            uuid = uuid.decode(errors="replace")
        limit_mw = self._optional(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
        bus_bits = self._optional(nvml.nvmlDeviceGetMemoryBusWidth, handle)
        clock_mhz = self._optional(
            nvml.nvmlDeviceGetMaxClockInfo, handle, getattr(nvml, "NVML_CLOCK_MEM", 2)
        )
        bandwidth, source = gpu_peak_bandwidth(name, bus_bits, clock_mhz)
        return _Device(
            index=index,
            handle=handle,
            name=str(name),
            uuid=uuid,
            power_limit_w=limit_mw / 1000.0 if limit_mw else None,
            peak_bandwidth=bandwidth,
            bandwidth_source=source,
        )

    def _filter_visible(self, devices: list[_Device]) -> list[_Device]:
        if self._visible is None:
            return devices
        kept: list[_Device] = []
        for token in self._visible:
            if token.isdigit():
                hit = [d for d in devices if d.index == int(token)]
                if not hit:
                    break  # CUDA ignores everything after an invalid index
            else:
                hit = [d for d in devices if d.uuid and d.uuid.lower().startswith(token.lower())]
            kept.extend(d for d in hit if d not in kept)
        return kept

    def read(self, pid: int | None = None) -> tuple[GpuSnapshot, ...]:
        """Moving figures for every device. Raises NvmlUnavailable when NVML fails for good."""
        if not self._open:
            raise NvmlUnavailable("NVML is not initialised")
        nvml = self._nvml
        pid = os.getpid() if pid is None else pid
        out: list[GpuSnapshot] = []
        for dev in self._devices:
            try:
                mem = nvml.nvmlDeviceGetMemoryInfo(dev.handle)
            except Exception as err:
                # The one figure the pane cannot do without: any failure is fatal.
                raise NvmlUnavailable(describe_runtime_error(err)) from err
            util = self._optional(nvml.nvmlDeviceGetUtilizationRates, dev.handle)
            temp = self._optional(
                nvml.nvmlDeviceGetTemperature,
                dev.handle,
                getattr(nvml, "NVML_TEMPERATURE_GPU", 0),
            )
            power_mw = self._optional(nvml.nvmlDeviceGetPowerUsage, dev.handle)
            procs = self._optional(nvml.nvmlDeviceGetComputeRunningProcesses, dev.handle)
            out.append(
                GpuSnapshot(
                    index=dev.index,
                    name=dev.name,
                    uuid=dev.uuid,
                    memory_used=int(mem.used),
                    memory_total=int(mem.total),
                    utilization=int(util.gpu) if util is not None else None,
                    temperature_c=int(temp) if temp is not None else None,
                    power_w=power_mw / 1000.0 if power_mw is not None else None,
                    power_limit_w=dev.power_limit_w,
                    process_memory=_process_memory(procs, pid),
                    peak_bandwidth=dev.peak_bandwidth,
                    bandwidth_source=dev.bandwidth_source,
                )
            )
        return tuple(out)

    def _optional(self, fn: Callable[..., T], *args: Any) -> T | None:
        """Call an NVML getter whose figure we can live without; fatal errors still raise."""
        try:
            return fn(*args)
        except Exception as err:
            code = getattr(err, "value", None)
            if code in _OPTIONAL_CODES.values():
                return None
            if isinstance(err, AttributeError):  # bindings too old for this getter
                return None
            raise NvmlUnavailable(describe_runtime_error(err)) from err

    def close(self) -> None:
        """nvmlShutdown, once. Errors are ignored: the driver may already be gone."""
        if not self._open:
            return
        self._open = False
        self._devices = []
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass


def _process_memory(procs: list[Any] | None, pid: int) -> int | None:
    if not procs:
        return None
    total = 0
    found = False
    for p in procs:
        if getattr(p, "pid", None) == pid:
            used = getattr(p, "usedGpuMemory", None)
            if used is not None:
                total += int(used)
                found = True
    return total if found else None


def load_pynvml() -> ModuleType:
    """Import the official bindings. Raises NvmlUnavailable when the package is missing."""
    try:
        import pynvml
    except ImportError as err:
        raise NvmlUnavailable("nvidia-ml-py not installed (pip install nvidia-ml-py)") from err
    return pynvml
