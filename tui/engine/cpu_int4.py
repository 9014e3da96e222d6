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

from typing import Any

# Weights per scale/zero pair; also the multiple the input size must be. 32 is llama.cpp's
# Q4_1 block, and the smallest group inductor's int4 micro-GEMM accepts.
GROUP = 32
# The packing kernel's rule for the output size.
ROWS = 16


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


def _int4_linear_class() -> Any:
    import torch

    class Int4Linear(torch.nn.Module):
        """A Linear whose weight is packed int4 (plus bf16 scale/zero per group).

        Defined inside a function: torch is imported lazily, in the loading worker."""

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            weight = linear.weight.detach().float()
            out_f, in_f = weight.shape
            groups = weight.reshape(out_f, in_f // GROUP, GROUP)
            low = groups.amin(-1, keepdim=True)
            high = groups.amax(-1, keepdim=True)
            scale = ((high - low) / 15).clamp(min=1e-10)
            q = torch.round((groups - low) / scale).clamp(0, 15).to(torch.int32)
            # The kernel reads a level q as (q - 8) * scale + zero.
            zero = low + 8 * scale
            packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(
                q.reshape(out_f, in_f).contiguous(), 1
            )
            scales_zeros = torch.stack([scale.squeeze(-1), zero.squeeze(-1)], dim=-1)
            self.register_buffer("packed", packed)
            # [in / GROUP, out, 2], as the kernel wants it.
            self.register_buffer(
                "scales_zeros", scales_zeros.transpose(0, 1).contiguous().to(torch.bfloat16)
            )
            self.bias = linear.bias
            self.in_features = in_f
            self.out_features = out_f

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shape = x.shape
            flat = x.reshape(-1, shape[-1]).to(torch.bfloat16)
            y = torch.ops.aten._weight_int4pack_mm_for_cpu(
                flat, self.packed, GROUP, self.scales_zeros
            )
            y = y.reshape(*shape[:-1], self.out_features).to(x.dtype)
            return y + self.bias if self.bias is not None else y

        def extra_repr(self) -> str:
            return f"in={self.in_features}, out={self.out_features}, int4 g{GROUP}"

    return Int4Linear


def _int8_linear_class() -> Any:
    import torch

    class Int8Linear(torch.nn.Module):
        """A Linear with int8 weights, one scale per output row: the output layer."""

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            weight = linear.weight.detach().float()
            scale = (weight.abs().amax(dim=1) / 127).clamp(min=1e-10)
            q = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
            self.register_buffer("packed", q.contiguous())
            self.register_buffer("scales", scale.to(torch.bfloat16))
            self.bias = linear.bias
            self.in_features = linear.in_features
            self.out_features = linear.out_features

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shape = x.shape
            flat = x.reshape(-1, shape[-1]).to(torch.bfloat16)
            y = torch.ops.aten._weight_int8pack_mm(flat, self.packed, self.scales)
            y = y.reshape(*shape[:-1], self.out_features).to(x.dtype)
            return y + self.bias if self.bias is not None else y

        def extra_repr(self) -> str:
            return f"in={self.in_features}, out={self.out_features}, int8"

    return Int8Linear


def quantize_int4(model: Any) -> str | None:
    """Replace every Linear that fits with an Int4Linear (the output layer: Int8Linear), in
    place.

    The input embedding stays in full precision (a lookup reads one row per token); when the
    output layer shared its weight with it, the two are simply no longer tied. Returns a note
    for the user when some layers had to stay in full precision, else None."""
    import torch

    int4_linear = _int4_linear_class()
    int8_linear = _int8_linear_class()
    output = model.get_output_embeddings()
    # Packed weights are buffers, not parameters: the count the user sees is taken before.
    model.tchat_parameters = model.num_parameters()
    kept: list[str] = []
    done = 0
    for parent_name, parent in list(model.named_modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, torch.nn.Linear):
                continue
            full = f"{parent_name}.{name}" if parent_name else name
            if child is output and child.in_features % GROUP == 0:
                setattr(parent, name, int8_linear(child))
            elif child is not output and fits(child.out_features, child.in_features):
                setattr(parent, name, int4_linear(child))
                done += 1
            else:
                kept.append(f"{full} ({child.out_features}x{child.in_features})")
    if not done:
        from tui.engine.backend import EngineError

        raise EngineError(
            "4-bit cannot quantize this model on the CPU: PyTorch's int4 kernel needs layers "
            f"with outputs in multiples of {ROWS} and inputs in multiples of {GROUP}.",
            "Load it without --quantize, or with --quantize 8bit.",
        )
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
