"""A probe that always reports the same machine, so screenshots are the same on every run.

Same `sample()`/`close()` interface as `tui.hardware.HardwareProbe`. It describes one H100
(the figures a GPU user sees) plus fixed CPU/RAM; live figures would make snapshots flaky.
"""

from __future__ import annotations

from tui.hardware import CpuSnapshot, GpuSnapshot, HardwareSnapshot

GIB = 1024**3


class FixedProbe:
    """Reports a fixed H100 box."""

    def sample(self) -> HardwareSnapshot:
        return HardwareSnapshot(
            time=0.0,
            cpu=CpuSnapshot(
                per_core=(12.0, 30.0), ram_used=6 * GIB, ram_total=24 * GIB, process_rss=GIB
            ),
            gpus=(
                GpuSnapshot(
                    index=0,
                    name="NVIDIA H100 80GB HBM3",
                    memory_used=20 * GIB,
                    memory_total=80 * GIB,
                    uuid="GPU-0000",
                    utilization=64,
                    temperature_c=51,
                    power_w=312.0,
                    power_limit_w=700.0,
                    process_memory=18 * GIB,
                    peak_bandwidth=3.35e12,
                    bandwidth_source="table",
                ),
            ),
            driver_version="580.00",
        )

    def close(self, timeout: float = 2.0) -> None:
        pass
