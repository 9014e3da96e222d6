"""The fast generation path: a static KV cache plus a `torch.compile`d decode step.

Why: for a small model, plain `generate` spends much of each decode step in Python and in
re-allocating a growing (dynamic) KV cache. A static cache has fixed shapes, so the forward
pass can be compiled once (inductor fuses the small ops; on a GPU the compile mode also
captures CUDA graphs, which removes the per-kernel launch cost). `bench/fast_vs_plain.py`
measures what it gives.

Why it is careful about *when*: compiling takes tens of seconds on a small CPU (a few seconds
once inductor's on-disk cache is warm). So the compile never happens on a user's reply:
`FastPath.warm` runs one short generate per cache size in a background thread, and until a size
is warm, replies use plain `generate` (`generate_kwargs` returns None). A failed compile (no C++
compiler, an unsupported model) only turns the fast path off; plain generation goes on.

Cache sizes come in buckets (powers of two from 512 up to the model's context length): a
static cache is attended over its whole length at every step, so a 512-token chat must not pay
for an 8k cache, and each bucket is one compiled graph (`dynamic=False`), warmed on demand.

Greedy output equals plain `generate`'s (tests/unit/test_fast_path.py): the same model and
logits processors run, only the cache layout and the kernels differ.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from typing import Any

from tui import paths

log = logging.getLogger(__name__)

FAST_MODES = ("auto", "on", "off")

# "auto" means GPU only. On the CPU the path did not pay where it was measured: SmolLM2-135M
# on a 2-core AMD EPYC (AVX2) decoded 1.02x (1 thread) and 1.05x (2 threads) faster with it,
# for a 10-40 s compile (bench/fast_vs_plain.py). A CPU decode step is bound by reading the
# weights, which compiling does not shrink; 8-bit weights do (cpu_quant.py, 2.3x). "on" still
# turns it on anywhere, for CPUs where it does pay.

MIN_BUCKET = 512
# A warm-up reply: a few decode steps run the compiled graph (and record CUDA graphs).
WARMUP_NEW_TOKENS = 4
# Two compiles at once (two buckets, or two models) would only slow each other down.
_ONE_COMPILE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class FastDecision:
    """Whether the fast path is used for a loaded model, and why (shown to the user)."""

    use: bool
    reason: str


def decide(mode: str, model: Any) -> FastDecision:
    """Apply `mode` ("auto" | "on" | "off") to a loaded model."""
    if mode not in FAST_MODES:
        raise ValueError(f"fast must be one of {FAST_MODES}, not {mode!r}")
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
    if mode == "on":
        return FastDecision(True, "on (asked for)")
    if not on_cpu:
        return FastDecision(True, "on: static cache + compile with CUDA graphs")
    return FastDecision(False, "off on the CPU: compiling gained under 5% here (--fast forces it)")


def start(mode: str, model: Any, tokenizer: Any) -> tuple[FastPath | None, str]:
    """What the backend calls once a model is loaded: decide, and if the fast path is on,
    start warming its first cache bucket in the background. Returns (path or None, reason)."""
    decision = decide(mode, model)
    if not decision.use:
        return None, decision.reason
    path = FastPath(model, tokenizer)
    path.warm()
    return path, decision.reason


def _have_cxx() -> bool:
    return any(shutil.which(c) for c in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if c)


def use_persistent_compile_cache() -> None:
    """Keep inductor's compiled kernels in tchat's cache folder: the next launch compiles in
    seconds instead of tens of seconds. (Default is /tmp, lost at reboot.) A user's own
    TORCHINDUCTOR_CACHE_DIR wins."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(paths.cache_dir() / "inductor"))


class FastPath:
    """Static-cache + compiled generation for one loaded model, warmed in the background.

    `generate_kwargs(prompt_len, max_new_tokens)` gives the extra `generate` arguments for a
    reply when the right cache bucket is warm, and None otherwise (then it starts warming that
    bucket, for the next reply). `enabled` may be flipped at any time (the bench does, to
    measure plain and fast on one model); a reply already running keeps its path.
    """

    def __init__(self, model: Any, tokenizer: Any, compile_mode: str | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.enabled = True
        on_cpu = model.device.type == "cpu"
        # On a GPU, reduce-overhead = CUDA graphs. On the CPU there is nothing to graph: the
        # plain inductor mode (fused C++ kernels) is what pays.
        self.compile_mode = compile_mode or ("default" if on_cpu else "reduce-overhead")
        limit = getattr(model.config, "max_position_embeddings", None) or 4096
        self.buckets = _buckets(limit)
        self.compile_s: dict[int, float] = {}  # seconds each warm bucket took to warm up
        self.error: str | None = None  # set when warming failed: the path is then off
        self._ready: set[int] = set()
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
        bucket = self.bucket_for(prompt_tokens + max_new_tokens)
        if bucket is None:
            return None
        if not self.is_warm(bucket):
            self.warm(bucket)  # ready for a later reply; this one must not wait
            return None
        return self._kwargs(bucket)

    def _kwargs(self, bucket: int) -> dict[str, Any]:
        import torch
        from transformers import StaticCache

        # A fresh cache per reply: `generate` treats a cache that holds tokens as a prefix of
        # the prompt. Its layers are allocated lazily, at the (eager) prefill. Made under
        # inference mode, always: the compiled graph is guarded on its tensors' dispatch keys,
        # so a cache made outside it (as `stream` would) forces a full recompile.
        with torch.inference_mode():
            cache = StaticCache(config=self.model.config, max_cache_len=bucket)
        return {"cache": cache, "compile_config": self._compile_config}

    def _make_compile_config(self) -> Any:
        from transformers import CompileConfig

        config = CompileConfig(fullgraph=False, dynamic=False, mode=self.compile_mode)
        # transformers compiles automatically only on accelerators; this flag allows the CPU.
        config._compile_all_devices = True  # type: ignore[assignment]
        return config

    # ---- warming -------------------------------------------------------------------------

    def warm(self, bucket: int | None = None) -> threading.Thread | None:
        """Compile the decode step for `bucket` (default: the smallest) in a daemon thread.

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
            thread = threading.Thread(
                target=self._warm, args=(bucket,), name=f"tchat-compile-{bucket}", daemon=True
            )
            self._warming[bucket] = thread
        use_persistent_compile_cache()
        thread.start()
        return thread

    def _warm(self, bucket: int) -> None:
        import torch

        try:
            with _ONE_COMPILE_AT_A_TIME:
                started = time.perf_counter()
                ids = self.tokenizer("Hello", return_tensors="pt")["input_ids"].to(
                    self.model.device
                )
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

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the warm-ups in flight; True if at least one bucket is warm."""
        with self._lock:
            threads = list(self._warming.values())
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            return bool(self._ready)


def _buckets(limit: int) -> tuple[int, ...]:
    """512, 1024, 2048, ... up to the context length (which is always the last bucket)."""
    sizes = []
    size = MIN_BUCKET
    while size < limit:
        sizes.append(size)
        size *= 2
    sizes.append(limit)
    return tuple(sizes)
