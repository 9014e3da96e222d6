"""default_load: seconds to load the bundled default model, cold (first run) and warm.

Each load runs in a fresh process, timed by the engine itself (`ModelInfo.load_s`: from the
start of `load`, importing torch and transformers included, to the model ready). Cold uses an
empty temporary XDG_CACHE_HOME, so it includes the one-time GGUF-to-safetensors conversion;
warm loads the converted copy in the bench cache. Absolute seconds: there is nothing to
compare them with in the same run, so they have no goal (the README quotes them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from bench import Result
from bench._common import REPO, Run, median, spread

NAME = "default_load"

CHILD = """
from tui.engine.backend import LoadSpec
from tui.engine.transformers_backend import TransformersBackend
print("LOAD_S", TransformersBackend(fast="off").load(LoadSpec(model="")).load_s)
"""


def _load_s(env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    for line in out.stdout.splitlines():
        if line.startswith("LOAD_S "):
            return float(line.split()[1])
    raise RuntimeError(f"load failed: {out.stderr.strip()[-500:]}")


def run(run: Run) -> list[Result]:
    warm_times = [_load_s(dict(os.environ)) for _ in range(run.reps(3, 1))]
    with tempfile.TemporaryDirectory() as tmp:
        cold = _load_s(dict(os.environ, XDG_CACHE_HOME=tmp))
    return [
        Result(
            "default_load_cold",
            cold,
            "s",
            detail="first run: GGUF -> safetensors conversion + load, torch import included",
        ),
        Result(
            "default_load_warm",
            median(warm_times),
            "s",
            detail=f"later runs, from the converted copy: {spread(warm_times, '{:.2f}')} s",
        ),
    ]
