"""The tensor table at the front of a .safetensors file, read without the weights.

A safetensors file starts with an 8-byte length and a JSON header naming every tensor's shape
and dtype: summing the shapes gives what `sum(p.numel())` would say after loading, in a few
KB of reading however large the file is. No torch, no safetensors import.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.models.dtypes import short_dtype

# A routed expert's weights: "...mlp.experts.3.w1.weight" or fused "...mlp.experts.gate_up_proj".
# "shared_experts." / "shared_expert." do not match: shared experts run for every token.
_EXPERT_NAME = re.compile(r"(^|\.)experts\.")
# Buffers some checkpoints store beside the weights; model.parameters() does not count them.
_BUFFER_SUFFIXES = ("rotary_emb.inv_freq", "e_score_correction_bias", "attn.masked_bias")
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit; anything larger is a corrupt file


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a .safetensors file: 8-byte little-endian length, then JSON.
    Reads a few KB however large the file is."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path.name}: too short for a safetensors file")
        (length,) = struct.unpack("<Q", raw)
        if length > _MAX_HEADER:
            raise ValueError(f"{path.name}: header length {length} is not plausible")
        header = json.loads(fh.read(length))
    if not isinstance(header, dict):
        raise ValueError(f"{path.name}: header is not a JSON object")
    return header


@dataclass(frozen=True)
class TensorCount:
    """Sums over a checkpoint's tensor table: what `sum(p.numel())` would say after loading."""

    parameters: int
    expert_params: int
    embedding_params: int  # embed_tokens / wte / lm_head, for the quantized-memory estimate
    dtype_elements: dict[str, int]

    @property
    def dtype(self) -> str | None:
        """The dtype most weights are stored in (norms are often kept in fp32)."""
        if not self.dtype_elements:
            return None
        return short_dtype(max(self.dtype_elements.items(), key=lambda kv: kv[1])[0])


_EMBEDDING_NAME = re.compile(r"(embed_tokens|wte|word_embeddings|lm_head|embed_out)\.weight$")


def count_safetensors(files: list[Path]) -> TensorCount:
    params = experts = embeddings = 0
    dtypes: dict[str, int] = {}
    for path in files:
        for name, info in read_safetensors_header(path).items():
            if name == "__metadata__" or not isinstance(info, dict):
                continue
            shape = info.get("shape") or []
            # GPT-2's old checkpoints store the causal mask as "h.N.attn.bias" (4-D).
            if name.endswith(_BUFFER_SUFFIXES) or (name.endswith("attn.bias") and len(shape) == 4):
                continue
            n = math.prod(shape)
            params += n
            if _EXPERT_NAME.search(name):
                experts += n
            if _EMBEDDING_NAME.search(name):
                embeddings += n
            dtype = str(info.get("dtype", "?"))
            dtypes[dtype] = dtypes.get(dtype, 0) + n
    return TensorCount(params, experts, embeddings, dtypes)
