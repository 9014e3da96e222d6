"""Which layers bitsandbytes' 4-bit CPU path can run on this CPU, decided before loading.

On a CPU with AVX512-BF16 (bitsandbytes' `has_avx512bf16()`), bitsandbytes >= 0.49 repacks
each 4-bit weight for its fused bf16 kernel at the layer's first forward
(`_convert_weight_packed_for_cpu`). The repack groups output rows in blocks of 32 and reshapes
the per-block scales to (out, in / 64), so a layer whose out_features is not a multiple of 32,
or whose in_features is not a multiple of the 64-value quantization block, fails there:
"shape '[32, 0]' is invalid for input of size 16", or "N must be divisible by block_n". That
happens in the first reply, after a load that looked fine. Other CPUs dequantize instead and
run any shape.

So tchat lists such layers before loading, keeps them in full precision (bitsandbytes'
`llm_int8_skip_modules`) and says so; when no layer is left to quantize, it refuses 4-bit with
a message instead. tests/unit/test_quantize.py checks the rule against bitsandbytes' own repack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# bitsandbytes' CPU repack: rows per packed block, and the 4-bit quantization block size.
PACK_ROWS = 32
BLOCK = 64


def cpu_repacks_4bit() -> bool:
    """Whether bitsandbytes will repack 4-bit weights for its fused kernel on this CPU."""
    try:
        from bitsandbytes.functional import has_avx512bf16
    except ImportError:  # an old bitsandbytes, or none: the load reports that itself
        return False
    return bool(has_avx512bf16())


def repack_fits(out_features: int, in_features: int) -> bool:
    """Whether a (out, in) Linear survives the AVX512-BF16 repack."""
    return out_features % PACK_ROWS == 0 and in_features % BLOCK == 0


@dataclass(frozen=True)
class FourBitPlan:
    """The layers to keep unquantized, and what to tell the user about them."""

    keep: list[str]  # module names, for BitsAndBytesConfig(llm_int8_skip_modules=...)
    quantizable: int  # Linear layers that will be 4-bit
    note: str | None  # shown once the model is loaded; None when nothing was kept


def plan(model: Any) -> FourBitPlan:
    """Plan a 4-bit load for this CPU from a model built on the meta device (no weights).

    The output embedding is always kept, as transformers does by default (the skip list
    given to bitsandbytes replaces its default list, so it must be named here)."""
    import torch

    output = model.get_output_embeddings()
    keep: list[str] = []
    odd: list[str] = []
    quantizable = 0
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if module is output:
            keep.append(name)
        elif repack_fits(module.out_features, module.in_features):
            quantizable += 1
        else:
            keep.append(name)
            odd.append(f"{name} ({module.out_features}x{module.in_features})")
    note = None
    if odd and quantizable:
        shown = ", ".join(odd[:3]) + (f" and {len(odd) - 3} more" if len(odd) > 3 else "")
        note = (
            f"4-bit: kept {len(odd)} of {len(odd) + quantizable} layers unquantized: "
            f"bitsandbytes' 4-bit kernel on this CPU (AVX512-BF16) needs outputs in multiples "
            f"of {PACK_ROWS} and inputs in multiples of {BLOCK}: {shown}."
        )
    return FourBitPlan(keep=keep, quantizable=quantizable, note=note)
