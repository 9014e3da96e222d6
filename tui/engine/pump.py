"""Drain a Reply on a worker thread and hand text to the UI in batches, paced to the UI's cost.

A 135M model on a GPU produces hundreds of tokens a second; posting one UI message per token
would make the event loop the bottleneck. The pump collects deltas and flushes at most once per
interval, plus once at the end, so the UI cost per token stays flat.

The interval comes from a `Pacer`. Each batch costs the UI thread a handler, a relayout when a
line is added, and a frame; that thread shares the GIL with generate, so every millisecond it
spends is a millisecond generate can lose. The app tells the pacer what each batch cost (the UI
thread's CPU time between two batches) and the pacer spaces batches so that drawing takes about
`UI_BUDGET` of the time: up to ten batches a second on a fast machine, two on a small 2-core
box (bench/app_vs_generate.py measures the effect on decode speed). Most of a batch's cost is a
frame and, once a line fills, a layout, so a longer interval buys generate more time than the
same text split finer.

Thinking and answer stay apart: a batch that holds both is handed over as two emits, a
`Thinking` run then a plain one, in the order they came (once or twice a reply, at the
turn from thinking to answer), so the UI never has to tell them apart again.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable

from tui.engine.backend import Reply, Thinking

# emit(text_since_last_flush, new_tokens_so_far, seconds_since_start, ttft_or_None); the text
# is a `Thinking` when it is the reply's thinking.
# Token counts come from `reply.stats`, which backends update live: a text delta from the
# streamer is often several tokens (it holds text back until a word is complete).
EmitFn = Callable[[str, int, float, "float | None"], object]

UPDATE_INTERVAL_S = 0.2  # the first reply's interval, before the pacer has measured anything
MIN_INTERVAL_S = 0.1  # ten updates a second look continuous: more would only cost
MAX_INTERVAL_S = 0.5  # slower than this, text visibly arrives in lumps
UI_BUDGET = 0.01  # the share of time the UI thread may spend on streamed text
# A batch's cost is the median of the latest ones: a single dear batch (a code block mounted,
# the user scrolling) must not slow the stream down.
COST_WINDOW = 9


class Pacer:
    """Says how long the pump waits between batches; learns from what batches cost the UI.

    One per app, kept across replies, so a reply starts at the pace the last one settled on.
    `interval` is read by the pump's thread and written by the UI's: a float, so no lock."""

    def __init__(
        self,
        budget: float = UI_BUDGET,
        lo: float = MIN_INTERVAL_S,
        hi: float = MAX_INTERVAL_S,
        start: float = UPDATE_INTERVAL_S,
    ) -> None:
        self.budget, self.lo, self.hi = budget, lo, hi
        self.interval = min(hi, max(lo, start))
        self._costs: deque[float] = deque(maxlen=COST_WINDOW)

    @classmethod
    def fixed(cls, interval: float) -> Pacer:
        """A pacer that never moves (benchmarks, tests)."""
        return cls(lo=interval, hi=interval, start=interval)

    def note(self, ui_seconds: float) -> None:
        """The UI thread's CPU time for one batch: everything it did since the previous one."""
        self._costs.append(ui_seconds)
        self.interval = min(self.hi, max(self.lo, statistics.median(self._costs) / self.budget))


def pump(reply: Reply, emit: EmitFn, pacer: Pacer | None = None) -> str:
    """Iterate `reply` to the end, calling `emit` in batches (at most one per
    `pacer.interval`, read afresh for each batch). Returns the whole text."""
    if pacer is None:
        pacer = Pacer.fixed(UPDATE_INTERVAL_S)
    started = time.perf_counter()
    parts: list[str] = []
    pending: list[str] = []  # the run being collected: all thinking or all answer
    runs: list[str] = []  # finished runs of this batch (a turn between thinking and answer)
    thinking = False
    stats = reply.stats
    last_flush = started

    def flush(now: float) -> None:
        if pending:
            runs.append(_joined(pending, thinking))
            pending.clear()
        for run in runs:
            parts.append(run)
            emit(run, stats.new_tokens, now - started, stats.ttft_s)
        runs.clear()

    try:
        for delta in reply:
            if isinstance(delta, Thinking) is not thinking:
                if pending:
                    runs.append(_joined(pending, thinking))
                    pending.clear()
                thinking = not thinking
            pending.append(delta)
            now = time.perf_counter()
            if now - last_flush >= pacer.interval:
                flush(now)
                last_flush = now
    finally:  # a reply that fails mid-way still hands over every character it produced
        flush(time.perf_counter())
    return "".join(parts)


def _joined(pieces: list[str], thinking: bool) -> str:
    text = "".join(pieces)
    return Thinking(text) if thinking else text
