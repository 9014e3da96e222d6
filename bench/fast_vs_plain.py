"""fast_vs_plain: the static cache + compiled decode step against plain `generate`.

Both through the engine's own `stream` on one loaded default model (the fast path switched
on and off between runs, alternating), greedy, same prompt and token count. Also reported:
how long the compile of the step took (on the CPU an AOTInductor package built once per
machine and kept on disk: "built now" on a fresh cache, else found and loaded in seconds, with
the time its build once took). The goal (>= 1.2) is the gain that would justify turning the
path on by default on a CPU.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench import Result
from bench._common import Run, load_average, median, spread
from bench._model import GREEDY, PROMPT, backend, engine_decode_tps, greedy_answer
from tui.engine import fast_path

NAME = "fast_vs_plain"


def run(run: Run) -> list[Result]:
    fast_path.use_persistent_compile_cache()
    cache_dir = Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    cache_was_warm = cache_dir.is_dir() and any(cache_dir.iterdir())
    b = backend("on")
    path = b.fast_path
    if path is None:
        return [Result(NAME, None, "x", skipped=True, detail=f"fast path off: {b.fast_note}")]
    bucket = path.bucket_for(b.count_tokens(PROMPT) + GREEDY.max_new_tokens)
    assert bucket is not None
    path.warm(bucket)  # what the app does after a first reply of this length
    if not path.wait(timeout=1800):
        return [Result(NAME, None, "x", detail=f"warm-up failed: {path.error}")]
    compile_s = path.compile_s[bucket]
    steps = path.steps
    if steps is not None:  # the CPU: a package, built now or found on disk
        found = bucket in steps.from_disk
        compile_s = steps.built_s.get(bucket, compile_s)
        kernels = "AOTInductor step, inductor C++ micro-GEMM on frozen weights"
        compile_note = (
            f"compiled step found on disk, loaded in {steps.loaded_s.get(bucket, 0):.1f} s "
            f"(its build once took {compile_s:.0f} s)"
            if found
            else f"compiled step built now ({compile_s:.0f} s, in a child process) and kept"
        )
    else:
        kernels = f"torch.compile mode {path.compile_mode!r}"
        compile_note = "inductor cache " + (
            "warm (a later launch)" if cache_was_warm else "cold (first launch)"
        )

    reps = run.reps(5, 3)
    plain: list[float] = []
    fast: list[float] = []
    texts: dict[bool, str] = {}
    for rep in range(reps + 1):  # the first pair is the warm-up
        for enabled, into in ((False, plain), (True, fast)):
            path.enabled = enabled
            tps = engine_decode_tps(b)
            if rep:
                into.append(tps)
            if rep == 1:
                texts[enabled] = greedy_answer(b, PROMPT[0]["content"], 48)
    path.enabled = True
    same = texts[False] == texts[True]
    ratio = median(fast) / median(plain)
    return [
        Result(
            NAME,
            ratio,
            "x",
            goal=(">=", 1.2),
            detail=(
                f"fast {spread(fast)} tok/s vs plain {spread(plain)} tok/s, "
                f"{bucket}-token static cache, {kernels}; "
                f"greedy text {'identical' if same else 'DIFFERS'}; median of {reps}; "
                f"{load_average()}"
            ),
        ),
        Result(
            "fast_compile",
            compile_s,
            "s",
            detail=(
                f"compile of the {bucket}-token step: {compile_note}; replies use plain "
                "generate meanwhile"
            ),
        ),
    ]
