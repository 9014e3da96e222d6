"""vs_llama_cpp: our best CPU decode path against llama.cpp on the same GGUF file, same threads.

llama.cpp (through llama-cpp-python, the `bench` extra) runs the bundled Q4_1 GGUF directly;
tchat converts it to fp32 safetensors once and runs it in transformers. Our candidates, each
timed through the engine's `stream` with the same prompt, greedy, every reply held to the same
token count (bench/_model.py), alternating so that a burst of other work hits all alike:

- fp32: plain `generate` (MKL's matmuls, eager);
- fp32 compiled: the default fast path on the CPU (static cache + AOTInductor step, inductor's
  C++ micro-GEMM on frozen fp32 weights);
- int8: `--quantize 8bit` (PyTorch's dynamic int8 Linear, fbgemm VNNI kernels, eager);
- int4 compiled: `--quantize 4bit` (PyTorch's packed int4, tui/engine/cpu_int4.py) with the
  compiled step (inductor's WoQ int4 micro-GEMM).

A candidate that fails (a compile that cannot run here, say) is reported with its reason and
the others still run. The quantized paths change the numbers the model computes, so a few
fixed questions must keep the key word of their fp32 greedy answer ("Paris" for France).
Also reported, for "where the rest of the gap lies": the bytes each side reads per token, the
compiled step's own speed without `generate` around it (the Python per token), and the
machine's read bandwidth. Skipped, with a note, when llama-cpp-python is not installed.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

from bench import Result
from bench._common import Run, load_average, median, spread, threads
from bench._model import (
    GREEDY,
    NEW_TOKENS,
    PROMPT,
    QUALITY_QUESTIONS,
    engine_decode_tps,
    greedy_answer,
    load_backend,
)
from bench._model import backend as default_backend
from tui.engine.backend import LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.models import default_model

NAME = "vs_llama_cpp"


class Candidate:
    """One of our paths: a backend and whether its fast path is on for the measurement."""

    def __init__(self, name: str, make: Callable[[], TransformersBackend], fast: bool) -> None:
        self.name = name
        self.make = make
        self.fast = fast
        self.backend: TransformersBackend | None = None
        self.error: str | None = None
        self.tps: list[float] = []

    def prepare(self) -> None:
        """Load, and for a compiled path get its step ready (built once, then from disk)."""
        try:
            b = self.make()
            path = b.fast_path
            if self.fast:
                if path is None:
                    raise RuntimeError(f"fast path off: {b.fast_note}")
                bucket = path.bucket_for(b.count_tokens(PROMPT) + GREEDY.max_new_tokens)
                path.enabled = True
                path.warm(bucket)
                if not path.wait(3600) or path.error:
                    raise RuntimeError(f"compile failed: {path.error}")
            self.backend = b
            self.decode()  # warm-up
        except Exception as exc:  # noqa: BLE001 - reported as this candidate's row
            self.error = f"{type(exc).__name__}: {exc}"
            self.backend = None

    def decode(self) -> float:
        assert self.backend is not None
        path = self.backend.fast_path
        if path is not None:
            path.enabled = self.fast  # fp32 and fp32 compiled share one loaded model
        tps = engine_decode_tps(self.backend, GREEDY)
        if self.fast and self.backend.speed_path() != "compiled":
            raise RuntimeError(f"the reply ran {self.backend.speed_path() or 'plain'}")
        return tps


def _llama_decode_tps(llm: Any, eos: list[int]) -> float:
    """Decode tok/s of one streamed greedy reply, first streamed token to last; end of turn
    is held back (as on our side), so every reply is NEW_TOKENS long."""
    stamps: list[float] = []
    for chunk in llm.create_chat_completion(
        messages=PROMPT,
        max_tokens=NEW_TOKENS,
        temperature=0.0,
        stream=True,
        logit_bias={i: -1e9 for i in eos},
    ):
        if chunk["choices"][0]["delta"].get("content"):
            stamps.append(time.perf_counter())
    if len(stamps) < NEW_TOKENS // 2:
        raise RuntimeError(f"llama.cpp streamed only {len(stamps)} pieces")
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def _llama() -> tuple[Any, list[int], str]:
    from llama_cpp import Llama, llama_print_system_info

    llm = Llama(
        model_path=str(default_model.gguf_path()),
        n_threads=threads(),
        n_ctx=1024,
        verbose=False,
    )
    eos = sorted({int(llm.token_eos())} | _im_end(llm))
    info = llama_print_system_info()
    text = info.decode() if isinstance(info, bytes) else str(info)
    flags = [p.split("=")[0].strip() for p in text.split("|") if p.strip().endswith("= 1")]
    return llm, eos, ", ".join(f for f in flags if f) or text.strip()[:120]


def _im_end(llm: Any) -> set[int]:
    try:
        ids = llm.tokenize(b"<|im_end|>", add_bos=False, special=True)
    except Exception:  # noqa: BLE001 - another chat format: EOS alone
        return set()
    return {int(ids[0])} if len(ids) == 1 else set()


def _step_only_tps(b: TransformersBackend, steps: int = 48) -> float:
    """The compiled step called in a loop with nothing around it (no generate, logits
    processors, streamer): what the kernels alone give."""
    import torch
    from transformers import StaticCache

    path = b.fast_path
    assert path is not None and path.steps is not None and path.steps.runners
    bucket = min(path.steps.runners)
    runner = path.steps.runners[bucket]
    model = b.model
    with torch.inference_mode():
        cache = StaticCache(config=model.config, max_cache_len=bucket)
        ids = b._encode(PROMPT)["input_ids"]  # noqa: SLF001 - the same prompt as the rows
        model(input_ids=ids, cache=cache, use_cache=True)
        token = ids[:, -1:]
        for _ in range(4):
            runner(input_ids=token, cache=cache)
        started = time.perf_counter()
        for _ in range(steps):
            runner(input_ids=token, cache=cache)
        return steps / (time.perf_counter() - started)


def _bytes_per_token(b: TransformersBackend) -> tuple[float, float]:
    """(weights, KV cache) MB a compiled decode step reads: every matmul weight once (packed
    4-bit layers: their packed bytes and scales; the input embedding is one row), and the
    cache's keys and values over its filled part (aot_decode.py), on average over a reply."""
    model = b.model
    embed = model.get_input_embeddings().weight
    weights = 0
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() == embed.data_ptr() or "norm" in name or tensor.dim() < 2:
            continue
        weights += tensor.numel() * tensor.element_size()
    filled = b.count_tokens(PROMPT) + NEW_TOKENS // 2
    config = model.config
    heads = getattr(config, "num_key_value_heads", config.num_attention_heads)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    kv = 2 * config.num_hidden_layers * heads * head_dim * filled * 4
    return weights / 1e6, kv / 1e6


def _gguf_mb_per_token() -> float:
    """What llama.cpp reads per token from the GGUF: every tensor but the embedding lookup
    (tied here, so the output layer counts once), KV aside (f16, only the filled part)."""
    import gguf

    reader = gguf.GGUFReader(str(default_model.gguf_path()))
    total = sum(int(t.n_bytes) for t in reader.tensors if t.tensor_type.name != "F32")
    return total / 1e6


def _quality(reference: TransformersBackend, other: TransformersBackend) -> str:
    kept, same = 0, 0
    for question, keyword in QUALITY_QUESTIONS:
        ref, answer = greedy_answer(reference, question), greedy_answer(other, question)
        kept += keyword.lower() in answer.lower() and keyword.lower() in ref.lower()
        same += answer == ref
    return f"{kept}/{len(QUALITY_QUESTIONS)} keep the answer, {same} word for word"


def run(run: Run) -> list[Result]:
    reps = run.reps(5, 3)
    fp32 = default_backend("on")
    int8 = lambda: load_backend(LoadSpec(model="", quantize="8bit", device="cpu"), "off")  # noqa: E731
    int4 = lambda: load_backend(LoadSpec(model="", quantize="4bit", device="cpu"), "on")  # noqa: E731
    ours = [
        Candidate("fp32", lambda: fp32, fast=False),
        Candidate("fp32 compiled", lambda: fp32, fast=True),
        Candidate("int8", int8, fast=False),
        Candidate("int4 compiled", int4, fast=True),
    ]
    for c in ours:
        c.prepare()

    llm, eos, llama_flags, llama_error = None, [], "", ""
    if importlib.util.find_spec("llama_cpp") is not None:
        try:
            llm, eos, llama_flags = _llama()
            _llama_decode_tps(llm, eos)  # warm-up
        except Exception as exc:  # noqa: BLE001 - reported in the row
            llm, llama_error = None, f"{type(exc).__name__}: {exc}"
    llama_tps: list[float] = []
    for _ in range(reps):  # alternate, so load changes on a shared machine hit all alike
        for c in ours:
            if c.backend is not None and c.error is None:
                try:
                    c.tps.append(c.decode())
                except Exception as exc:  # noqa: BLE001
                    c.error = f"{type(exc).__name__}: {exc}"
        if llm is not None:
            llama_tps.append(_llama_decode_tps(llm, eos))
    if fp32.fast_path is not None:
        fp32.fast_path.enabled = True

    measured = {c.name: c for c in ours if c.tps and c.error is None}
    summary = "; ".join(
        f"{c.name} {spread(c.tps)}" if c.name in measured else f"{c.name} failed ({c.error})"
        for c in ours
    )
    results: list[Result] = []
    best = max(measured.values(), key=lambda c: median(c.tps)) if measured else None
    if llm is None:
        why = llama_error or "llama-cpp-python is not installed (make bench installs it)"
        results.append(Result(NAME, None, "x", skipped=True, detail=f"{why}; ours: {summary}"))
    elif best is None:
        results.append(Result(NAME, None, "x", detail=f"none of ours ran: {summary}"))
    else:
        ratio = median(best.tps) / median(llama_tps)
        results.append(
            Result(
                NAME,
                ratio,
                "x",
                goal=(">=", 0.8),
                detail=(
                    f"ours ({best.name}) {spread(best.tps)} vs llama.cpp {spread(llama_tps)} "
                    f"tok/s, {threads()} thread(s), same Q4_1 GGUF (llama.cpp CPU features: "
                    f"{llama_flags}); all ours (tok/s): {summary}; median of {reps}; "
                    f"{load_average()}"
                ),
            )
        )
    reference = measured.get("fp32")
    for name, row, what in (
        ("int8", "cpu_int8_vs_fp32", "--quantize 8bit (PyTorch int8, eager)"),
        ("int4 compiled", "cpu_int4_vs_fp32", "--quantize 4bit (PyTorch int4) compiled"),
    ):
        c = next(c for c in ours if c.name == name)
        if c.name not in measured or reference is None:
            results.append(Result(row, None, "x", detail=f"not measured: {c.error}"))
            continue
        assert c.backend is not None and reference.backend is not None
        reference.backend.fast_path.enabled = False  # type: ignore[union-attr]
        quality = _quality(reference.backend, c.backend)
        reference.backend.fast_path.enabled = True  # type: ignore[union-attr]
        results.append(
            Result(
                row,
                median(c.tps) / median(reference.tps),
                "x",
                detail=(
                    f"{what} {spread(c.tps)} vs fp32 plain {spread(reference.tps)} tok/s; "
                    f"quality vs fp32 greedy: {quality}"
                ),
            )
        )
    results.append(_gap_row(ours, llama_tps))
    return results


def _gap_row(ours: list[Candidate], llama_tps: list[float]) -> Result:
    """Where the time of our best compiled path goes, against llama.cpp's."""
    c = next(c for c in ours if c.name == "int4 compiled")
    if c.backend is None or not c.tps:
        return Result("decode_gap", None, "ms", detail=f"int4 compiled not measured: {c.error}")
    from tui.hardware import bandwidth

    step_tps = median([_step_only_tps(c.backend) for _ in range(3)])
    engine_tps = median(c.tps)
    python_ms = 1000 / engine_tps - 1000 / step_tps
    weights_mb, kv_mb = _bytes_per_token(c.backend)
    gguf_mb = _gguf_mb_per_token()
    bw = bandwidth.read_cached_cpu_bandwidth()
    bw_text = f"{bw / 1e9:.1f} GB/s" if bw else "not measured"
    llama_text = (
        f"llama.cpp {1000 / median(llama_tps):.1f} ms/token reading {gguf_mb:.0f} MB "
        f"({gguf_mb / 1000 * median(llama_tps):.1f} GB/s)"
        if llama_tps
        else "llama.cpp not measured"
    )
    ours_mb = weights_mb + kv_mb
    return Result(
        "decode_gap",
        python_ms,
        "ms",
        detail=(
            f"int4 compiled: {1000 / engine_tps:.1f} ms/token through generate, of which the "
            f"compiled step alone {1000 / step_tps:.1f} ms ({step_tps:.0f} tok/s) and "
            f"generate's Python around it {python_ms:.1f} ms; the step reads {weights_mb:.0f} "
            f"MB of weights + {kv_mb:.0f} MB of KV cache (fp32, filled part) per token "
            f"({ours_mb / 1000 * step_tps:.1f} GB/s); {llama_text}; this machine's read "
            f"bandwidth (all cores) {bw_text}"
        ),
    )
