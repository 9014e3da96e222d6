"""Everything a config.json alone says about a model, parameters included.

For folders whose weights cannot be read cheaply (.bin files, packed quantized checkpoints,
partial downloads) the parameter count is estimated from the shape: embeddings, attention,
MLPs, experts and norms, exact for the common layouts. Pure functions: no I/O.
"""

from __future__ import annotations

from typing import Any

from tui.models.causal import causal_lm_problem
from tui.models.config_shape import (
    as_int,
    context_length_from_config,
    first_int,
    first_str,
    kv_elements_per_token,
    moe_from_config,
    shape,
    text_cfgs,
)
from tui.models.dtypes import short_dtype
from tui.models.facts import ModelFacts, with_active

# Families whose MLP is two matrices (up, down) instead of the gated three (gate, up, down).
_UNGATED_MLP = frozenset("gpt2 gpt_neox gptj gpt_bigcode opt bloom falcon phi starcoder2".split())
# Families with biases on q/k/v although the config carries no flag for it.
_QKV_BIAS = frozenset("qwen2 qwen2_moe qwen2_vl qwen2_5_vl".split())


def _moe_layer_ids(cfg: dict[str, Any], layers: int) -> list[int]:
    """Which layers hold experts: DeepSeek keeps the first `first_k_dense_replace` dense; Qwen
    MoE uses every `decoder_sparse_step`-th layer except `mlp_only_layers`."""
    cfgs = text_cfgs(cfg)
    first_dense = first_int(cfgs, "first_k_dense_replace") or 0
    step = first_int(cfgs, "decoder_sparse_step", "moe_layer_freq") or 1
    only_mlp: set[int] = set()
    for c in cfgs:
        if isinstance(c.get("mlp_only_layers"), list):
            only_mlp = {i for i in c["mlp_only_layers"] if isinstance(i, int)}
            break
    return [
        i for i in range(layers) if i >= first_dense and i not in only_mlp and (i + 1) % step == 0
    ]


def estimate_params_from_config(cfg: dict[str, Any]) -> tuple[int, int] | None:
    """(total, routed-expert) parameters from the config's shape, for folders whose weights
    cannot be read cheaply (.bin, packed quantized checkpoints, partial downloads).

    Counts embeddings (+ an untied LM head), attention (standard, GQA or DeepSeek MLA), gated
    or plain MLPs, routers, shared and routed experts, and norms. Exact for Llama, Mixtral,
    Qwen MoE and DeepSeek V3 layouts; an estimate elsewhere (biases, odd norms). A multimodal
    wrapper's vision tower is not counted.
    """
    s = shape(cfg)
    if not (s.hidden and s.layers and s.heads and s.vocab and s.head_dim):
        return None
    cfgs = text_cfgs(cfg)
    model_type = str(cfgs[0].get("model_type") or cfg.get("model_type") or "")
    h = s.hidden
    tied = any(c.get("tie_word_embeddings") is True for c in cfgs)
    total = s.vocab * h * (1 if tied else 2) + h  # embeddings, LM head, final norm

    q_lora = first_int(cfgs, "q_lora_rank")
    kv_lora = first_int(cfgs, "kv_lora_rank")
    if kv_lora:
        nope = first_int(cfgs, "qk_nope_head_dim") or 0
        rope = first_int(cfgs, "qk_rope_head_dim") or 0
        v_dim = s.v_dim or s.head_dim
        q_out = s.heads * (nope + rope)
        attn = (h * q_lora + q_lora + q_lora * q_out) if q_lora else h * q_out
        attn += h * (kv_lora + rope) + kv_lora + kv_lora * s.heads * (nope + v_dim)
        attn += s.heads * v_dim * h
    else:
        q_width, kv_width = s.heads * s.head_dim, (s.kv_heads or s.heads) * s.head_dim
        attn = 2 * h * q_width + 2 * h * kv_width
        if any(c.get("attention_bias") is True for c in cfgs) or model_type in _QKV_BIAS:
            attn += q_width + 2 * kv_width + (h if model_type not in _QKV_BIAS else 0)

    mats = 2 if model_type in _UNGATED_MLP else 3
    dense_mlp = mats * h * (s.intermediate or 4 * h)
    moe = moe_from_config(cfg)
    moe_layers = set(_moe_layer_ids(cfg, s.layers)) if moe else set()
    expert_inter = first_int(cfgs, "moe_intermediate_size") or s.intermediate or 4 * h
    shared_inter = first_int(cfgs, "shared_expert_intermediate_size")
    experts_total = 0
    for i in range(s.layers):
        total += attn + 2 * h  # attention + two norms
        if moe and i in moe_layers:
            routed = moe.num_experts * mats * h * expert_inter
            experts_total += routed
            total += routed + h * moe.num_experts  # experts + router
            if shared_inter:
                total += mats * h * shared_inter + h  # Qwen: shared expert + its gate
            elif moe.shared_experts:
                total += moe.shared_experts * mats * h * expert_inter
        else:
            total += dense_mlp
    return total, experts_total


def _quantization_label(cfg: dict[str, Any]) -> str | None:
    q = cfg.get("quantization_config")
    if not isinstance(q, dict):
        return None
    method = str(q.get("quant_method") or "quantized")
    bits = as_int(q.get("bits"))
    if bits is None and q.get("load_in_4bit") is True:
        bits = 4
    elif bits is None and q.get("load_in_8bit") is True:
        bits = 8
    return f"{method} {bits}-bit" if bits else method


def facts_from_config(cfg: dict[str, Any]) -> ModelFacts:
    """Everything the config alone says, with parameters estimated from the shape."""
    s = shape(cfg)
    problem = causal_lm_problem(cfg)
    archs = cfg.get("architectures") or []
    cfgs = text_cfgs(cfg)
    estimate = estimate_params_from_config(cfg)
    tied = any(c.get("tie_word_embeddings") is True for c in cfgs)
    facts = ModelFacts(
        parameters=estimate[0] if estimate else None,
        param_source="config" if estimate else None,
        moe=moe_from_config(cfg),
        context_length=context_length_from_config(cfg),
        dtype=short_dtype(first_str(cfgs, "dtype", "torch_dtype")),
        quantization=_quantization_label(cfg),
        architecture=archs[0] if archs and isinstance(archs[0], str) else None,
        model_type=cfg.get("model_type") if isinstance(cfg.get("model_type"), str) else None,
        is_causal_lm=problem is None,
        not_causal_reason=problem,
        num_layers=s.layers,
        num_kv_heads=s.kv_heads,
        head_dim=s.head_dim,
        kv_elements_per_token=kv_elements_per_token(cfg),
        unquantized_params=(s.vocab * s.hidden * (1 if tied else 2))
        if s.vocab and s.hidden
        else None,
    )
    return with_active(facts, estimate[1] if estimate else None)
