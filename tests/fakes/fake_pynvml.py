"""A stand-in for the `pynvml` module (nvidia-ml-py) so the GPU paths run on machines without one.

It mirrors the real bindings where our code touches them: the same function names and
parameters, the same constants, and the same exception scheme (`NVMLError(code)` turns itself
into the subclass for that code, e.g. `NVMLError_GpuIsLost`). A test builds a `FakeNvml` with
some `FakeGpu`s, passes `fake.module` to `HardwareProbe(nvml_module=...)` (or puts it in
`sys.modules["pynvml"]`), then changes figures or injects errors while the probe runs.
"""

from __future__ import annotations

import string
import threading
import types
from dataclasses import dataclass, field

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_ALREADY_INITIALIZED = 5
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_INSUFFICIENT_SIZE = 7
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_NO_DATA = 21
NVML_ERROR_UNKNOWN = 999

NVML_CLOCK_GRAPHICS = 0
NVML_CLOCK_SM = 1
NVML_CLOCK_MEM = 2
NVML_TEMPERATURE_GPU = 0

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch.",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """Like pynvml.NVMLError: constructing it with a code yields the matching subclass."""

    _valClassMapping: dict[int, type[NVMLError]] = {}

    def __new__(cls, value: int = NVML_ERROR_UNKNOWN):  # noqa: D102
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int = NVML_ERROR_UNKNOWN) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML Error with code {self.value}")


def _make_error_classes() -> dict[str, type[NVMLError]]:
    # Same naming rule as pynvml: NVML_ERROR_GPU_IS_LOST -> NVMLError_GpuIsLost.
    made = {}
    for const, code in list(globals().items()):
        if not const.startswith("NVML_ERROR_"):
            continue
        name = "NVMLError_" + string.capwords(const.replace("NVML_ERROR_", ""), "_").replace(
            "_", ""
        )

        def new(cls, *args, _code=code):
            return NVMLError.__new__(cls, _code)

        def init(self, *args, _code=code):
            Exception.__init__(self, _code)

        cls = type(name, (NVMLError,), {"__new__": new, "__init__": init})
        NVMLError._valClassMapping[code] = cls
        made[name] = cls
    return made


globals().update(_make_error_classes())


@dataclass
class FakeMemory:
    total: int
    free: int
    used: int


@dataclass
class FakeUtilization:
    gpu: int
    memory: int


@dataclass
class FakeProcess:
    pid: int
    usedGpuMemory: int | None  # noqa: N815 - the real field name


@dataclass
class FakeGpu:
    """One simulated card; change the fields between samples to move the gauges."""

    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-11111111-2222-3333-4444-555555555555"
    memory_total: int = 80 * 1024**3
    memory_used: int = 12 * 1024**3
    utilization: int = 37
    temperature: int = 54
    power_mw: int = 212_000
    power_limit_mw: int = 700_000
    bus_width_bits: int = 5120
    max_mem_clock_mhz: int = 2619
    processes: list[FakeProcess] = field(default_factory=list)


class FakeNvml:
    """State plus a module object exposing pynvml's functions over that state.

    `fail(name, code)` makes function `name` raise NVMLError(code) from then on (`times` limits
    it); `init_error` makes nvmlInit fail. Counters record init/shutdown calls so tests can
    check the probe initialises once and shuts down cleanly.
    """

    def __init__(self, gpus: list[FakeGpu] | None = None, *, init_error: int | None = None):
        self.gpus = list(gpus) if gpus is not None else [FakeGpu()]
        self.init_error = init_error
        self.driver_version = "550.54.15"
        self.init_calls = 0
        self.shutdown_calls = 0
        self.calls: dict[str, int] = {}
        self._failures: dict[str, tuple[int, int | None]] = {}
        self._initialised = 0
        self._lock = threading.Lock()
        self.module = self._build_module()

    def fail(self, function: str, code: int, times: int | None = None) -> None:
        self._failures[function] = (code, times)

    def heal(self, function: str | None = None) -> None:
        if function is None:
            self._failures.clear()
        else:
            self._failures.pop(function, None)

    @property
    def initialised(self) -> bool:
        return self._initialised > 0

    def _check(self, function: str) -> None:
        with self._lock:
            self.calls[function] = self.calls.get(function, 0) + 1
            failure = self._failures.get(function)
            if failure is not None:
                code, times = failure
                if times is not None:
                    if times <= 1:
                        del self._failures[function]
                    else:
                        self._failures[function] = (code, times - 1)
                raise NVMLError(code)
        if function not in ("nvmlInit", "nvmlInitWithFlags") and not self._initialised:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _gpu(self, handle: object) -> FakeGpu:
        if not isinstance(handle, _Handle) or handle.index >= len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return self.gpus[handle.index]

    # The functions below keep pynvml's names and parameter names.

    def nvmlInit(self) -> None:  # noqa: N802
        self.nvmlInitWithFlags(0)

    def nvmlInitWithFlags(self, flags: int) -> None:  # noqa: N802
        self._check("nvmlInit")
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.init_calls += 1
        self._initialised += 1

    def nvmlShutdown(self) -> None:  # noqa: N802
        self._check("nvmlShutdown")
        self.shutdown_calls += 1
        self._initialised = max(0, self._initialised - 1)

    def nvmlSystemGetDriverVersion(self) -> str:  # noqa: N802
        self._check("nvmlSystemGetDriverVersion")
        return self.driver_version

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        self._check("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object:  # noqa: N802
        self._check("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(index)

    def nvmlDeviceGetName(self, handle: object) -> str:  # noqa: N802
        self._check("nvmlDeviceGetName")
        return self._gpu(handle).name

    def nvmlDeviceGetUUID(self, handle: object) -> str:  # noqa: N802
        self._check("nvmlDeviceGetUUID")
        return self._gpu(handle).uuid

    def nvmlDeviceGetMemoryInfo(self, handle: object, version: int | None = None) -> FakeMemory:  # noqa: N802
        self._check("nvmlDeviceGetMemoryInfo")
        gpu = self._gpu(handle)
        return FakeMemory(
            total=gpu.memory_total,
            free=gpu.memory_total - gpu.memory_used,
            used=gpu.memory_used,
        )

    def nvmlDeviceGetUtilizationRates(self, handle: object) -> FakeUtilization:  # noqa: N802
        self._check("nvmlDeviceGetUtilizationRates")
        return FakeUtilization(gpu=self._gpu(handle).utilization, memory=0)

    def nvmlDeviceGetTemperature(self, handle: object, sensor: int) -> int:  # noqa: N802
        self._check("nvmlDeviceGetTemperature")
        return self._gpu(handle).temperature

    def nvmlDeviceGetPowerUsage(self, handle: object) -> int:  # noqa: N802
        self._check("nvmlDeviceGetPowerUsage")
        return self._gpu(handle).power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: object) -> int:  # noqa: N802
        self._check("nvmlDeviceGetEnforcedPowerLimit")
        return self._gpu(handle).power_limit_mw

    def nvmlDeviceGetComputeRunningProcesses(self, handle: object) -> list[FakeProcess]:  # noqa: N802
        self._check("nvmlDeviceGetComputeRunningProcesses")
        return list(self._gpu(handle).processes)

    def nvmlDeviceGetMemoryBusWidth(self, device: object) -> int:  # noqa: N802
        self._check("nvmlDeviceGetMemoryBusWidth")
        return self._gpu(device).bus_width_bits

    def nvmlDeviceGetMaxClockInfo(self, handle: object, type: int) -> int:  # noqa: N802, A002
        self._check("nvmlDeviceGetMaxClockInfo")
        if type != NVML_CLOCK_MEM:
            return 1980
        return self._gpu(handle).max_mem_clock_mhz

    FUNCTIONS = (
        "nvmlInit",
        "nvmlInitWithFlags",
        "nvmlShutdown",
        "nvmlSystemGetDriverVersion",
        "nvmlDeviceGetCount",
        "nvmlDeviceGetHandleByIndex",
        "nvmlDeviceGetName",
        "nvmlDeviceGetUUID",
        "nvmlDeviceGetMemoryInfo",
        "nvmlDeviceGetUtilizationRates",
        "nvmlDeviceGetTemperature",
        "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetEnforcedPowerLimit",
        "nvmlDeviceGetComputeRunningProcesses",
        "nvmlDeviceGetMemoryBusWidth",
        "nvmlDeviceGetMaxClockInfo",
    )

    def _build_module(self) -> types.ModuleType:
        module = types.ModuleType("pynvml", "fake pynvml for tests")
        for name, value in globals().items():
            if name.startswith("NVML_") or name.startswith("NVMLError"):
                setattr(module, name, value)
        for name in self.FUNCTIONS:
            setattr(module, name, getattr(self, name))
        return module


@dataclass(frozen=True)
class _Handle:
    index: int
