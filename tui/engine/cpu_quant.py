"""8-bit weights on the CPU: PyTorch's dynamic int8 quantization of the Linear layers.

Why: decoding reads every weight once per token, so on a CPU its speed is set by how many bytes
the weights take. The default model in fp32 is about 540 MB a token; int8 weights are a quarter
of that, and PyTorch's fbgemm kernels (x86, AVX2 and up) multiply them directly. Measured on
SmolLM2-135M on a 2-core AMD EPYC (bench/vs_llama_cpp.py): about 2.4x the fp32 decode speed,
where bitsandbytes (made for GPUs) was slower than fp32 on the CPU, and torchao's int8
weight-only + torch.compile was 4x slower (its CPU kernel for one-token matmuls is poor).

Caveat: PyTorch has deprecated these quantized tensor types (pytorch#184982) and will remove
them in a later release; `available()` and the fallback to bitsandbytes keep tchat working
then, and torchao is the successor to evaluate (its int8 weight-only path was slow here).

The price: activations are quantized per token too, so greedy replies can differ from fp32's
in wording (the bench checks a few fixed questions keep their answer). That is why it is an
explicit choice (`--quantize 8bit` on the CPU), never something the fast path does silently.
"""

from __future__ import annotations

import warnings
from typing import Any


def available() -> bool:
    """fbgemm (x86) or qnnpack (ARM) is compiled into this torch."""
    import torch

    return bool(torch.backends.quantized.supported_engines) and any(
        e in torch.backends.quantized.supported_engines for e in ("fbgemm", "x86", "qnnpack")
    )


def quantize_int8(model: Any) -> Any:
    """Replace every nn.Linear (the LM head included) with a dynamic int8 one, per channel.

    Per-channel weight scales: one scale per output row, the finer of the two choices, which
    matters for a small model. Works in place and returns the model; fp32 models only."""
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    # torch 2.13 warns that its quantized tensors are deprecated (pytorch#184982) while they
    # still work; a warning on stderr would scribble over the full-screen UI.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        quantize_dynamic(
            model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True
        )
    # The fast path reads this: these modules recompile without end under torch.compile.
    model.tchat_int8 = True
    return model
