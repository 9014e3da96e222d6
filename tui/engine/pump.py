"""Drain a Reply on a worker thread and hand text to the UI in batches.

A 135M model on a GPU produces hundreds of tokens a second; posting one UI message per token
would make the event loop the bottleneck. The pump collects deltas and flushes at most every
`UPDATE_INTERVAL_S`, plus once at the end, so the UI cost per token stays flat.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tui.engine.backend import Reply

# emit(text_since_last_flush, new_tokens_so_far, seconds_since_start, ttft_or_None).
# Token counts come from `reply.stats`, which backends update live: a text delta from the
# streamer is often several tokens (it holds text back until a word is complete).
EmitFn = Callable[[str, int, float, "float | None"], object]

# Each batch costs the UI thread a relayout and a frame (~15 ms at 120x40 here), and that
# thread shares the GIL with generate: at 30 batches a second the app decoded ~15-25% slower
# than bare generate on a 2-core CPU, at 5 a second ~8% (bench/app_vs_generate.py). Read at
# each call, so the bench can set it to 0 (one batch per delta, the worst case).
UPDATE_INTERVAL_S = 0.2


def pump(reply: Reply, emit: EmitFn, interval: float | None = None) -> str:
    """Iterate `reply` to the end, calling `emit` in batches (at most one per `interval`,
    default UPDATE_INTERVAL_S). Returns the whole text."""
    if interval is None:
        interval = UPDATE_INTERVAL_S
    started = time.perf_counter()
    parts: list[str] = []
    pending: list[str] = []
    stats = reply.stats
    last_flush = started
    try:
        for delta in reply:
            pending.append(delta)
            now = time.perf_counter()
            if now - last_flush >= interval:
                chunk = "".join(pending)
                parts.append(chunk)
                pending.clear()
                emit(chunk, stats.new_tokens, now - started, stats.ttft_s)
                last_flush = now
    finally:  # a reply that fails mid-way still hands over every character it produced
        if pending:
            chunk = "".join(pending)
            parts.append(chunk)
            emit(chunk, stats.new_tokens, time.perf_counter() - started, stats.ttft_s)
    return "".join(parts)
