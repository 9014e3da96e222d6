"""The fast generation path: a static KV cache plus a `torch.compile`d decode step.

Why: for a small model, plain `generate` spends much of each decode step in Python and in
re-allocating a growing (dynamic) KV cache. A static cache has fixed shapes, so the forward
pass can be compiled once (inductor fuses the small ops; on a GPU the compile mode also
captures CUDA graphs, which removes the per-kernel launch cost). `bench/fast_vs_plain.py`
measures what it gives.

Why it is careful about *when*: compiling takes tens of seconds (on a small CPU one to two
minutes), and it is mostly Python holding the GIL, which a reply's `generate` needs after every
torch op: a reply beside a compile ran at a quarter of its speed (at 0.4 tok/s before the
switch interval below). So a compile never starts during a reply: a reply whose cache size is
not warm uses plain `generate` (`generate_kwargs` returns None) and notes the size, and
`reply_done` warms it in a background thread (`FastPath.warm`: one short generate) once the
reply is over, while the user reads it. A failed compile (no C++ compiler, an unsupported
model) only turns the fast path off; plain generation goes on.

Cache sizes come in buckets (powers of two from 512 up to the model's context length): a
static cache is attended over its whole length at every step (on a GPU; the CPU step reads
only its filled part, but its eager prefill still attends over all of it), so a 512-token chat
must not pay for an 8k cache, and each bucket is one compiled graph, warmed on demand. On the
CPU the path ends at CPU_MAX_BUCKET.

On the CPU the gain comes from somewhere else: a decode step there is one-row matmuls, and
MKL's kernel for those reads the weights at about 40% of the memory bandwidth on the AMD EPYC
we measured. Inductor's max-autotune mode has its own C++ micro-GEMM, which wins on every
shape of the model once the weights are *frozen* (packed into its layout at compile time):
about 2.1x the decode speed of plain `generate` on the default model. inductor's own caches
do not keep frozen graphs, so the CPU step is compiled ahead of time instead (AOTInductor,
aot_decode.py) into a package kept on disk per model, size and machine (cpu_steps.py,
step_store.py): compiled once, in a child process, with its progress in the gauges; every
later launch loads it in seconds (`preload`). Each loaded bucket holds a packed copy of the
weights (so a bucket is loaded only where RAM allows, see `_cpu_has_room`). 4-bit weights
(cpu_int4.py) compile the same way, with inductor's int4 micro-GEMM.

Greedy output equals plain `generate`'s (tests/unit/test_fast_path.py): the same model and
logits processors run, only the cache layout and the kernels differ.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tui import paths

log = logging.getLogger(__name__)

FAST_MODES = ("auto", "on", "off")

# "auto" means on wherever it pays: on a GPU always (CUDA graphs), on the CPU where a C++
# compiler exists and RAM holds the packed copy of the weights. TCHAT_FAST=on|off in the
# environment replaces "auto" (the test suite sets off: a real model's CPU compile takes a core
# for a minute or two at every launch).
ENV_VAR = "TCHAT_FAST"

MIN_BUCKET = 512
# A warm-up reply: a few decode steps run the compiled graph (and record CUDA graphs).
WARMUP_NEW_TOKENS = 4
# Two compiles at once (two buckets, or two models) would only slow each other down.
_ONE_COMPILE_AT_A_TIME = threading.Lock()
# Where the CPU path ends: longer chats go plain. Measured when a step attended over its whole
# cache (the default model decoded at 35 tok/s with a 512-token cache, 30 with 1,024, 19 with
# 2,048, against 15 plain); the step now reads only the filled part (aot_decode.py), so larger
# sizes would pay too, at a compile (minutes) and the cache's RAM each: not measured yet.
CPU_MAX_BUCKET = 2048
# Python's thread switch interval while a compile runs. A compile is minutes of pure Python
# holding the GIL, and a reply's generate needs the GIL back after every torch op; at the
# default 5 ms it got it about 200 times a second, and a plain reply on the CPU crawled at
# 0.4 tok/s beside the compile (measured). At 0.1 ms it ran at 12.7 (15.2 alone); the UI thread
# gains alike. The compile is slower for it, which nobody waits on.
COMPILE_SWITCH_INTERVAL_S = 0.0001


@dataclass(frozen=True)
class FastDecision:
    """Whether the fast path is used for a loaded model, and why (shown to the user)."""

    use: bool
    reason: str


def decide(mode: str, model: Any) -> FastDecision:
    """Apply `mode` ("auto" | "on" | "off") to a loaded model."""
    if mode not in FAST_MODES:
        raise ValueError(f"fast must be one of {FAST_MODES}, not {mode!r}")
    if mode == "auto" and os.environ.get(ENV_VAR, "") in ("on", "off"):
        mode = os.environ[ENV_VAR]
    if mode == "off":
        return FastDecision(False, "off (asked for)")
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None and not getattr(quantizer, "is_compileable", False):
        return FastDecision(False, "off: this quantization cannot be compiled")
    if getattr(model, "tchat_int8", False):
        return FastDecision(False, "off: int8 CPU weights run faster uncompiled")
    if not getattr(model, "_can_compile_fullgraph", True) and mode == "auto":
        return FastDecision(False, "off: this model does not support a static cache")
    device = getattr(model, "device", None)
    on_cpu = getattr(device, "type", "cpu") == "cpu"
    if on_cpu and not _have_cxx():
        return FastDecision(False, "off: torch.compile on the CPU needs a C++ compiler")
    if on_cpu:
        from tui.engine import aot_decode

        why = aot_decode.supported(model)
        if why is not None:
            return FastDecision(False, f"off: {why}")
    if mode == "on":
        return FastDecision(True, "on (asked for)")
    if not on_cpu:
        return FastDecision(True, "on: static cache + compile with CUDA graphs")
    if not _cpu_has_room(model):
        return FastDecision(False, "off: too little free RAM for its packed copy of the weights")
    return FastDecision(True, "on: static cache + compiled C++ kernels")


def start(
    mode: str, model: Any, tokenizer: Any, spec: Any | None = None
) -> tuple[FastPath | None, str]:
    """What the backend calls once a model is loaded: decide whether the fast path is on.
    Nothing compiles yet: the first reply says which cache size it needs, and that one is
    warmed once it is over (`FastPath.reply_done`). On the CPU, steps compiled by an earlier
    launch are loaded now, in the background (`preload`). `spec` is how the model was loaded
    (a CPU compile loads it again in a child process). Returns (path or None, reason).

    On the CPU this also sets torch's thread count to the one measured for this machine
    (cpu_threads.py), fast path or not."""
    if getattr(getattr(model, "device", None), "type", "cpu") == "cpu":
        from tui.engine import cpu_threads

        cpu_threads.apply()
    decision = decide(mode, model)
    if not decision.use:
        return None, decision.reason
    path = FastPath(model, tokenizer, spec=spec)
    path.preload()
    return path, decision.reason


def _have_cxx() -> bool:
    return any(shutil.which(c) for c in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if c)


def _cpu_has_room(model: Any) -> bool:
    """A frozen CPU graph holds its own packed copy of the weights (measured: about 1.7x
    their size, compile-time buffers included): warm one only with that much RAM free and
    1 GiB to spare for the chat itself."""
    import psutil

    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    need = 2 * weights + (1 << 30)
    return bool(psutil.virtual_memory().available > need)


def use_persistent_compile_cache() -> None:
    """Keep inductor's compiled kernels in tchat's cache folder: on a GPU the next launch
    compiles in seconds instead of tens of seconds; on the CPU (frozen graphs are not cached)
    it keeps the autotuning results, 101 s -> 71 s here. (Default is /tmp, lost at reboot.) A
    user's own TORCHINDUCTOR_CACHE_DIR wins."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(paths.cache_dir() / "inductor"))


class FastPath:
    """Static-cache + compiled generation for one loaded model, warmed in the background.

    `generate_kwargs(prompt_len, max_new_tokens)` gives the extra `generate` arguments for a
    reply when the right cache bucket is warm, and None otherwise (then it starts warming that
    bucket, for the next reply). `enabled` may be flipped at any time (the bench does, to
    measure plain and fast on one model); a reply already running keeps its path.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        compile_mode: str | None = None,
        spec: Any | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.enabled = True
        self.on_cpu = model.device.type == "cpu"
        # On a GPU, reduce-overhead = CUDA graphs. On the CPU there is nothing to graph: what
        # pays is max-autotune's C++ micro-GEMM on frozen weights (see the module's docstring),
        # compiled ahead of time into a package kept on disk (cpu_steps.py).
        self.compile_mode = compile_mode or (
            "max-autotune-no-cudagraphs" if self.on_cpu else "reduce-overhead"
        )
        self.steps: Any = None
        self.preloading: threading.Thread | None = None  # loading earlier launches' steps
        if self.on_cpu:
            from tui.engine.cpu_steps import CpuSteps

            self.steps = CpuSteps(model, spec)
        limit = getattr(model.config, "max_position_embeddings", None) or 4096
        self.buckets = _buckets(limit)
        if self.on_cpu:
            self.buckets = tuple(b for b in self.buckets if b <= CPU_MAX_BUCKET) or self.buckets[:1]
        self.compile_s: dict[int, float] = {}  # seconds each warm bucket took to warm up
        self.error: str | None = None  # set when warming failed: the path is then off
        self._ready: set[int] = set()
        self._wanted: int | None = None  # the size a reply lacked, warmed after it
        self._warming: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self._compile_config = self._make_compile_config()

    # ---- state ---------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """'off', 'failed', 'warming', 'ready' or 'idle' (nothing warmed yet): for the UI."""
        if not self.enabled:
            return "off"
        if self.error:
            return "failed"
        with self._lock:
            if self._warming:
                return "warming"
            return "ready" if self._ready else "idle"

    def status(self) -> str:
        """One line for the gauges: a compile's progress, or how replies will run."""
        state = self.state
        if state == "warming" and self.steps is not None and self.steps.progress is not None:
            p = self.steps.progress
            spent = time.monotonic() - p.started
            so_far = f"{spent / 60:.0f} min" if spent >= 90 else f"{spent:.0f} s"
            return f"compiling {p.fraction:.0%} · {p.doing} · {so_far} so far"
        if state == "warming" and self.steps is not None and self.steps.loading:
            return "loading the compiled step"
        if state == "warming":
            return "compiling"
        if state == "failed":
            return "compile failed: plain replies"
        if state == "ready":
            return "compiled"
        return "" if state == "off" else "not compiled yet"

    def is_warm(self, bucket: int) -> bool:
        with self._lock:
            return bucket in self._ready

    def bucket_for(self, total_tokens: int) -> int | None:
        """The smallest cache size that holds `total_tokens`, or None if none does."""
        return next((b for b in self.buckets if b >= total_tokens), None)

    # ---- use -----------------------------------------------------------------------------

    def generate_kwargs(self, prompt_tokens: int, max_new_tokens: int) -> dict[str, Any] | None:
        """Extra `generate` kwargs for the fast path, or None to generate plainly this time."""
        if not self.enabled or self.error:
            return None
        need = prompt_tokens + max_new_tokens
        with self._lock:
            warm = sorted(b for b in self._ready if b >= need)
        if warm:
            return self._kwargs(warm[0])
        # Warmed when this reply is over: it neither waits nor shares the CPU with a compile.
        # None when no size holds it (the context, or on the CPU CPU_MAX_BUCKET): plain.
        self._wanted = self.bucket_for(need)
        return None

    def reply_done(self) -> None:
        """A reply ended: warm the cache size it lacked, if any (see `warm`)."""
        bucket, self._wanted = self._wanted, None
        if bucket is not None:
            self.warm(bucket)

    def _kwargs(self, bucket: int) -> dict[str, Any]:
        import torch
        from transformers import StaticCache

        # A fresh cache per reply: `generate` treats a cache that holds tokens as a prefix of
        # the prompt. Its layers are allocated lazily, at the (eager) prefill. Made under
        # inference mode, always: the compiled graph is guarded on its tensors' dispatch keys,
        # so a cache made outside it (as `stream` would) forces a full recompile.
        with torch.inference_mode():
            cache = StaticCache(config=self.model.config, max_cache_len=bucket)
        if self.steps is not None:
            from tui.engine import aot_decode

            runner = self.steps.runners[bucket]
            return {"cache": cache, "compile_config": aot_decode.step_config(runner)}
        return {"cache": cache, "compile_config": self._compile_config}

    def _make_compile_config(self) -> Any:
        from transformers import CompileConfig

        config = CompileConfig(fullgraph=False, dynamic=False, mode=self.compile_mode)
        # transformers compiles automatically only on accelerators; this flag allows the CPU.
        config._compile_all_devices = True  # type: ignore[assignment]
        return config

    # ---- warming -------------------------------------------------------------------------

    def warm(self, bucket: int | None = None, build: bool = True) -> threading.Thread | None:
        """Get the decode step for `bucket` (default: the smallest) ready, in a daemon thread:
        on the CPU load its package, building it first if there is none (or, with `build`
        False, only load one that is already on disk); on a GPU compile it.

        Returns the thread (join it to wait, as tests and the bench do), or None when the
        bucket is warm already or the path is off. Buckets warm one at a time."""
        bucket = bucket or self.buckets[0]
        if not self.enabled or self.error:
            return None
        with self._lock:
            if bucket in self._ready:
                return None
            if bucket in self._warming:
                return self._warming[bucket]
            if self.on_cpu and self._ready and not _cpu_has_room(self.model):
                return None  # another packed copy would not fit: this size stays plain
            thread = threading.Thread(
                target=self._warm, args=(bucket, build), name=f"tchat-compile-{bucket}", daemon=True
            )
            self._warming[bucket] = thread
        use_persistent_compile_cache()
        thread.start()
        return thread

    def preload(self) -> threading.Thread | None:
        """Load, in the background, the CPU steps an earlier launch compiled for this model
        (no compile): replies then run compiled from the first one that fits."""
        if self.steps is None:
            return None

        def load_all() -> None:
            for bucket in self.buckets:
                try:
                    present = self.steps.on_disk(bucket)
                except Exception:  # noqa: BLE001 - a broken cache only means no preload
                    return
                if present:
                    thread = self.warm(bucket, build=False)
                    if thread is not None:
                        thread.join()

        thread = threading.Thread(target=load_all, name="tchat-preload", daemon=True)
        self.preloading = thread
        thread.start()
        return thread

    def _warm(self, bucket: int, build: bool = True) -> None:
        try:
            with _ONE_COMPILE_AT_A_TIME:
                started = time.perf_counter()
                if self.steps is not None:
                    in_process = self.steps.spec is None
                    with _eager_thread_switches() if in_process else contextlib.nullcontext():
                        runner = self.steps.ensure(bucket, build=build)
                    if runner is None:
                        return  # not on disk, and only loading was asked for
                else:
                    self._compile_on_gpu(bucket)
                elapsed = time.perf_counter() - started
            with self._lock:
                self._ready.add(bucket)
                self.compile_s[bucket] = elapsed
        except Exception as exc:  # noqa: BLE001 - any failure only turns the fast path off
            self.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
            log.warning("fast path off: warming the %d-token cache failed: %s", bucket, exc)
        finally:
            with self._lock:
                self._warming.pop(bucket, None)

    def _compile_on_gpu(self, bucket: int) -> None:
        """torch.compile's own cache keeps a GPU graph across launches: a short generate
        compiles it (or finds it) and records its CUDA graphs."""
        import torch

        with _eager_thread_switches():
            ids = self.tokenizer("Hello", return_tensors="pt")["input_ids"].to(self.model.device)
            with torch.inference_mode():
                self.model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=WARMUP_NEW_TOKENS,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=self.tokenizer.pad_token_id,
                    **self._kwargs(bucket),
                )

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the warm-ups in flight; True if at least one bucket is warm."""
        with self._lock:
            threads = list(self._warming.values())
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            return bool(self._ready)


@contextlib.contextmanager
def _eager_thread_switches() -> Iterator[None]:
    """Switch threads every COMPILE_SWITCH_INTERVAL_S while compiling (see there). Only one
    compile runs at a time, so the interval it restores is the one it found."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(COMPILE_SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _buckets(limit: int) -> tuple[int, ...]:
    """512, 1024, 2048, ... up to the context length (which is always the last bucket)."""
    sizes = []
    size = MIN_BUCKET
    while size < limit:
        sizes.append(size)
        size *= 2
    sizes.append(limit)
    return tuple(sizes)
