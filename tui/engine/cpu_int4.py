"""4-bit weights on the CPU: PyTorch's own packed int4 kernels, weight-only.

Why: a decode step reads every weight once, so on a CPU its speed follows the bytes a weight
takes: 4 in fp32, 1 in int8, about 0.56 in 4-bit with one scale and zero per 32 weights.
PyTorch ships a packed int4 matmul for the CPU (`aten._weight_int4pack_mm_for_cpu`, with
`aten._convert_weight_to_int4pack_for_cpu` to pack), and inductor has a C++ micro-GEMM for it
(AVX-512) that the compiled decode step (aot_decode.py) uses: together they are what brings
tchat near llama.cpp on its own Q4 file. bitsandbytes' 4-bit, made for GPUs, dequantizes on
the CPU and ran slower than fp32 here; torchao's CPU int4 layout (now a prototype there) is a
wrapper over these same two ATen ops, so tchat calls them directly and needs no extra package.

The scheme is the one llama.cpp calls Q4_1: groups of 32 weights along the input dimension,
each with its own scale and minimum (asymmetric), 16 levels. So a model that came from a
Q4_1 GGUF file (the bundled default) gets its 4-bit weights back as they were in the file:
the minimum and maximum of each group are exactly two of its levels, and greedy answers to
the bench's fixed questions came out word for word as fp32's. The output layer gets 8 bits
(one scale per row, `aten._weight_int8pack_mm`), as llama.cpp keeps it (Q8_0): in 4 bits
it changed answers ("the capital of France is L'Etoile").

Activations enter each matmul in bf16 (the kernels' input type; the residual stream and
everything else stay fp32), so greedy replies can differ from fp32's in wording, as with
`--quantize 8bit`: an explicit choice (`--quantize 4bit` on the CPU), never a silent one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

# Weights per scale/zero pair; also the multiple the input size must be. 32 is llama.cpp's
# Q4_1 block, and the smallest group inductor's int4 micro-GEMM accepts.
GROUP = 32
# The packing kernel's rule for the output size.
ROWS = 16
# Bump when the packing changes: packed weights kept in the cache then no longer match.
CACHE_VERSION = 1


def available() -> bool:
    """This torch has the CPU int4 kernels (2.6 and later)."""
    try:
        import torch

        return hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu") and hasattr(
            torch.ops.aten, "_convert_weight_to_int4pack_for_cpu"
        )
    except ImportError:
        return False


# TCHAT_CPU_4BIT=bitsandbytes keeps bitsandbytes' CPU 4-bit (to compare, or to test it).
ENV_VAR = "TCHAT_CPU_4BIT"


def wanted() -> bool:
    """Whether `--quantize 4bit` on the CPU takes this path (else bitsandbytes)."""
    import os

    return available() and os.environ.get(ENV_VAR, "") != "bitsandbytes"


def fits(out_features: int, in_features: int) -> bool:
    """Whether a Linear of this shape can be packed (others stay in full precision)."""
    return out_features % ROWS == 0 and in_features % GROUP == 0


def _pack_int4(weight: Any) -> tuple[Any, Any]:
    """(packed int4, bf16 scales and zeros [in / GROUP, out, 2]) for a float weight [out, in]."""
    import torch

    weight = weight.detach().float()
    out_f, in_f = weight.shape
    groups = weight.reshape(out_f, in_f // GROUP, GROUP)
    low = groups.amin(-1, keepdim=True)
    high = groups.amax(-1, keepdim=True)
    scale = ((high - low) / 15).clamp(min=1e-10)
    q = torch.round((groups - low) / scale).clamp(0, 15).to(torch.int32)
    zero = low + 8 * scale  # the kernel reads a level q as (q - 8) * scale + zero
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(
        q.reshape(out_f, in_f).contiguous(), 1
    )
    scales_zeros = torch.stack([scale.squeeze(-1), zero.squeeze(-1)], dim=-1)
    return packed, scales_zeros.transpose(0, 1).contiguous().to(torch.bfloat16)


def _pack_int8(weight: Any) -> tuple[Any, Any]:
    """(int8 weight [out, in], bf16 scale per output row) for a float weight."""
    import torch

    weight = weight.detach().float()
    scale = (weight.abs().amax(dim=1) / 127).clamp(min=1e-10)
    q = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q.contiguous(), scale.to(torch.bfloat16)


@functools.cache
def _linear_class() -> Any:
    import torch

    class PackedLinear(torch.nn.Module):
        """A Linear whose weight is packed: int4 in groups of GROUP (`bits` 4, PyTorch's
        `_weight_int4pack_mm_for_cpu`), or int8 per output row (`bits` 8,
        `_weight_int8pack_mm`). Activations enter in bf16, the kernels' input type.

        Defined inside a function: torch is imported lazily, in the loading worker."""

        def __init__(
            self, bits: int, packed: Any, scales: Any, bias: Any, in_f: int, out_f: int
        ) -> None:
            super().__init__()
            self.bits = bits
            self.register_buffer("packed", packed)
            self.register_buffer("scales", scales)
            self.bias = bias
            self.in_features = in_f
            self.out_features = out_f

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shape = x.shape
            flat = x.reshape(-1, shape[-1]).to(torch.bfloat16)
            if self.bits == 4:
                y = torch.ops.aten._weight_int4pack_mm_for_cpu(
                    flat, self.packed, GROUP, self.scales
                )
            else:
                y = torch.ops.aten._weight_int8pack_mm(flat, self.packed, self.scales)
            y = y.reshape(*shape[:-1], self.out_features).to(x.dtype)
            return y + self.bias if self.bias is not None else y

        def extra_repr(self) -> str:
            kind = f"int4 g{GROUP}" if self.bits == 4 else "int8"
            return f"in={self.in_features}, out={self.out_features}, {kind}"

    return PackedLinear


def packed_linear(linear: Any, bits: int, cached: dict[str, Any] | None = None) -> Any:
    """A PackedLinear for `linear`, from `cached` {"packed", "scales"} when given."""
    if cached is not None:
        packed, scales = cached["packed"], cached["scales"]
    else:
        packed, scales = (_pack_int4 if bits == 4 else _pack_int8)(linear.weight)
    return _linear_class()(
        bits, packed, scales, linear.bias, linear.in_features, linear.out_features
    )


def _cache_path(model: Any) -> Path:
    """Where this model's packed weights are kept: by its float weights' fingerprint."""
    from tui import paths
    from tui.engine.step_store import fingerprint

    return paths.cache_dir() / "int4" / f"{fingerprint(model)[:32]}-v{CACHE_VERSION}.safetensors"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        from safetensors.torch import load_file

        # Copied out of the file's mapping: the kernels want their buffers aligned as
        # torch allocates them (a tensor at an odd offset in the file crashed int8's).
        return {k: v.clone() for k, v in load_file(str(path)).items()}
    except Exception:  # noqa: BLE001 - no cache, or a broken one: pack again
        return {}


def _write_cache(path: Path, tensors: dict[str, Any]) -> None:
    import os

    from safetensors.torch import save_file

    from tui import paths

    try:
        paths.ensure_private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
        os.replace(tmp, path)
    except OSError:
        pass  # a full disk only means packing again next time


def quantize_int4(model: Any) -> str | None:
    """Replace every Linear that fits with an int4 PackedLinear (the output layer: int8), in
    place.

    The input embedding stays in full precision (a lookup reads one row per token); when the
    output layer shared its weight with it, the two are simply no longer tied. Packing 135M
    weights takes seconds on a small CPU, so the packed weights are kept in the cache
    (`$XDG_CACHE_HOME/tchat/int4/`, by the float weights' fingerprint) and a later load reads
    them instead. Returns a note for the user when some layers had to stay in full precision,
    else None."""
    import torch

    output = model.get_output_embeddings()
    # Packed weights are buffers, not parameters: the count the user sees is taken before.
    model.tchat_parameters = model.num_parameters()
    path = _cache_path(model)
    cached = _read_cache(path)
    packed: dict[str, Any] = {}
    kept: list[str] = []
    done = 0
    for parent_name, parent in list(model.named_modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, torch.nn.Linear):
                continue
            full = f"{parent_name}.{name}" if parent_name else name
            if child is output and child.in_features % GROUP == 0:
                bits = 8
            elif child is not output and fits(child.out_features, child.in_features):
                bits = 4
            else:
                kept.append(f"{full} ({child.out_features}x{child.in_features})")
                continue
            mine = {
                k: cached[f"{full}.{k}"] for k in ("packed", "scales") if f"{full}.{k}" in cached
            }
            layer = packed_linear(child, bits, mine if len(mine) == 2 else None)
            setattr(parent, name, layer)
            packed[f"{full}.packed"], packed[f"{full}.scales"] = layer.packed, layer.scales
            done += bits == 4
    if not done:
        from tui.engine.backend import EngineError

        raise EngineError(
            "4-bit cannot quantize this model on the CPU: PyTorch's int4 kernel needs layers "
            f"with outputs in multiples of {ROWS} and inputs in multiples of {GROUP}.",
            "Load it without --quantize, or with --quantize 8bit.",
        )
    if set(packed) != set(cached):
        _write_cache(path, packed)
    # Tied weights are no longer tied: transformers must not tie them back on save or reload.
    if getattr(model.config, "tie_word_embeddings", False):
        model.config.tie_word_embeddings = False
    model.tchat_int4 = True  # the fast path reads it: the compiled step keys on it
    if not kept:
        return None
    shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
    return (
        f"4-bit: kept {len(kept)} of {len(kept) + done} layers in full precision: the CPU "
        f"int4 kernel needs outputs in multiples of {ROWS} and inputs in multiples of "
        f"{GROUP}: {shown}."
    )
