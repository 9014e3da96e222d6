"""The compiled decode steps of one model on the CPU: found on disk, else built, then loaded.

fast_path.py decides when a cache size is wanted; this module gets its step: it looks for the
package (step_store.py: keyed by weights, storage, size, threads, torch, CPU), and when there
is none builds it in a child process (step_build.py) that reports its progress, then loads it
(aot_decode.py). The first build on a machine also times one thread against all cores
(cpu_threads.py), since a package is tuned for one thread count.

Without a LoadSpec (the child cannot know how to load the model again), or with
`TCHAT_STEP_BUILD=here`, the build runs in this process instead (in the caller's thread).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from tui.engine import aot_decode, cpu_threads, step_store

log = logging.getLogger(__name__)

BUILD_ENV = "TCHAT_STEP_BUILD"
_children: set[subprocess.Popen[str]] = set()
_children_lock = threading.Lock()


@dataclass
class Progress:
    """A build in flight: how far (0..1) and what it is doing, for the gauges."""

    fraction: float
    doing: str
    started: float


class CpuSteps:
    """Packages for one loaded model: which cache sizes are loaded, and getting another."""

    def __init__(self, model: Any, spec: Any | None = None) -> None:
        self.model = model
        self.spec = spec  # the LoadSpec it was loaded with: the child loads it the same way
        self.storage = aot_decode.storage_of(model)
        self.runners: dict[int, aot_decode.Runner] = {}
        self.progress: Progress | None = None
        self.built_s: dict[int, float] = {}  # compile seconds, this launch or an earlier one
        self.loaded_s: dict[int, float] = {}  # seconds to load each package
        self.from_disk: set[int] = set()  # sizes whose package was already on disk
        self.loading = False  # a package is being loaded (seconds), not built
        self._weights: str | None = None

    def weights(self) -> str:
        if self._weights is None:
            self._weights = step_store.fingerprint(self.model)
        return self._weights

    def key(self, bucket: int) -> step_store.StepKey:
        import torch

        return step_store.key_for(
            self.model, self.storage, bucket, torch.get_num_threads(), self.weights()
        )

    def on_disk(self, bucket: int) -> bool:
        return step_store.ready(self.key(bucket))

    def ensure(self, bucket: int, build: bool = True) -> aot_decode.Runner | None:
        """The loaded step for `bucket`: from disk, else built (if `build`) and loaded.
        Blocking (seconds to load, minutes to build); raises when a build fails."""
        if bucket in self.runners:
            return self.runners[bucket]
        cpu_threads.apply()
        key = self.key(bucket)
        if step_store.ready(key):
            try:
                runner = self._load(key, bucket)
                self.from_disk.add(bucket)
                return runner
            except Exception:
                # A package that does not load (cut short by a full disk, made by a toolchain
                # this machine's loader rejects) is of no use: remove it and build anew.
                step_store.discard(key)
                if not build:
                    raise
        if not build:
            return None
        if self.spec is not None and os.environ.get(BUILD_ENV, "child") != "here":
            self._build_in_child(bucket)
            cpu_threads.apply()  # the child's thread count (adopted from its report)
            key = self.key(bucket)
        else:
            self._build_here(bucket, key)
        if not step_store.ready(key):
            raise RuntimeError("the compiled step was built for another thread count")
        return self._load(key, bucket)

    def _load(self, key: step_store.StepKey, bucket: int) -> aot_decode.Runner:
        self.built_s.setdefault(bucket, float(step_store.read_meta(key).get("compile_s", 0.0)))
        started = time.perf_counter()
        self.loading = True
        try:
            runner = aot_decode.load(key.package, bucket, self.model)
        finally:
            self.loading = False
        aot_decode.attach(self.model)
        self.loaded_s[bucket] = time.perf_counter() - started
        step_store.touch(key)
        self.runners[bucket] = runner
        return runner

    # ---- building ------------------------------------------------------------------------

    def _build_here(self, bucket: int, key: step_store.StepKey) -> None:
        with step_store.build_lock(key) as mine:
            if not mine:
                self._report(0.05, "another tchat is compiling it: waiting")
                step_store.wait_for_builder(key)
            if step_store.ready(key):
                return
            seconds = aot_decode.build(self.model, bucket, key.package, self._report)
            step_store.write_meta(key, compile_s=round(seconds, 1))
        self.built_s[bucket] = seconds
        self.progress = None
        step_store.prune(keep=key.package)

    def _build_in_child(self, bucket: int) -> None:
        assert self.spec is not None
        spec = asdict(self.spec)
        spec["draft"] = None  # the draft plays no part in the main model's step
        spec.pop("endpoint", None)
        choice = cpu_threads.current()
        request = {
            "spec": spec,
            "bucket": bucket,
            "weights": self.weights(),
            "threads": choice.threads if choice.source != "default" else None,
        }
        self._report(0.0, "starting")
        log_path = step_store.folder() / "build.log"
        with open(log_path, "a", encoding="utf-8") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tui.engine.step_build"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                start_new_session=True,  # a Ctrl+C in the terminal is the app's to handle
            )
        with _children_lock:
            _children.add(proc)
        error = ""
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(request))
            proc.stdin.close()
            for line in proc.stdout:
                kind, _, rest = line.strip().partition(" ")
                if kind == "@progress":
                    fraction, _, doing = rest.partition(" ")
                    with contextlib.suppress(ValueError):
                        self._report(float(fraction), doing)
                elif kind == "@threads":
                    with contextlib.suppress(ValueError):
                        cpu_threads.adopt(int(rest))  # what the child measured and built for
                elif kind == "@done":
                    with contextlib.suppress(ValueError, IndexError):
                        self.built_s[bucket] = float(rest.rsplit(" ", 1)[1])
                elif kind == "@error":
                    error = rest
            code = proc.wait()
        finally:
            with _children_lock:
                _children.discard(proc)
            self.progress = None
        if code != 0:
            raise RuntimeError(error or f"the compile process ended with code {code}")

    def _report(self, fraction: float, doing: str) -> None:
        started = self.progress.started if self.progress else time.monotonic()
        self.progress = Progress(max(0.0, min(1.0, fraction)), doing, started)


@atexit.register
def _stop_children() -> None:
    """A compile in flight ends with tchat (the child also exits when it sees its parent
    gone, for the exits that skip atexit)."""
    with _children_lock:
        for proc in list(_children):
            with contextlib.suppress(OSError):
                proc.kill()
