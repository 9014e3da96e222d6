"""Hardware figures for the gauges and the model picker, with no Textual import.

`HardwareProbe` samples NVML (GPU), torch's CUDA allocator and psutil (CPU) into frozen
snapshots; `Sampler` runs it on a background thread; `HardwareService` is the app's one owner
of both and of the CPU-bandwidth measurement; `bandwidth` turns memory bandwidth and model size
into the decode-speed roofline.
"""

from __future__ import annotations

from tui.hardware.bandwidth import (
    bytes_per_param,
    bytes_per_token,
    cpu_bandwidth,
    decode_bound_tps,
    estimate_decode_tps,
    gpu_peak_bandwidth,
    known_gpu_bandwidth,
    read_cached_cpu_bandwidth,
)
from tui.hardware.probe import HardwareProbe
from tui.hardware.sampler import DEFAULT_INTERVAL_S, GENERATING_INTERVAL_S, Sampler
from tui.hardware.service import HardwareService
from tui.hardware.snapshot import CpuSnapshot, GpuSnapshot, HardwareSnapshot, TorchCudaSnapshot

__all__ = [
    "DEFAULT_INTERVAL_S",
    "GENERATING_INTERVAL_S",
    "CpuSnapshot",
    "GpuSnapshot",
    "HardwareProbe",
    "HardwareService",
    "HardwareSnapshot",
    "Sampler",
    "TorchCudaSnapshot",
    "bytes_per_param",
    "bytes_per_token",
    "cpu_bandwidth",
    "decode_bound_tps",
    "estimate_decode_tps",
    "gpu_peak_bandwidth",
    "known_gpu_bandwidth",
    "read_cached_cpu_bandwidth",
]
