"""threads: the CPU thread count tchat decodes with here, and the measurement behind it.

tchat times a few decode steps on one thread and on all cores, once per machine, and keeps
the faster (tui/engine/cpu_threads.py); this row reports what it chose and the step times it
measured, from its cache (the bench's own, `.test-cache/`). A `--threads N` run (or
OMP_NUM_THREADS / TCHAT_THREADS) is the user's own choice, which is never measured over.

tchat measures at its first CPU compile; a bench on a machine not measured yet measures
first (`ensure_measured`, on the default model), so that every row runs with the thread count
tchat settles on here, not the first rows with torch's default and the rest with the choice.
"""

from __future__ import annotations

from bench import Result
from bench._common import Run
from tui.engine import cpu_threads

NAME = "threads"


def ensure_measured() -> None:
    """Measure the thread choice on the default model if nothing chose it yet."""
    if cpu_threads.current().source != "default":
        return
    from tui.engine.backend import LoadSpec
    from tui.engine.transformers_backend import TransformersBackend

    backend = TransformersBackend(fast="off")
    backend.load(LoadSpec(model=""))
    print(f"threads: measuring ({cpu_threads.measure(backend.model).text()})", flush=True)
    backend.unload()


def run(run: Run) -> list[Result]:
    choice = cpu_threads.current()
    entry = cpu_threads.cached()
    if entry is None:
        measured = "not measured yet on this machine (the first CPU compile measures it)"
    else:
        steps = ", ".join(
            f"{n} thread(s) {ms:.1f} ms" for n, ms in sorted(entry.get("step_ms", {}).items())
        )
        load = entry.get("load_average")
        measured = f"measured once for this machine: eager decode step {steps}" + (
            f" (host load average then {load})" if load is not None else ""
        )
    return [
        Result(
            NAME,
            float(choice.threads),
            "threads",
            detail=f"in use: {choice.text()}; {measured}; {cpu_threads.all_cores()} cores",
        )
    ]
