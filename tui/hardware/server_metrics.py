"""An inference server's own figures, from its Prometheus `/metrics` page, as a plain snapshot.

A model served by vLLM, SGLang or llama-server runs on hardware tchat cannot see; the server
can, and publishes it: how full its KV cache is, how many requests run and wait, how often it
preempted one, its token counters and latency histograms. This module reads that text format
(the exposition format is a few line rules: `name{labels} value`) into `ServerMetrics`, and
`recent` turns two snapshots into rates over the time between them. No HTTP here: the remote
backend fetches the page with its own connection (key, TLS settings) and hands the text over.

Names, by server (summed over label sets: several engines or models behind one server add up):
- vLLM: `vllm:kv_cache_usage_perc` (older `vllm:gpu_cache_usage_perc`), `vllm:num_requests_
  running` / `_waiting`, `vllm:num_preemptions_total`, `vllm:prompt_tokens_total`,
  `vllm:generation_tokens_total`, histograms `vllm:time_to_first_token_seconds` and
  `vllm:inter_token_latency_seconds` (older `vllm:time_per_output_token_seconds`).
- SGLang: `sglang:token_usage`, `sglang:num_running_reqs`, `sglang:num_queue_reqs`,
  `sglang:num_retracted_reqs` (its preemptions), `sglang:prompt_tokens_total`,
  `sglang:generation_tokens_total`, `sglang:time_to_first_token_seconds`,
  `sglang:inter_token_latency_seconds` (older `sglang:time_per_output_token_seconds`).
- llama-server (`--metrics`): `llamacpp:kv_cache_usage_ratio`, `llamacpp:requests_processing`,
  `llamacpp:requests_deferred`, `llamacpp:prompt_tokens_total`, `llamacpp:tokens_predicted_total`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

# field -> the names that carry it, first found wins (one server publishes one of them).
_GAUGES: dict[str, tuple[str, ...]] = {
    "kv_cache_usage": (
        "vllm:kv_cache_usage_perc",
        "vllm:gpu_cache_usage_perc",
        "sglang:token_usage",
        "llamacpp:kv_cache_usage_ratio",
    ),
    "requests_running": (
        "vllm:num_requests_running",
        "sglang:num_running_reqs",
        "llamacpp:requests_processing",
    ),
    "requests_waiting": (
        "vllm:num_requests_waiting",
        "sglang:num_queue_reqs",
        "llamacpp:requests_deferred",
    ),
    "preemptions_total": ("vllm:num_preemptions_total", "sglang:num_retracted_reqs"),
    "prompt_tokens_total": (
        "vllm:prompt_tokens_total",
        "sglang:prompt_tokens_total",
        "llamacpp:prompt_tokens_total",
    ),
    "generation_tokens_total": (
        "vllm:generation_tokens_total",
        "sglang:generation_tokens_total",
        "llamacpp:tokens_predicted_total",
    ),
}
_HISTOGRAMS: dict[str, tuple[str, ...]] = {
    "ttft": (
        "vllm:time_to_first_token_seconds",
        "sglang:time_to_first_token_seconds",
    ),
    "itl": (
        "vllm:inter_token_latency_seconds",
        "vllm:time_per_output_token_seconds",
        "sglang:inter_token_latency_seconds",
        "sglang:time_per_output_token_seconds",
    ),
}
_SERVERS = (("vllm:", "vLLM"), ("sglang:", "SGLang"), ("llamacpp:", "llama-server"))


@dataclass(frozen=True)
class ServerMetrics:
    """One reading of a server's /metrics. Every figure is None where the server has none.

    `available` False means no figures at all, with `reason` saying why (the server has no
    /metrics page, it needs a flag to publish one, it could not be reached)."""

    available: bool
    reason: str = ""
    server: str = ""  # "vLLM", "SGLang", "llama-server": whose names were found
    time: float = field(default_factory=time.monotonic)
    kv_cache_usage: float | None = None  # 0..1
    requests_running: float | None = None
    requests_waiting: float | None = None
    preemptions_total: float | None = None
    prompt_tokens_total: float | None = None
    generation_tokens_total: float | None = None
    ttft_sum: float | None = None  # histogram sums and counts, since the server started
    ttft_count: float | None = None
    itl_sum: float | None = None
    itl_count: float | None = None


def unavailable(reason: str) -> ServerMetrics:
    return ServerMetrics(available=False, reason=reason)


def _parse_line(line: str) -> tuple[str, float] | None:
    """(metric name, value) of one sample line; None for comments and lines it cannot read."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    if "{" in line:
        name, _, rest = line.partition("{")
        # Label values may hold spaces or braces inside quotes: the value follows the last '}'.
        _, _, tail = rest.rpartition("}")
    else:
        name, _, tail = line.partition(" ")
    fields = tail.split()
    if not fields:
        return None
    try:
        value = float(fields[0])
    except ValueError:
        return None
    if math.isnan(value):
        return None
    return name.strip(), value


def parse(text: str, now: float | None = None) -> ServerMetrics:
    """A snapshot from the text of a /metrics page."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        sample = _parse_line(line)
        if sample is not None:
            name, value = sample
            totals[name] = totals.get(name, 0.0) + value
    found: dict[str, float | None] = {}
    for key, names in _GAUGES.items():
        found[key] = next((totals[n] for n in names if n in totals), None)
    for key, names in _HISTOGRAMS.items():
        base = next((n for n in names if f"{n}_count" in totals), None)
        found[f"{key}_sum"] = totals.get(f"{base}_sum") if base else None
        found[f"{key}_count"] = totals.get(f"{base}_count") if base else None
    server = next(
        (label for prefix, label in _SERVERS if any(n.startswith(prefix) for n in totals)), ""
    )
    if not any(v is not None for v in found.values()):
        reason = (
            "its /metrics page has no figures tchat knows"
            if totals
            else "its /metrics page is empty"
        )
        return ServerMetrics(available=False, reason=reason, server=server)
    kv = found["kv_cache_usage"]
    if kv is not None and kv > 1.0:  # a percentage where a fraction was expected
        found["kv_cache_usage"] = kv / 100.0
    return ServerMetrics(
        available=True,
        server=server,
        time=time.monotonic() if now is None else now,
        **found,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Recent:
    """What happened on the server between two readings (all its users, not just this chat)."""

    seconds: float
    generation_tps: float | None = None  # tokens/s the server generated, all requests
    prompt_tps: float | None = None
    ttft_s: float | None = None  # mean TTFT of requests that got their first token meanwhile
    itl_s: float | None = None  # mean inter-token latency meanwhile
    preemptions: float | None = None


def _rate(a: float | None, b: float | None, dt: float) -> float | None:
    if a is None or b is None or b < a or dt <= 0:
        return None  # a counter that went down: the server restarted
    return (b - a) / dt


def _mean(s0: float | None, s1: float | None, c0: float | None, c1: float | None) -> float | None:
    if None in (s0, s1, c0, c1):
        return None
    assert s0 is not None and s1 is not None and c0 is not None and c1 is not None
    if c1 <= c0:
        return None
    return (s1 - s0) / (c1 - c0)


def recent(before: ServerMetrics, after: ServerMetrics) -> Recent | None:
    """Rates and means between two readings; None when either has no figures."""
    if not (before.available and after.available):
        return None
    dt = after.time - before.time
    if dt <= 0:
        return None
    preempted = None
    if before.preemptions_total is not None and after.preemptions_total is not None:
        preempted = max(0.0, after.preemptions_total - before.preemptions_total)
    return Recent(
        seconds=dt,
        generation_tps=_rate(before.generation_tokens_total, after.generation_tokens_total, dt),
        prompt_tps=_rate(before.prompt_tokens_total, after.prompt_tokens_total, dt),
        ttft_s=_mean(before.ttft_sum, after.ttft_sum, before.ttft_count, after.ttft_count),
        itl_s=_mean(before.itl_sum, after.itl_sum, before.itl_count, after.itl_count),
        preemptions=preempted,
    )
