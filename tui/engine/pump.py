"""Drain a Reply on a worker thread and hand text to the UI in batches.

A 135M model on a GPU produces hundreds of tokens a second; posting one UI message per token
would make the event loop the bottleneck. The pump collects deltas and flushes at most every
`interval` seconds (a few frames), plus once at the end, so the UI cost per token stays flat.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tui.engine.backend import Reply

# emit(text_since_last_flush, new_tokens_so_far, seconds_since_start, ttft_or_None).
# Token counts come from `reply.stats`, which backends update live: a text delta from the
# streamer is often several tokens (it holds text back until a word is complete).
EmitFn = Callable[[str, int, float, "float | None"], object]


def pump(reply: Reply, emit: EmitFn, interval: float = 1 / 30) -> str:
    """Iterate `reply` to the end, calling `emit` in batches. Returns the whole text."""
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
