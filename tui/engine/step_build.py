"""`python -m tui.engine.step_build`: compile one decode-step package in a child process.

Why a child: a compile is minutes of Python holding the GIL, and a reply's `generate` needs
the GIL after every torch op, so a reply beside an in-process compile ran at a quarter of its
speed. In its own process the compile only takes a core; its memory (the export, autotuning
buffers) is returned when it exits; and a crash in the C++ toolchain cannot take the app down.
The price is a second load of the model, checked to be the same weights (the fingerprint of
step_store.py) before anything is built.

Protocol: one JSON request on stdin (`spec`: the LoadSpec's fields; `bucket`; `weights`: the
parent's fingerprint; `threads`: the parent's thread count, or null when it has none yet,
and this child measures it); lines on stdout, each starting with `@`:
`@progress <0..1> <what>`, `@threads <n>`, `@done <package path> <seconds>`, `@error <why>`.
Anything else on stdout or stderr is noise from libraries and is ignored.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import fields
from typing import Any


def _say(*parts: object) -> None:
    print("@" + " ".join(str(p) for p in parts), flush=True)


def run(request: dict[str, Any]) -> int:
    from tui.engine import aot_decode, cpu_threads, step_store
    from tui.engine.backend import EngineError, LoadSpec
    from tui.engine.transformers_backend import TransformersBackend

    known = {f.name for f in fields(LoadSpec)}
    spec = LoadSpec(**{k: v for k, v in request["spec"].items() if k in known})
    bucket = int(request["bucket"])
    _say("progress", 0.0, "loading the model")
    backend = TransformersBackend(fast="off")
    try:
        backend.load(spec)
    except EngineError as exc:
        _say("error", exc.message)
        return 1
    model = backend.model
    weights = step_store.fingerprint(model)
    if request.get("weights") and weights != request["weights"]:
        _say("error", "the model on disk is not the one loaded (it changed since)")
        return 1
    if request.get("threads"):
        choice = cpu_threads.adopt(int(request["threads"]))  # the parent's: the package is its
    else:  # the parent has none yet: this child measures it (on the model it just loaded)
        _say("progress", 0.01, "timing 1 thread against all cores")
        choice = cpu_threads.measure(model)
    _say("threads", choice.threads)
    import torch

    key = step_store.key_for(
        model, aot_decode.storage_of(model), bucket, torch.get_num_threads(), weights
    )
    with step_store.build_lock(key) as mine:
        if not mine:
            _say("progress", 0.05, "another tchat is compiling it: waiting")
            step_store.wait_for_builder(key)
        if step_store.ready(key):
            _say("done", key.package, step_store.read_meta(key).get("compile_s", 0))
            return 0
        seconds = aot_decode.build(
            model, bucket, key.package, lambda f, t: _say("progress", f"{f:.3f}", t)
        )
        step_store.write_meta(
            key, compile_s=round(seconds, 1), model=backend.info.id if backend.info else ""
        )
    step_store.prune(keep=key.package)
    _say("done", key.package, f"{seconds:.1f}")
    return 0


def _exit_with_parent() -> None:
    """Exit when the parent is gone (reparented): tchat may end through `os._exit` (the
    lifeline's bounded exit), which runs no atexit handler that could stop this process."""
    import os
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, name="tchat-parent-watch", daemon=True).start()


def main() -> int:
    import os

    _exit_with_parent()
    with contextlib.suppress(OSError):
        os.nice(10)  # replies and the UI come first; nobody waits on a compile
    try:
        request = json.loads(sys.stdin.read())
        return run(request)
    except Exception as exc:  # noqa: BLE001 - told to the parent, which turns the path off
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        _say("error", f"{type(exc).__name__}: {text}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
