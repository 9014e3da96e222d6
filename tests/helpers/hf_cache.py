"""Builders for the model picker's tests: a fake Hugging Face cache and odd model folders.

`place_in_cache` lays a model folder out exactly as huggingface_hub does after a download
(models--org--name/blobs/<hash>, snapshots/<commit>/<file> -> ../../blobs/<hash>, refs/main),
so discovery is tested against the real layout and the real `scan_cache_dir`. The builders
make tiny MoE variants (Qwen MoE with a shared expert, DeepSeek V3 with MLA and dense first
layers), sharded checkpoints, non-causal models and GGUF files without any download.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tests.helpers.tiny_models import build_tokenizer

# Mixtral-8x7B's config.json (the fields sizes depend on): 46.7B total, 12.9B active.
MIXTRAL_8X7B: dict[str, Any] = {
    "architectures": ["MixtralForCausalLM"],
    "model_type": "mixtral",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 32000,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "max_position_embeddings": 32768,
    "sliding_window": None,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


def place_in_cache(folder: Path, cache: Path, repo_id: str, commit: str | None = None) -> Path:
    """Copy `folder` into `cache` as repo `repo_id` and return the snapshot folder."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = commit or hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    for src in sorted(folder.rglob("*")):
        if not src.is_file():
            continue
        data = src.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        if not blob.exists():
            blob.write_bytes(data)
        link = snapshot / src.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def save_tiny(folder: Path, config: Any, *, max_shard_size: str | None = None) -> Path:
    """Save a randomly initialised causal LM for `config`, with the byte-level tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    model.save_pretrained(folder, **kwargs)
    build_tokenizer().save_pretrained(folder)
    return folder


def build_qwen_moe(folder: Path) -> Path:
    """Qwen2-MoE: 8 experts, 2 per token, one shared expert, layer 0 dense (mlp_only_layers)."""
    from transformers import Qwen2MoeConfig

    config = Qwen2MoeConfig(
        vocab_size=259,
        hidden_size=32,
        intermediate_size=64,
        moe_intermediate_size=16,
        shared_expert_intermediate_size=48,
        num_experts=8,
        num_experts_per_tok=2,
        num_hidden_layers=3,
        mlp_only_layers=[0],
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
    )
    return save_tiny(folder, config)


def build_deepseek_moe(folder: Path) -> Path:
    """DeepSeek V3: MLA attention, 8 routed + 1 shared expert, 2 per token, first layer dense."""
    from transformers import DeepseekV3Config

    config = DeepseekV3Config(
        vocab_size=259,
        hidden_size=32,
        intermediate_size=64,
        moe_intermediate_size=16,
        n_routed_experts=8,
        n_shared_experts=1,
        num_experts_per_tok=2,
        n_group=1,
        topk_group=1,
        num_hidden_layers=3,
        first_k_dense_replace=1,
        num_attention_heads=4,
        num_key_value_heads=4,
        q_lora_rank=16,
        kv_lora_rank=16,
        qk_nope_head_dim=8,
        qk_rope_head_dim=4,
        v_head_dim=8,
        max_position_embeddings=2048,
    )
    return save_tiny(folder, config)


def build_sharded_llama(folder: Path) -> Path:
    """A dense Llama saved in several safetensors shards with a model.safetensors.index.json."""
    from transformers import LlamaConfig

    config = LlamaConfig(
        vocab_size=259,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    return save_tiny(folder, config, max_shard_size="20KB")


def build_bert(folder: Path) -> Path:
    """A tiny BertForMaskedLM: a real model, but no chat model (must be left out)."""
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig(
        vocab_size=100,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertForMaskedLM(config).save_pretrained(folder)
    return folder


def write_config(folder: Path, config: dict[str, Any] | str) -> Path:
    """A folder with only a config.json (a dict, or raw text to make it broken)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = config if isinstance(config, str) else json.dumps(config)
    (folder / "config.json").write_text(text, encoding="utf-8")
    return folder


def write_moe_gguf(path: Path, *, experts: int = 4, used: int = 2, chat_template: bool = False):  # noqa: ANN201
    """A tiny llama-architecture MoE GGUF written with gguf's own writer: two blocks with
    attention, a router and stacked expert tensors (ffn_*_exps), f32 throughout.
    Returns (path, total params, routed-expert params)."""
    import gguf
    import numpy as np

    hidden, ff, vocab, blocks = 8, 16, 32, 2
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(blocks)
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(2)
    writer.add_head_count_kv(1)
    writer.add_expert_count(experts)
    writer.add_expert_used_count(used)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_token_list([f"t{i}" for i in range(vocab)] * 20)  # a long array to skip
    if chat_template:
        writer.add_chat_template("{{ messages }}")
    shapes = {"token_embd.weight": (vocab, hidden), "output_norm.weight": (hidden,)}
    expert_total = 0
    for b in range(blocks):
        shapes[f"blk.{b}.attn_q.weight"] = (hidden, hidden)
        shapes[f"blk.{b}.attn_k.weight"] = (hidden // 2, hidden)
        shapes[f"blk.{b}.attn_v.weight"] = (hidden // 2, hidden)
        shapes[f"blk.{b}.attn_output.weight"] = (hidden, hidden)
        shapes[f"blk.{b}.ffn_gate_inp.weight"] = (experts, hidden)
        for part in ("gate", "up"):
            shapes[f"blk.{b}.ffn_{part}_exps.weight"] = (experts, ff, hidden)
        shapes[f"blk.{b}.ffn_down_exps.weight"] = (experts, hidden, ff)
        expert_total += 3 * experts * ff * hidden
    for name, shape in shapes.items():
        writer.add_tensor(name, np.zeros(shape, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    total = sum(int(np.prod(s)) for s in shapes.values())
    return path, total, expert_total
