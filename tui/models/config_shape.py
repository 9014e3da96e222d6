"""A text model's shape from its config.json: context, layers, heads, KV cache, experts.

Families spell the same hyper-parameter differently (`hidden_size`, `n_embd`, `d_model`) and
multimodal wrappers nest them in `text_config`; this module normalises them once, for the
parameter estimate (`config_facts`) and the KV-cache size the estimates need. Pure functions
on the parsed dict: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.models.facts import MoEInfo


def as_int(value: Any) -> int | None:
    # bool is an int subclass; a config flag must never be read as a size.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if value > 0 else None


def first_int(cfgs: list[dict[str, Any]], *keys: str) -> int | None:
    for cfg in cfgs:
        for key in keys:
            value = as_int(cfg.get(key))
            if value is not None:
                return value
    return None


def text_cfgs(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """The places a text model's hyper-parameters live: a multimodal wrapper (Gemma 3, Llava)
    keeps them in `text_config`, a plain LM at the top level. Text config wins."""
    text = cfg.get("text_config")
    return [text, cfg] if isinstance(text, dict) else [cfg]


def first_str(cfgs: list[dict[str, Any]], *keys: str) -> str | None:
    for cfg in cfgs:
        for key in keys:
            if isinstance(cfg.get(key), str):
                return cfg[key]
    return None


def context_length_from_config(cfg: dict[str, Any]) -> int | None:
    """The longest context the model was built for. A sliding window limits attention span,
    not the context, so it does not count; neither does a tokenizer's `model_max_length`."""
    return first_int(
        text_cfgs(cfg),
        "max_position_embeddings",
        "n_positions",
        "max_seq_len",
        "max_sequence_length",
        "seq_length",
        "n_ctx",
    )


@dataclass(frozen=True)
class Shape:
    """The hyper-parameters the estimates need, normalised across model families."""

    hidden: int | None
    layers: int | None
    heads: int | None
    kv_heads: int | None
    head_dim: int | None
    vocab: int | None
    intermediate: int | None
    k_dim: int | None  # per-head key width; differs from v_dim with DeepSeek's MLA
    v_dim: int | None


def shape(cfg: dict[str, Any]) -> Shape:
    cfgs = text_cfgs(cfg)
    hidden = first_int(cfgs, "hidden_size", "n_embd", "d_model", "dim")
    layers = first_int(cfgs, "num_hidden_layers", "n_layer", "num_layers", "n_layers")
    heads = first_int(cfgs, "num_attention_heads", "n_head", "num_heads", "n_heads")
    kv_heads = first_int(cfgs, "num_key_value_heads", "n_head_kv", "num_kv_heads", "n_kv_heads")
    if kv_heads is None and any(c.get("multi_query") is True for c in cfgs):
        kv_heads = 1  # Falcon-7B and GPT-BigCode style multi-query attention
    kv_heads = kv_heads or heads
    # `head_dim` is often present but null (Mixtral): then it is hidden / heads.
    head_dim = first_int(cfgs, "head_dim") or (hidden // heads if hidden and heads else None)
    k_dim = v_dim = head_dim
    if first_int(cfgs, "kv_lora_rank"):
        # DeepSeek MLA: Transformers caches decompressed K (nope + rope) and V per head.
        nope = first_int(cfgs, "qk_nope_head_dim") or 0
        rope = first_int(cfgs, "qk_rope_head_dim") or 0
        k_dim = (nope + rope) or head_dim
        v_dim = first_int(cfgs, "v_head_dim") or head_dim
        kv_heads = heads
    return Shape(
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        vocab=first_int(cfgs, "vocab_size", "padded_vocab_size"),
        intermediate=first_int(cfgs, "intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size"),
        k_dim=k_dim,
        v_dim=v_dim,
    )


def kv_elements_per_token(cfg: dict[str, Any]) -> int | None:
    """K + V elements cached per token over all layers: layers x kv heads x (k + v width)."""
    s = shape(cfg)
    if not (s.layers and s.kv_heads and s.k_dim and s.v_dim):
        return None
    return s.layers * s.kv_heads * (s.k_dim + s.v_dim)


def moe_from_config(cfg: dict[str, Any]) -> MoEInfo | None:
    """Expert counts under the names the families use: Mixtral `num_local_experts`, Qwen MoE
    `num_experts`, DeepSeek `n_routed_experts` (+ `n_shared_experts`), others `moe_num_experts`;
    experts per token is `num_experts_per_tok` (or `moe_top_k` / `experts_per_token`)."""
    cfgs = text_cfgs(cfg)
    experts = first_int(
        cfgs, "num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts", "n_experts"
    )
    per_token = first_int(
        cfgs, "num_experts_per_tok", "moe_top_k", "experts_per_token", "num_selected_experts"
    )
    if not experts or experts < 2 or not per_token:
        return None
    shared = first_int(cfgs, "n_shared_experts", "num_shared_experts", "moe_num_shared_experts")
    if shared is None and first_int(cfgs, "shared_expert_intermediate_size"):
        shared = 1  # Qwen MoE: one shared expert, sized separately
    return MoEInfo(
        num_experts=experts, experts_per_token=min(per_token, experts), shared_experts=shared or 0
    )
