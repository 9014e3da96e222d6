"""warm_start: `tchat -p` from launch to the first token of its answer, default model, warm.

"Warm" is a later launch: the GGUF is converted already and the OS has the files cached (a
first run pays the conversion, see default_load). The clock starts when the process is
spawned and stops at the first byte of the answer on stdout, so it holds everything a user
waits through: Python, tchat's imports, torch and transformers, the tokenizer and the
weights, the prompt's prefill and the first decode step. The goal: <= 2.5 s.

Where the time goes is measured in a second child that does the same steps one by one and
times each (the sum is close to the total): Python and tchat's own modules, `import torch`,
`import transformers` (and its model classes), the load itself, the first token.

`warm_start_kept` is the same launch with `--keep-alive` (tui/engine/kept): an earlier
`tchat -p --keep-alive` left the model loaded, so this one imports neither torch nor
transformers and loads nothing; its time is Python, tchat's modules, the socket, the prompt's
prefill and the first token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import Result
from bench._common import REPO, Run, load_average, median, spread

NAME = "warm_start"
PROMPT = "Say hello."

STAGES = """
import json, sys, time
t0 = float(sys.argv[1])
out = {"python": time.time() - t0}
mark = time.perf_counter()
def lap(name):
    global mark
    now = time.perf_counter()
    out[name] = now - mark
    mark = now
import tui.oneshot, tui.engine.transformers_backend
lap("tchat modules")
import torch
lap("import torch")
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
lap("import transformers")
import threading
from tui.engine.backend import LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings
b = TransformersBackend(fast="off")
b.load(LoadSpec(model=""))
lap("load (tokenizer, weights)")
stop = threading.Event()
reply = b.stream([{"role": "user", "content": sys.argv[2]}], GenerationSettings(max_new_tokens=8),
                 stop)
chunks = iter(reply)
next(chunks)
lap("prefill + first token")
stop.set()
for _ in chunks:
    pass
print("STAGES " + json.dumps(out))
"""


def _first_answer_byte_s(env: dict[str, str], sessions: Path, *extra: str) -> float:
    """Seconds from spawning `tchat -p` to the first byte it writes on stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "-p", PROMPT, "--sessions-dir", str(sessions), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    elapsed = time.perf_counter() - started
    proc.stdout.read()
    proc.wait(120)
    if not first:
        raise RuntimeError(f"tchat -p wrote no answer (exit {proc.returncode})")
    return elapsed


def _stages(env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", STAGES, repr(time.time()), PROMPT],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for line in out.stdout.splitlines():
        if line.startswith("STAGES "):
            return {k: float(v) for k, v in json.loads(line[7:]).items()}
    raise RuntimeError(f"stage timing failed: {out.stderr.strip()[-400:]}")


def run(run: Run) -> list[Result]:
    reps = run.reps(5, 3)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / "config"))
        env["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        env.pop("TCHAT_FAST", None)
        sessions = Path(tmp) / "s"
        _first_answer_byte_s(env, sessions)  # warm-up: converted model, OS file cache
        totals = []
        stage_runs: list[dict[str, float]] = []
        for _ in range(reps):
            totals.append(_first_answer_byte_s(env, sessions))
            stage_runs.append(_stages(env))
        kept = _kept_runs(env, sessions, reps)
    names = list(stage_runs[0])
    stages = {n: median([s[n] for s in stage_runs]) for n in names}
    where = ", ".join(f"{n} {v:.2f}" for n, v in stages.items())
    return [
        Result(
            NAME,
            median(totals),
            "s",
            goal=("<=", 2.5),
            detail=(
                f"tchat -p, launch to the first answer byte: {spread(totals, '{:.2f}')} s, "
                f"median of {reps}; where it goes (s, medians): {where} "
                f"(sum {sum(stages.values()):.2f}); {load_average()}"
            ),
        ),
        Result(
            "warm_start_kept",
            median(kept),
            "s",
            goal=("<=", 2.5),
            detail=(
                f"tchat -p --keep-alive, the model kept loaded by the launch before: "
                f"{spread(kept, '{:.2f}')} s, median of {reps} (no torch or transformers "
                f"import, no load)"
            ),
        ),
    ]


def _kept_runs(env: dict[str, str], sessions: Path, reps: int) -> list[float]:
    """Launch to first answer byte with the model kept loaded; the kept engine is stopped
    after (its own runtime folder: a short path, as a socket's must be)."""
    import shutil

    from tui.engine.kept import client

    runtime = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    kept_env = dict(env, XDG_RUNTIME_DIR=str(runtime))
    keep = ("--keep-alive", "5m")
    try:
        _first_answer_byte_s(kept_env, sessions, *keep)  # loads, then leaves one loaded
        deadline = time.monotonic() + 120
        while not list((runtime / "tchat").glob("*.sock")):  # bound once the model is loaded
            if time.monotonic() > deadline:
                raise RuntimeError(f"no kept engine came up (see {client.log_file()})")
            time.sleep(0.2)
        _first_answer_byte_s(kept_env, sessions, *keep)  # its first reply warms its caches
        return [_first_answer_byte_s(kept_env, sessions, *keep) for _ in range(reps)]
    finally:
        _first_answer_byte_s(kept_env, sessions, "--keep-alive", "0")  # unloads it
        shutil.rmtree(runtime, ignore_errors=True)
