"""CPU load, RAM and our resident memory through psutil: the gauges when there is no GPU.

Always sampled, GPU or not: loading a model passes through RAM first, and a CPU-only run lives
there entirely.
"""

from __future__ import annotations

import psutil

from tui.hardware.snapshot import CpuSnapshot


class CpuReader:
    """Reads psutil. `cpu_percent` measures since the previous call, so the constructor primes
    it once; the first real sample then covers the time since construction."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        psutil.cpu_percent(percpu=True)

    def read(self) -> CpuSnapshot:
        per_core = tuple(float(p) for p in psutil.cpu_percent(percpu=True))
        vm = psutil.virtual_memory()
        try:
            rss = int(self._process.memory_info().rss)
        except psutil.Error:
            rss = 0
        return CpuSnapshot(
            per_core=per_core,
            ram_used=int(vm.total - vm.available),
            ram_total=int(vm.total),
            process_rss=rss,
        )
