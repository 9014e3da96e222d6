"""token_alternatives: what recording each token's probability and top alternatives costs.

The engine's decode speed with the recorder (tui/engine/token_probs.py, the top 8 kept, as in
the app) against without it, alternating on one loaded default model, greedy, same prompt and
token count: the headline ratio (goal >= 0.98: "not measurable" on a shared CPU, where runs
differ by more). Also: the recorder's work per token measured alone (log-softmax and top-k
over the model's vocabulary, one step's bookkeeping) as a share of a decode step, which a busy
machine does not blur, and the time `steps()` takes at the end of a reply to make the texts.

Measured on the 2-core box (idle, one thread): 15.7 vs 15.6 tok/s, 1.01x; 0.18 ms of a 64 ms
step (0.3%); 6 ms at the end of a 128-token reply. So the app records them by default where
the model runs on the CPU (tui/screens/chat/branch_keys.py); on a GPU, where each step would
add a device sync and nothing was measured, only once asked for.
"""

from __future__ import annotations

import threading
import time

from bench import Result
from bench._common import Run, median, spread
from bench._model import GREEDY, PROMPT, backend
from tui.engine.transformers_backend import TransformersBackend

NAME = "token_alternatives"
TOP = 8  # as the app keeps (tui/screens/chat/branch_keys.py ALTERNATIVES)


def _reply(b: TransformersBackend) -> tuple[float, float, int]:
    """(decode tok/s, ms from the last token to the reply's end, steps recorded)."""
    reply = b.stream(PROMPT, GREEDY, threading.Event())
    last = time.perf_counter()
    for _ in reply:
        last = time.perf_counter()
    tail_ms = (time.perf_counter() - last) * 1000
    if reply.error or not reply.stats.decode_tps:
        raise RuntimeError(f"reply failed: {reply.error or reply.stats}")
    return reply.stats.decode_tps, tail_ms, len(reply.tokens or [])


def _step_work_ms(vocab: int, n: int = 400) -> float:
    """The recorder's per-token work alone, in ms (what it adds to every decode step)."""
    import torch

    scores = torch.randn(1, vocab)
    started = time.perf_counter()
    for _ in range(n):
        logprobs = torch.log_softmax(scores[0].float(), dim=-1)
        values, ids = torch.topk(logprobs, TOP)
        values.tolist(), ids.tolist(), float(logprobs[7])
    return (time.perf_counter() - started) / n * 1000


def run(run: Run) -> list[Result]:
    b = backend("off")
    reps = run.reps(5, 3)
    plain: list[float] = []
    kept: list[float] = []
    tails: dict[int, list[float]] = {0: [], TOP: []}
    recorded = 0
    try:
        for rep in range(reps + 1):  # the first pair is the warm-up
            for top, into in ((0, plain), (TOP, kept)):
                b.keep_alternatives(top)
                tps, tail_ms, steps = _reply(b)
                if rep:
                    into.append(tps)
                    tails[top].append(tail_ms)
                    recorded = max(recorded, steps)
    finally:
        b.keep_alternatives(0)
    vocab = int(b.model.config.vocab_size)
    work_ms = _step_work_ms(vocab)
    step_ms = 1000 / median(plain)
    return [
        Result(
            NAME,
            median(kept) / median(plain),
            "x",
            goal=(">=", 0.98),
            detail=(
                f"decode with top-{TOP} alternatives {spread(kept)} tok/s vs without "
                f"{spread(plain)} tok/s ({recorded} steps recorded); median of {reps}"
            ),
        ),
        Result(
            "token_alternatives_step",
            work_ms / step_ms * 100,
            "%",
            goal=("<=", 2.0),
            detail=(
                f"recorder work {work_ms:.3f} ms per token (vocabulary {vocab}) of a "
                f"{step_ms:.1f} ms decode step; texts made at the reply's end in "
                f"{median(tails[TOP]) - median(tails[0]):.1f} ms more than without"
            ),
        ),
    ]
