"""What every benchmark shares: the run's settings, medians, and the environment they run in.

The environment is fixed before anything imports huggingface_hub: the converted default model
is the one the test suite caches in `.test-cache/` (so a bench run never redoes the 20-30 s
GGUF conversion, and never touches the user's own cache), and nothing goes to the network.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_CACHE = REPO / ".test-cache"


def setup_environment(threads: int | None = None, model: str | None = None) -> None:
    """Private, offline, quiet: called by `python -m bench` before any benchmark imports.

    `threads` pins torch (and, through the environment, child processes and llama.cpp) to that
    many CPU threads: on a machine shared with other jobs, fewer threads than cores gives far
    steadier figures, because a parallel op waits for its slowest thread. `model` replaces the
    bundled default in the model benchmarks (e.g. a bigger one on a GPU box)."""
    os.environ.setdefault("XDG_CACHE_HOME", str(BENCH_CACHE))
    if model:
        os.environ["TCHAT_BENCH_MODEL"] = model
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        os.environ["TCHAT_BENCH_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


@dataclass(frozen=True)
class Run:
    """Settings of one `python -m bench` run that every benchmark reads."""

    quick: bool = False

    def reps(self, full: int, quick: int | None = None) -> int:
        """Repetitions after the warm-up: fewer with --quick, never fewer than 1."""
        if self.quick:
            return max(1, quick if quick is not None else max(1, full // 2))
        return full


def threads() -> int:
    """The CPU threads torch uses in this run (llama.cpp is given the same)."""
    import torch

    return torch.get_num_threads()


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """'12.1 [11.8-12.6]': the median and the range, for the detail column."""
    return f"{fmt.format(median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def describe_machine() -> str:
    """'2 cores (nproc), AMD EPYC, 23 GiB RAM, torch 2.13.0+cpu, no GPU': for the README."""
    cores = os.cpu_count() or 0
    try:
        # --all: plain nproc honours OMP_NUM_THREADS, which --threads sets.
        out = subprocess.run(["nproc", "--all"], capture_output=True, text=True).stdout
        nproc = int(out.strip())
    except (OSError, ValueError):
        nproc = cores
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except (OSError, ValueError, IndexError):
        pass
    gpu = "no GPU"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
        torch_text = f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_text = ""
    return f"{nproc} cores (nproc), {cpu}{ram}{torch_text}, {gpu}"
