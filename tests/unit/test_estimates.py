"""Memory and speed estimates: the arithmetic the picker's "will it fit" table rests on."""

from __future__ import annotations

import pytest

from tests.helpers.hf_cache import MIXTRAL_8X7B
from tui.hardware.bandwidth import bytes_per_param
from tui.models.config_facts import facts_from_config
from tui.models.estimates import (
    BASE_OVERHEAD_BYTES,
    DEFAULT_CONTEXT_TOKENS,
    MOE_ASSISTED_GENERATION_NOTE,
    PRECISIONS,
    estimate,
    render_estimate,
)
from tui.models.facts import ModelFacts

GB = 1e9
H100_SXM = 3350 * GB

LLAMA2_7B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
}
LLAMA3_8B = {
    **LLAMA2_7B,
    "intermediate_size": 14336,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 8192,
}


def test_a_7b_model_needs_about_14_gb_in_bf16() -> None:
    est = estimate(
        ModelFacts(parameters=7_000_000_000), free_bytes=None, bandwidth_bytes_per_s=None
    )
    weights = {r.precision.key: r.weights_bytes for r in est.rows}
    assert weights["fp32"] == 28 * GB
    assert weights["bf16"] == 14 * GB
    assert weights["8bit"] == 7 * GB
    # nf4 is half a byte per weight plus its scales (~4.13 bits).
    assert 3.5 * GB < weights["4bit"] < 3.7 * GB
    assert [r.precision.key for r in est.rows] == ["fp32", "bf16", "8bit", "4bit"]


def test_kv_cache_follows_layers_heads_and_context() -> None:
    """Llama-2-7B caches 0.5 MB per token in 16 bit (32 layers x 32 heads x 128 x K,V x 2 B);
    Llama-3-8B's grouped-query attention (8 KV heads) cuts that to 128 KB."""
    l2 = estimate(
        facts_from_config(LLAMA2_7B),
        free_bytes=None,
        bandwidth_bytes_per_s=None,
        context_tokens=4096,
    )
    assert l2.row("bf16").kv_bytes == 32 * 32 * 128 * 2 * 2 * 4096 == 2 * 1024**3
    assert l2.row("fp32").kv_bytes == 2 * l2.row("bf16").kv_bytes
    l3 = estimate(
        facts_from_config(LLAMA3_8B),
        free_bytes=None,
        bandwidth_bytes_per_s=None,
        context_tokens=4096,
    )
    assert l3.row("bf16").kv_bytes == 32 * 8 * 128 * 2 * 2 * 4096


def test_total_is_weights_kv_and_documented_overhead() -> None:
    est = estimate(facts_from_config(LLAMA3_8B), free_bytes=None, bandwidth_bytes_per_s=None)
    row = est.row("bf16")
    assert row.total_bytes == row.weights_bytes + row.kv_bytes + row.overhead_bytes
    assert row.overhead_bytes == pytest.approx(BASE_OVERHEAD_BYTES + 0.05 * row.weights_bytes)
    assert est.context_tokens == DEFAULT_CONTEXT_TOKENS


def test_fits_against_the_free_memory_given() -> None:
    facts = facts_from_config(LLAMA3_8B)  # 8.03B parameters
    on_24gb = estimate(facts, free_bytes=24 * GB, bandwidth_bytes_per_s=None)
    assert [r.fits for r in on_24gb.rows] == [False, True, True, True]
    assert on_24gb.best_fit() is not None and on_24gb.best_fit().precision.key == "bf16"
    on_8gb = estimate(facts, free_bytes=8 * GB, bandwidth_bytes_per_s=None)
    assert on_8gb.best_fit() is not None and on_8gb.best_fit().precision.key == "4bit"
    on_2gb = estimate(facts, free_bytes=2 * GB, bandwidth_bytes_per_s=None)
    assert on_2gb.best_fit() is None
    unknown = estimate(facts, free_bytes=None, bandwidth_bytes_per_s=None)
    assert all(r.fits is None for r in unknown.rows)


def test_decode_bound_is_bandwidth_over_bytes_per_token() -> None:
    facts = ModelFacts(parameters=1_000_000_000)
    est = estimate(facts, free_bytes=None, bandwidth_bytes_per_s=1e12)
    assert est.row("bf16").bytes_per_token == 2 * GB
    assert est.row("bf16").bound_tps == pytest.approx(500.0)
    assert est.row("fp32").bound_tps == pytest.approx(250.0)
    assert est.row("8bit").bound_tps == pytest.approx(1000.0)
    assert (
        estimate(facts, free_bytes=None, bandwidth_bytes_per_s=None).row("bf16").bound_tps is None
    )


def test_mixtral_memory_counts_all_experts_speed_only_active_ones() -> None:
    facts = facts_from_config(MIXTRAL_8X7B)
    est = estimate(facts, free_bytes=80 * GB, bandwidth_bytes_per_s=H100_SXM)
    bf16 = est.row("bf16")
    assert bf16.weights_bytes == pytest.approx(2 * 46.7e9, rel=0.002)  # ~93.4 GB resident
    assert bf16.bytes_per_token == pytest.approx(2 * 12.9e9, rel=0.003)  # ~25.8 GB read
    assert bf16.bound_tps == pytest.approx(H100_SXM / bf16.bytes_per_token)
    assert 125 < bf16.bound_tps < 135  # vs ~36 tok/s if all 46.7B were read
    assert bf16.fits is False and est.row("4bit").fits is True
    assert MOE_ASSISTED_GENERATION_NOTE in est.notes


def test_quantized_rows_keep_embeddings_in_16_bit() -> None:
    """SmolLM2-135M: 28M of its 135M weights are the (tied) embedding, kept 16 bit by bnb."""
    facts = ModelFacts(parameters=134_515_008, unquantized_params=28_311_552)
    row = estimate(facts, free_bytes=None, bandwidth_bytes_per_s=None).row("4bit")
    nf4 = bytes_per_param(None, "nf4")
    assert row.weights_bytes == round((134_515_008 - 28_311_552) * nf4 + 28_311_552 * 2)


def test_context_is_capped_at_the_models_own() -> None:
    facts = ModelFacts(parameters=10**8, context_length=2048, kv_elements_per_token=1000)
    est = estimate(facts, free_bytes=None, bandwidth_bytes_per_s=None, context_tokens=32768)
    assert est.context_tokens == 2048 and est.row("bf16").kv_bytes == 1000 * 2 * 2048
    assert any("capped" in n for n in est.notes)


def test_unknown_size_gives_question_marks_not_zeros() -> None:
    est = estimate(ModelFacts(), free_bytes=8 * GB, bandwidth_bytes_per_s=1e11)
    assert all(r.total_bytes is None and r.fits is None for r in est.rows)
    lines = render_estimate(est, "GPU 0")
    assert lines[1].split()[1:] == ["?"] * 5  # fp32 row: weights, KV, total, fits, tok/s
    assert any("unknown" in line for line in lines)


def test_rendered_table_reads_plainly() -> None:
    facts = facts_from_config(MIXTRAL_8X7B)
    lines = render_estimate(
        estimate(facts, free_bytes=80 * GB, bandwidth_bytes_per_s=H100_SXM), "GPU 0"
    )
    assert lines[0].split() == [
        "precision",
        "weights",
        "KV",
        "@4096",
        "total",
        "fits",
        "≤",
        "tok/s",
    ]
    assert lines[2].startswith("bf16/fp16") and " no " in lines[2]
    assert lines[4].startswith("4-bit nf4") and " yes " in lines[4]
    assert lines[5] == "GPU 0: 80 GB free · 3.35 TB/s memory bandwidth"
    assert "[" not in "".join(lines)  # plain text, never markup
    assert len(PRECISIONS) == 4
