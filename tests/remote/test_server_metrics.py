"""A server's Prometheus page read into the gauges' figures: a real vLLM page, and the names
SGLang and llama-server publish."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tui.hardware.server_metrics import parse, recent

DATA = Path(__file__).resolve().parents[1] / "data" / "metrics"


def test_a_real_vllm_page() -> None:
    m = parse((DATA / "vllm-0.32.0.txt").read_text("utf-8"), now=100.0)
    assert m.available and m.server == "vLLM"
    assert m.kv_cache_usage == 0.0 and m.requests_running == 0 and m.requests_waiting == 0
    assert m.prompt_tokens_total == 35 and m.generation_tokens_total == 6
    assert m.ttft_count == 1 and m.ttft_sum is not None and 0.5 < m.ttft_sum < 0.6
    assert m.itl_count == 5


def test_rates_between_two_readings() -> None:
    m = parse((DATA / "vllm-0.32.0.txt").read_text("utf-8"), now=100.0)
    later = replace(
        m,
        time=102.0,
        generation_tokens_total=106.0,
        ttft_sum=m.ttft_sum + 0.4,  # type: ignore[operator]
        ttft_count=2.0,
        itl_sum=m.itl_sum + 1.0,
        itl_count=105.0,  # type: ignore[operator]
    )
    r = recent(m, later)
    assert r is not None and r.generation_tps == 50.0
    assert abs((r.ttft_s or 0) - 0.4) < 1e-9 and abs((r.itl_s or 0) - 0.01) < 1e-9
    restarted = replace(later, time=104.0, generation_tokens_total=3.0)  # went down: restarted
    assert recent(later, restarted).generation_tps is None  # type: ignore[union-attr]


def test_sglang_and_llama_server_names() -> None:
    sglang = parse(
        'sglang:token_usage{model_name="q"} 0.91\n'
        'sglang:num_running_reqs{model_name="q"} 12\n'
        'sglang:num_queue_reqs{model_name="q"} 3\n'
        'sglang:generation_tokens_total{model_name="q"} 5000\n'
    )
    assert sglang.server == "SGLang" and sglang.kv_cache_usage == 0.91
    assert (sglang.requests_running, sglang.requests_waiting) == (12, 3)
    llama = parse("llamacpp:kv_cache_usage_ratio 0.25\nllamacpp:requests_processing 1\n")
    assert llama.server == "llama-server" and llama.kv_cache_usage == 0.25


def test_a_page_with_nothing_tchat_knows() -> None:
    m = parse("# HELP x y\nprocess_cpu_seconds_total 3.2\n")
    assert not m.available and "no figures tchat knows" in m.reason
    assert not parse("").available
