"""Plain, frozen snapshots of what the machine is doing: the only thing the UI sees of hardware.

A snapshot is made on the sampler thread and handed to the UI thread; being frozen, it can cross
threads without locks, and a widget can keep the last one without it changing underneath it.
Sizes are bytes, rates bytes/s, percentages 0-100.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GpuSnapshot:
    """One NVIDIA GPU as NVML reports it. Optional figures are None where the card or the
    permissions don't allow reading them (power on some cloud vGPUs, processes in containers)."""

    # NVML index (PCI bus order), not the CUDA index: see HardwareSnapshot.gpu_for_device.
    index: int
    name: str
    memory_used: int
    memory_total: int
    uuid: str | None = None
    utilization: int | None = None
    temperature_c: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    # Memory NVML attributes to this process. None when unknown: in a container NVML reports host
    # PIDs, so our PID never matches even while we hold gigabytes.
    process_memory: int | None = None
    peak_bandwidth: float | None = None  # bytes/s, for the roofline
    bandwidth_source: str | None = None  # "nvml" (bus width x clock) or "table" (known card)

    @property
    def memory_fraction(self) -> float:
        return self.memory_used / self.memory_total if self.memory_total else 0.0


@dataclass(frozen=True)
class TorchCudaSnapshot:
    """torch's own view of one CUDA device: what tensors hold (allocated), what its caching
    allocator keeps from the driver (reserved), and the high-water mark. Differs from NVML's
    figure by the CUDA context and by other libraries' allocations."""

    index: int  # torch/CUDA index, as in "cuda:0"
    allocated: int
    reserved: int
    max_allocated: int
    uuid: str | None = None  # compared without the "GPU-" prefix NVML puts on it


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU load, RAM and this process's resident memory, from psutil."""

    per_core: tuple[float, ...]
    ram_used: int  # total - available: what other programs could not get
    ram_total: int
    process_rss: int

    @property
    def percent(self) -> float:
        return sum(self.per_core) / len(self.per_core) if self.per_core else 0.0

    @property
    def ram_fraction(self) -> float:
        return self.ram_used / self.ram_total if self.ram_total else 0.0


@dataclass(frozen=True)
class HardwareSnapshot:
    """Everything one sample saw. `gpu_off_reason` is set whenever `gpus` is empty, in words a
    user can act on (no driver, library mismatch, GPU lost...)."""

    time: float  # time.monotonic() when taken
    cpu: CpuSnapshot
    gpus: tuple[GpuSnapshot, ...] = ()
    torch: tuple[TorchCudaSnapshot, ...] = ()
    gpu_off_reason: str | None = None
    driver_version: str | None = None
    notes: tuple[str, ...] = field(default=())  # e.g. "GPU figures hidden: CUDA_VISIBLE_DEVICES"

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)

    def torch_for(self, gpu: GpuSnapshot) -> TorchCudaSnapshot | None:
        """torch's figures for `gpu`: matched by UUID, else by position when the counts agree."""
        if gpu.uuid:
            for t in self.torch:
                if t.uuid and _strip_gpu_prefix(gpu.uuid) == _strip_gpu_prefix(t.uuid):
                    return t
        if len(self.torch) == len(self.gpus) and not any(t.uuid for t in self.torch):
            pos = self.gpus.index(gpu)
            return self.torch[pos]
        return None

    def gpu_for_device(self, device: str | None) -> GpuSnapshot | None:
        """The GPU a torch device string ("cuda", "cuda:1", "auto") runs on, or None for CPU.

        CUDA numbers devices in CUDA_VISIBLE_DEVICES order and NVML in PCI order, so the torch
        UUID decides when torch has CUDA up; otherwise `gpus` is already in visible order.
        For a model split across GPUs the first one stands for all: decode visits each shard in
        turn, so with identical cards the bound is the same.
        """
        if not self.gpus or device is None:
            return None
        dev = device.strip().lower()
        if dev.startswith("cpu") or dev.startswith("mps") or dev in ("", "meta", "disk"):
            return None
        match = re.match(r"cuda:(\d+)", dev)
        cuda_index = int(match.group(1)) if match else 0
        for t in self.torch:
            if t.index == cuda_index and t.uuid:
                for g in self.gpus:
                    if g.uuid and _strip_gpu_prefix(g.uuid) == _strip_gpu_prefix(t.uuid):
                        return g
        if cuda_index < len(self.gpus):
            return self.gpus[cuda_index]
        return self.gpus[0]


def _strip_gpu_prefix(uuid: str) -> str:
    uuid = uuid.lower()
    return uuid[4:] if uuid.startswith("gpu-") else uuid


def visible_device_filter(env: str | None = None) -> tuple[str, ...] | None:
    """CUDA_VISIBLE_DEVICES as a list of NVML indices or UUID prefixes, or None when unset or
    unusable for filtering (MIG ids). An empty tuple means "no GPU visible to this process"."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES") if env is None else env
    if value is None:
        return None
    tokens = [t.strip() for t in value.split(",")]
    tokens = [t for t in tokens if t]
    if not tokens:
        return ()
    out: list[str] = []
    for token in tokens:
        if token.upper().startswith("MIG-"):
            return None
        if token.lstrip("-").isdigit() and int(token) < 0:
            break  # CUDA stops at the first invalid entry
        out.append(token)
    return tuple(out)
