"""The hardware probe: GPU figures through a fake NVML, every failure turned into a reason the
pane can show, the CPU path through the real psutil, and torch figures without importing torch."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import types
from pathlib import Path

import psutil
import pytest

try:
    from tests.fakes.fake_pynvml import (
        NVML_ERROR_DRIVER_NOT_LOADED,
        NVML_ERROR_GPU_IS_LOST,
        NVML_ERROR_LIB_RM_VERSION_MISMATCH,
        NVML_ERROR_LIBRARY_NOT_FOUND,
        NVML_ERROR_NO_PERMISSION,
        NVML_ERROR_NOT_SUPPORTED,
        FakeGpu,
        FakeNvml,
        FakeProcess,
    )
except ModuleNotFoundError:  # pytest run as a script, without the repo root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.fakes.fake_pynvml import (
        NVML_ERROR_DRIVER_NOT_LOADED,
        NVML_ERROR_GPU_IS_LOST,
        NVML_ERROR_LIB_RM_VERSION_MISMATCH,
        NVML_ERROR_LIBRARY_NOT_FOUND,
        NVML_ERROR_NO_PERMISSION,
        NVML_ERROR_NOT_SUPPORTED,
        FakeGpu,
        FakeNvml,
        FakeProcess,
    )

from tui.hardware import HardwareProbe
from tui.hardware.snapshot import HardwareSnapshot

GiB = 1024**3


def probe_for(fake: FakeNvml, **kwargs) -> HardwareProbe:
    kwargs.setdefault("visible", None)
    return HardwareProbe(nvml_module=fake.module, **kwargs)


@pytest.fixture(autouse=True)
def _no_cuda_visible_devices(monkeypatch):
    # The developer's shell may restrict GPUs; the tests describe the machine themselves.
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_gpu_figures_come_from_nvml_in_the_units_the_pane_shows():
    fake = FakeNvml(
        [
            FakeGpu(
                memory_used=41 * GiB,
                utilization=87,
                temperature=64,
                power_mw=312_500,
                power_limit_mw=700_000,
                processes=[FakeProcess(os.getpid(), 30 * GiB), FakeProcess(1, 5 * GiB)],
            )
        ]
    )
    snap = probe_for(fake).sample()

    assert snap.gpu_off_reason is None
    (gpu,) = snap.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert (gpu.memory_used, gpu.memory_total) == (41 * GiB, 80 * GiB)
    assert gpu.utilization == 87 and gpu.temperature_c == 64
    assert gpu.power_w == pytest.approx(312.5) and gpu.power_limit_w == pytest.approx(700)
    assert gpu.process_memory == 30 * GiB  # only our PID counts, not process 1
    assert gpu.peak_bandwidth == pytest.approx(3.35e12, rel=0.01)
    assert gpu.bandwidth_source == "nvml"
    assert snap.driver_version == "550.54.15"


def test_our_memory_is_unknown_rather_than_zero_when_nvml_lists_other_pids():
    # In a container NVML reports host PIDs: "0 B used by us" would be a lie.
    fake = FakeNvml([FakeGpu(processes=[FakeProcess(424242, 30 * GiB)])])
    (gpu,) = probe_for(fake).sample().gpus
    assert gpu.process_memory is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (NVML_ERROR_DRIVER_NOT_LOADED, "No NVIDIA driver (NVML: Driver Not Loaded)"),
        (NVML_ERROR_LIBRARY_NOT_FOUND, "No NVIDIA driver (libnvidia-ml not found)"),
        (NVML_ERROR_LIB_RM_VERSION_MISMATCH, "driver/library version mismatch"),
        (NVML_ERROR_NO_PERMISSION, "No permission to read the GPU"),
    ],
)
def test_init_failure_falls_back_to_cpu_with_the_reason(code, expected):
    fake = FakeNvml(init_error=code)
    snap = probe_for(fake).sample()
    assert snap.gpus == ()
    assert expected in snap.gpu_off_reason
    assert snap.cpu.ram_total > 0


def test_driver_without_gpus_says_no_gpu_found():
    fake = FakeNvml([])
    snap = probe_for(fake).sample()
    assert snap.gpu_off_reason.startswith("No GPU found")
    assert fake.shutdown_calls == fake.init_calls == 1  # nothing to watch: NVML released


def test_missing_bindings_say_which_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    snap = HardwareProbe().sample()
    assert snap.gpu_off_reason.startswith("nvidia-ml-py not installed")


def test_gpu_lost_mid_run_switches_to_cpu_and_stops_calling_nvml():
    fake = FakeNvml()
    probe = probe_for(fake)
    assert probe.sample().has_gpu

    fake.fail("nvmlDeviceGetMemoryInfo", NVML_ERROR_GPU_IS_LOST)
    snap = probe.sample()
    assert not snap.has_gpu
    assert "GPU lost" in snap.gpu_off_reason
    assert snap.cpu.ram_total > 0
    assert fake.shutdown_calls == 1  # NVML released straight away

    calls = dict(fake.calls)
    for _ in range(3):
        assert "GPU lost" in probe.sample().gpu_off_reason
    assert fake.calls == calls  # a lost GPU is not polled again every tick


def test_permission_lost_mid_run_is_reported_not_raised():
    fake = FakeNvml()
    probe = probe_for(fake)
    probe.sample()
    fake.fail("nvmlDeviceGetMemoryInfo", NVML_ERROR_NO_PERMISSION)
    snap = probe.sample()
    assert "No permission" in snap.gpu_off_reason


def test_unsupported_figures_are_left_out_and_the_gpu_stays():
    fake = FakeNvml()
    fake.fail("nvmlDeviceGetPowerUsage", NVML_ERROR_NOT_SUPPORTED)
    fake.fail("nvmlDeviceGetComputeRunningProcesses", NVML_ERROR_NO_PERMISSION)
    (gpu,) = probe_for(fake).sample().gpus
    assert gpu.power_w is None and gpu.process_memory is None
    assert gpu.memory_used == 12 * GiB


def test_driver_error_from_an_optional_figure_is_still_fatal():
    fake = FakeNvml()
    probe = probe_for(fake)
    probe.sample()
    fake.fail("nvmlDeviceGetTemperature", NVML_ERROR_DRIVER_NOT_LOADED)
    assert "driver went away" in probe.sample().gpu_off_reason


def test_nvml_is_initialised_once_and_shut_down_once():
    fake = FakeNvml()
    probe = probe_for(fake)
    for _ in range(5):
        probe.sample()
    probe.close()
    probe.close()
    assert (fake.init_calls, fake.shutdown_calls) == (1, 1)
    late = probe.sample()  # a sampler that ticks once more must not crash
    assert not late.has_gpu and late.cpu.ram_total > 0
    assert fake.init_calls == 1


def test_construction_does_not_touch_nvml():
    # The app builds the probe on the UI thread; nvmlInit belongs on the sampler thread.
    fake = FakeNvml()
    probe_for(fake)
    assert fake.init_calls == 0


def test_cuda_visible_devices_limits_the_gpus_shown():
    gpus = [
        FakeGpu(name="NVIDIA L4", uuid="GPU-aaaa"),
        FakeGpu(name="NVIDIA L40S", uuid="GPU-bbbb"),
    ]
    snap = probe_for(FakeNvml(gpus), visible="1").sample()
    assert [g.name for g in snap.gpus] == ["NVIDIA L40S"]
    assert "1 other GPU(s) hidden" in snap.notes[0]

    by_uuid = probe_for(FakeNvml(gpus), visible="GPU-aaaa").sample()
    assert [g.name for g in by_uuid.gpus] == ["NVIDIA L4"]

    none = probe_for(FakeNvml(gpus), visible="").sample()
    assert "No GPU visible" in none.gpu_off_reason


def test_cpu_only_run_reports_real_psutil_figures():
    snap = HardwareProbe(use_nvml=False).sample()
    assert snap.gpu_off_reason == "GPU monitoring off (CPU-only run)"
    assert len(snap.cpu.per_core) == psutil.cpu_count()
    assert 0 < snap.cpu.ram_used <= snap.cpu.ram_total
    assert snap.cpu.process_rss > 10 * 1024**2  # this Python process is not empty
    assert 0 <= snap.cpu.percent <= 100


def _fake_torch(initialised: bool, calls: list[str]) -> types.ModuleType:
    def record(name, value):
        def fn(*args):
            calls.append(name)
            return value

        return fn

    cuda = types.SimpleNamespace(
        is_initialized=lambda: initialised,
        device_count=record("device_count", 1),
        memory_allocated=record("memory_allocated", 5 * GiB),
        memory_reserved=record("memory_reserved", 6 * GiB),
        max_memory_allocated=record("max_memory_allocated", 7 * GiB),
        get_device_properties=lambda i: types.SimpleNamespace(
            uuid="11111111-2222-3333-4444-555555555555"
        ),
    )
    torch = types.ModuleType("torch")
    torch.cuda = cuda
    return torch


def test_torch_figures_are_read_when_the_app_has_cuda_up(monkeypatch):
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(True, calls))
    snap = probe_for(FakeNvml()).sample()
    torch = snap.torch_for(snap.gpus[0])  # matched to the NVML GPU by UUID
    assert (torch.allocated, torch.reserved, torch.max_allocated) == (5 * GiB, 6 * GiB, 7 * GiB)


def test_torch_is_left_alone_before_cuda_is_initialised(monkeypatch):
    # Asking torch for memory figures would create a CUDA context: hundreds of MB of GPU memory.
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(False, calls))
    snap = probe_for(FakeNvml()).sample()
    assert snap.torch == () and calls == []


def test_probe_never_imports_torch(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    probe_for(FakeNvml()).sample()
    assert "torch" not in sys.modules


def test_cuda_device_maps_to_the_nvml_gpu_through_the_torch_uuid():
    from tui.hardware.snapshot import CpuSnapshot, GpuSnapshot, TorchCudaSnapshot

    cpu = CpuSnapshot(per_core=(0.0,), ram_used=1, ram_total=2, process_rss=1)
    a = GpuSnapshot(index=0, name="A", memory_used=0, memory_total=1, uuid="GPU-aaaa")
    b = GpuSnapshot(index=1, name="B", memory_used=0, memory_total=1, uuid="GPU-bbbb")
    # CUDA_VISIBLE_DEVICES=1,0: cuda:0 is NVML's GPU 1.
    torch = (
        TorchCudaSnapshot(index=0, allocated=0, reserved=0, max_allocated=0, uuid="bbbb"),
        TorchCudaSnapshot(index=1, allocated=0, reserved=0, max_allocated=0, uuid="aaaa"),
    )
    snap = HardwareSnapshot(time=0.0, cpu=cpu, gpus=(a, b), torch=torch)
    assert snap.gpu_for_device("cuda:0") is b
    assert snap.gpu_for_device("cuda") is b
    assert snap.gpu_for_device("cpu") is None
    no_torch = HardwareSnapshot(time=0.0, cpu=cpu, gpus=(a, b))
    assert no_torch.gpu_for_device("cuda:1") is b


def test_importing_hardware_pulls_in_neither_textual_nor_torch():
    code = "import sys, tui.hardware; print('textual' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_fake_nvml_matches_the_real_bindings():
    """The fake is only worth something while it has the real names and parameters."""
    real = pytest.importorskip("pynvml")
    fake = FakeNvml().module
    for name in FakeNvml.FUNCTIONS:
        real_params = list(inspect.signature(getattr(real, name)).parameters)
        fake_params = list(inspect.signature(getattr(fake, name)).parameters)
        assert fake_params == real_params, name
    for name in ("NVMLError_GpuIsLost", "NVMLError_DriverNotLoaded", "NVMLError_NoPermission"):
        real_err = getattr(real, name)()
        fake_err = getattr(fake, name)()
        assert fake_err.value == real_err.value and str(fake_err) == str(real_err)
        assert isinstance(fake.NVMLError(real_err.value), getattr(fake, name))
    assert fake.NVML_CLOCK_MEM == real.NVML_CLOCK_MEM
    assert fake.NVML_TEMPERATURE_GPU == real.NVML_TEMPERATURE_GPU
