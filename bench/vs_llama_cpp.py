"""vs_llama_cpp: our best decode path against llama.cpp on the same GGUF file, same threads.

llama.cpp (through llama-cpp-python, the `bench` extra) runs the bundled Q4_1 GGUF directly;
tchat converts it to fp32 safetensors once and runs it in transformers. The candidates on our
side, each timed through the engine's `stream` with the same prompt and greedy settings:
plain fp32, and 8-bit weights on the CPU (`--quantize 8bit`, tui/engine/cpu_quant.py). The
fast path (static cache + compile) is measured by fast_vs_plain. The best one is compared.

The int8 path changes the numbers the model computes, so its quality is checked here too: a
few fixed questions must keep the key word of their fp32 greedy answer ("Paris" for France).
Skipped, with a note, when llama-cpp-python is not installed.
"""

from __future__ import annotations

import importlib.util
import time

from bench import Result
from bench._common import Run, median, spread, threads
from bench._model import (
    GREEDY,
    NEW_TOKENS,
    PROMPT,
    QUALITY_QUESTIONS,
    engine_decode_tps,
    greedy_answer,
)
from bench._model import backend as default_backend
from tui.engine.backend import LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.models import default_model

NAME = "vs_llama_cpp"


def _llama_decode_tps(llm: object) -> float:
    """Decode tok/s of one streamed greedy reply: first streamed token to last."""
    stamps: list[float] = []
    for chunk in llm.create_chat_completion(  # type: ignore[attr-defined]
        messages=PROMPT, max_tokens=NEW_TOKENS, temperature=0.0, stream=True
    ):
        if chunk["choices"][0]["delta"].get("content"):
            stamps.append(time.perf_counter())
    if len(stamps) < NEW_TOKENS // 2:
        raise RuntimeError(f"llama.cpp streamed only {len(stamps)} pieces")
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def run(run: Run) -> list[Result]:
    reps = run.reps(5, 3)
    n_threads = threads()
    plain = default_backend("off")
    int8 = TransformersBackend(fast="off")
    int8.load(LoadSpec(model="", quantize="8bit", device="cpu"))
    ours = {"fp32": plain, "int8": int8}

    llm = None
    if importlib.util.find_spec("llama_cpp") is not None:
        from llama_cpp import Llama

        llm = Llama(
            model_path=str(default_model.gguf_path()),
            n_threads=n_threads,
            n_ctx=1024,
            verbose=False,
        )
        _llama_decode_tps(llm)  # warm-up
    for b in ours.values():
        engine_decode_tps(b)  # warm-up
    tps: dict[str, list[float]] = {name: [] for name in [*ours, "llama.cpp"]}
    for _ in range(reps):  # alternate, so load changes on a shared machine hit all alike
        for name, b in ours.items():
            tps[name].append(engine_decode_tps(b, GREEDY))
        if llm is not None:
            tps["llama.cpp"].append(_llama_decode_tps(llm))

    kept, same = 0, 0
    for question, keyword in QUALITY_QUESTIONS:
        reference, answer = greedy_answer(plain, question), greedy_answer(int8, question)
        kept += keyword.lower() in answer.lower() and keyword.lower() in reference.lower()
        same += answer == reference
    quality = f"{kept}/{len(QUALITY_QUESTIONS)} keep the answer, {same} word for word"

    best = max(ours, key=lambda name: median(tps[name]))
    int8_gain = median(tps["int8"]) / median(tps["fp32"])
    results = [
        Result(
            "cpu_int8_vs_fp32",
            int8_gain,
            "x",
            detail=(
                f"--quantize 8bit on the CPU {spread(tps['int8'])} vs fp32 {spread(tps['fp32'])} "
                f"tok/s; quality vs fp32 greedy: {quality}"
            ),
        )
    ]
    if llm is None:
        results.insert(
            0,
            Result(
                NAME,
                None,
                "x",
                skipped=True,
                detail=(
                    "llama-cpp-python is not installed (pip install -e '.[bench]'); "
                    f"ours: {best} {median(tps[best]):.1f} tok/s"
                ),
            ),
        )
        return results
    ratio = median(tps[best]) / median(tps["llama.cpp"])
    results.insert(
        0,
        Result(
            NAME,
            ratio,
            "x",
            detail=(
                f"ours ({best}) {spread(tps[best])} vs llama.cpp {spread(tps['llama.cpp'])} "
                f"tok/s, {n_threads} thread(s), same Q4_1 GGUF; median of {reps}"
            ),
        ),
    )
    return results
