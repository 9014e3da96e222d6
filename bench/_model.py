"""The default model, loaded once per bench run, and the two ways of timing a decode.

All model benchmarks ask the same question of the same model with greedy settings, so their
figures can be compared with each other, and with llama.cpp's on the same GGUF file.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

from tui.engine.backend import LoadSpec, ModelInfo, ProgressFn
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings

# A prompt the default model answers at length; every reply is held to the full count anyway
# (BenchBackend), since a quantized or compiled path may end its story sooner.
PROMPT = [{"role": "user", "content": "Write a long story about a dragon who learns to code."}]
NEW_TOKENS = 128
GREEDY = GenerationSettings(max_new_tokens=NEW_TOKENS, do_sample=False, repetition_penalty=1.0)

# Fixed questions for the quality check of a quantized path: greedy answers should stay close.
QUALITY_QUESTIONS = (
    ("What is the capital of France?", "Paris"),
    ("Name three primary colors.", "Red"),
    ("What is the opposite of hot?", "cold"),
)


class BenchBackend(TransformersBackend):
    """The real engine, as the bench needs it.

    - Every reply runs to the full token count: `generate` gets `min_new_tokens` equal to
      `max_new_tokens` (end of turn is held back), so a model that would end its story after
      24 tokens cannot crash a speed row ("expected 128 tokens"). Bench only: it wraps the
      loaded model's `generate`, nothing in the engine or in saved settings changes.
      `free_length()` turns it off for the quality checks, whose answers end where the model
      ends them.
    - `load` keeps the model already loaded: apps started one after another in one bench run
      share it, instead of each loading it again.
    """

    fixed_length = True

    def load(self, spec: LoadSpec, progress: ProgressFn | None = None) -> ModelInfo:
        if self.info is not None:
            return self.info
        info = super().load(spec, progress)
        _hold_end_of_turn(self)
        return info


# The old name: apps in the bench were given a PreloadedBackend.
PreloadedBackend = BenchBackend


def _hold_end_of_turn(b: BenchBackend) -> None:
    model = b.model
    real = model.generate

    def generate(*args: Any, **kwargs: Any) -> Any:
        if b.fixed_length and kwargs.get("max_new_tokens") and "min_new_tokens" not in kwargs:
            kwargs["min_new_tokens"] = kwargs["max_new_tokens"]
        return real(*args, **kwargs)

    model.generate = generate


@contextlib.contextmanager
def free_length(b: TransformersBackend) -> Iterator[None]:
    """Replies of `b` end where the model ends them, inside the block (quality checks)."""
    before = getattr(b, "fixed_length", False)
    if isinstance(b, BenchBackend):
        b.fixed_length = False
    try:
        yield
    finally:
        if isinstance(b, BenchBackend):
            b.fixed_length = before


@cache
def backend(fast: str = "off") -> BenchBackend:
    """The bench's model (the bundled default unless `--model`) behind the real engine; one
    per fast mode, loaded on first use."""
    return load_backend(LoadSpec(model=os.environ.get("TCHAT_BENCH_MODEL", "")), fast)


def load_backend(spec: LoadSpec, fast: str = "off") -> BenchBackend:
    """Another load of a model (a quantized one, say) behind the bench's engine."""
    b = BenchBackend(fast=fast)
    b.load(spec)
    return b


def engine_decode_tps(b: TransformersBackend, settings: GenerationSettings = GREEDY) -> float:
    """Decode tokens/s of one reply through the engine (streamer timestamps, first to last)."""
    reply = b.stream(PROMPT, settings, threading.Event())
    for _ in reply:
        pass
    if reply.error or not reply.stats.decode_tps:
        raise RuntimeError(f"reply failed: {reply.error or reply.stats}")
    if reply.stats.new_tokens != settings.max_new_tokens:
        raise RuntimeError(f"expected {settings.max_new_tokens} tokens, got {reply.stats}")
    return reply.stats.decode_tps


def raw_generate_s(model: Any, tokenizer: Any, new_tokens: int, **extra: Any) -> float:
    """Seconds for one bare `model.generate` call (no streamer, no stopping criteria)."""
    import torch

    enc = tokenizer.apply_chat_template(
        PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    enc = {k: v.to(model.device) for k, v in enc.items()}
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **enc,
            max_new_tokens=new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            repetition_penalty=1.0,
            pad_token_id=tokenizer.pad_token_id,
            **extra,
        )
    elapsed = time.perf_counter() - started
    got = out.shape[-1] - enc["input_ids"].shape[-1]
    if got != new_tokens:
        raise RuntimeError(f"raw generate made {got} tokens, not {new_tokens}")
    return elapsed


def raw_decode_tps(model: Any, tokenizer: Any, new_tokens: int = NEW_TOKENS) -> float:
    """Decode tokens/s of bare `generate`: (N-1) / (time(N tokens) - time(1 token)).

    The difference removes the prompt's prefill and generate's set-up, which the engine's
    figure (first token to last) does not count either."""
    one = raw_generate_s(model, tokenizer, 1)
    full = raw_generate_s(model, tokenizer, new_tokens)
    return (new_tokens - 1) / (full - one)


def greedy_answer(b: TransformersBackend, question: str, tokens: int = 40) -> str:
    """The model's own greedy answer (ending where it ends it), for quality checks."""
    settings = GenerationSettings(max_new_tokens=tokens, do_sample=False, repetition_penalty=1.0)
    with free_length(b):
        reply = b.stream([{"role": "user", "content": question}], settings, threading.Event())
        return "".join(reply).strip()
