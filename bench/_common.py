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
    else:
        # What tchat itself uses here: the thread count measured for this machine, if it was
        # (tui/engine/cpu_threads.py); the machine line and llama.cpp then say the same.
        from tui.engine import cpu_threads

        cpu_threads.apply()
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
    """The machine line of a bench run: CPU model and the flags that pick kernels (AVX2,
    AVX-512 with VNNI/BF16, AMX), cores, the threads torch uses, torch's CPU kernel level,
    RAM and GPU. Machines differ (an EPYC with AVX-512 BF16 and one with AVX2 only read the
    same "2 cores"), so a table is only read with its machine line."""
    from tui.hardware import cpu_features

    cpu = cpu_features.read()
    try:
        # --all: plain nproc honours OMP_NUM_THREADS, which --threads sets.
        out = subprocess.run(["nproc", "--all"], capture_output=True, text=True).stdout
        nproc = int(out.strip())
    except (OSError, ValueError):
        nproc = cpu.cores
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except (OSError, ValueError, IndexError):
        pass
    gpu = "no GPU"
    torch_text = ""
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
        torch_text = (
            f", torch {torch.__version__} (CPU kernels {torch.backends.cpu.get_cpu_capability()}, "
            f"{torch.get_num_threads()} thread(s) used)"
        )
    except ImportError:
        pass
    load = ""
    try:
        load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        pass
    return (
        f"{cpu.model}, {cpu.summary()}, {nproc} cores (nproc){ram}{torch_text}, {gpu}"
        f"{load}, {platform.system()}"
    )


def load_average() -> str:
    """'load 1.2': the host's 1-minute load average, for the detail of a timed row (a shared
    machine's other jobs move single runs by several percent)."""
    try:
        return f"load {os.getloadavg()[0]:.1f}"
    except OSError:
        return "load ?"
