"""How many CPU threads decode with: one core or all of them, measured once per machine.

Why: torch uses every core by default, and on a CPU decode that is not always faster. A decode
step is a chain of small matmuls, and a parallel op waits for its slowest thread: on a
2-core machine shared with other jobs, two threads decoded the default model more slowly and
far less steadily than one (bench, `--threads 1` against the default), while on an idle
16-core box all cores win. So tchat times a few decode steps both ways, once per machine,
keeps the faster (all cores only when clearly faster: they cost more power and steadiness,
and on a 2-core machine the second core is also the one the app's own threads need),
and caches it in `$XDG_CACHE_HOME/tchat/threads.json` (with the host's load average at the
time: a host busy with other jobs favours one thread; delete the file to measure again). The
gauges say which it uses.

The user's own choice wins and is never measured over: `TCHAT_THREADS`, or `OMP_NUM_THREADS`
(which torch itself honours).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui import paths

ENV_VAR = "TCHAT_THREADS"
# All cores must beat one by this much to be chosen...
MARGIN = 1.15
# ...and by this much on a machine of two cores, where the second one is also what tchat's own
# Python threads (the UI, the streamer, generate's loop) run on: there the compiled 4-bit
# decode ran at 48-50 tok/s on one thread and 30-55 on two, whose eager steps were 1.3x
# faster (2-core Xeon, measured).
SMALL_MACHINE_MARGIN = 1.5
STEPS = 12
# A decode step this quick (a toy or a tiny draft model) says more about starting threads
# than about a real model's matmuls: used in this process, not kept for the machine. (The
# test suite's tiny models once set the machine's choice for the default model's 30 ms steps.)
TOO_QUICK_TO_KEEP_S = 0.005
CACHE_VERSION = 1


@dataclass(frozen=True)
class Choice:
    """The thread count in use and where it came from, for the gauges."""

    threads: int
    source: str  # "yours" (environment), "measured", "default" (not measured yet)

    def text(self) -> str:
        unit = "thread" if self.threads == 1 else "threads"
        return f"{self.threads} {unit}" + (f" ({self.source})" if self.source != "default" else "")


# The choice this process made or was handed (a measurement not kept, or the compile child's),
# which wins over the cache: one process never decodes with two thread counts.
_chosen: Choice | None = None


def cache_file() -> Path:
    return paths.cache_dir() / "threads.json"


def all_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def configured() -> int | None:
    """The user's thread count from the environment, if any."""
    for name in (ENV_VAR, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def _machine() -> str:
    from tui.hardware.bandwidth import machine_key

    return machine_key()


def cached() -> dict[str, Any] | None:
    """The measurement saved for this machine, or None."""
    try:
        data = json.loads(cache_file().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return None
    entry = data.get("machines", {}).get(_machine())
    if not isinstance(entry, dict) or not isinstance(entry.get("threads"), int):
        return None
    return entry


def current() -> Choice:
    """The choice that applies now, without measuring."""
    mine = configured()
    if mine is not None:
        return Choice(mine, "yours")
    if _chosen is not None:
        return _chosen
    entry = cached()
    if entry is not None:
        return Choice(int(entry["threads"]), "measured")
    try:
        import torch

        return Choice(torch.get_num_threads(), "default")
    except ImportError:
        return Choice(all_cores(), "default")


def apply() -> Choice:
    """Set torch's thread count to the current choice (process-wide; new threads, such as
    each reply's generate thread, start with it)."""
    import torch

    choice = current()
    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)
    return choice


def _step_s(model: Any, threads: int) -> float:
    """Seconds per eager decode step (median of STEPS) with `threads` torch threads."""
    import torch
    from transformers import DynamicCache

    torch.set_num_threads(threads)
    times = []
    with torch.no_grad():
        cache = DynamicCache(config=model.config)
        ids = torch.ones((1, 8), dtype=torch.long, device=model.device)
        model(input_ids=ids, cache=cache, use_cache=True)
        one = ids[:, :1]
        for _ in range(STEPS):
            started = time.perf_counter()
            model(input_ids=one, cache=cache, use_cache=True)
            times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2]


def measure(model: Any) -> Choice:
    """Time decode steps of `model` on one thread and on all cores (twice each, alternating,
    so a burst of other work hits both), save the faster for this machine, and apply it."""
    mine = configured()
    if mine is not None:
        return Choice(mine, "yours")
    many = all_cores()
    if many == 1:
        _save(1, {1: 0.0})
        return adopt(1)
    best: dict[int, float] = {}
    for _ in range(2):
        for n in (1, many):
            s = _step_s(model, n)
            best[n] = min(best.get(n, s), s)
    margin = SMALL_MACHINE_MARGIN if many <= 2 else MARGIN
    threads = many if best[1] > best[many] * margin else 1
    if best[1] >= TOO_QUICK_TO_KEEP_S:
        _save(threads, best)
    return adopt(threads)


def adopt(threads: int) -> Choice:
    """Use `threads` for the rest of this process: a measurement made here or in the compile
    child (which reports what it built for, kept on disk or not)."""
    global _chosen
    import torch

    _chosen = Choice(threads, "measured")
    torch.set_num_threads(threads)
    return _chosen


def _save(threads: int, step_s: dict[int, float]) -> None:
    try:
        data = json.loads(cache_file().read_text())
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            data = {}
    except (OSError, ValueError):
        data = {}
    found = data.get("machines")
    machines: dict[str, Any] = found if isinstance(found, dict) else {}
    try:
        load = round(os.getloadavg()[0], 2)  # a busy host favours one thread: said, not hidden
    except OSError:
        load = None
    machines[_machine()] = {
        "threads": threads,
        "step_ms": {str(n): round(s * 1000, 2) for n, s in step_s.items()},
        "load_average": load,
        "measured": time.time(),
    }
    out = {"version": CACHE_VERSION, "machines": machines}
    with contextlib.suppress(OSError):
        paths.ensure_private_dir(cache_file().parent)
        tmp = cache_file().with_name(f".threads.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(out, indent=2) + "\n")
        os.replace(tmp, cache_file())
