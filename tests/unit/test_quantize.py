"""Quantized loads on the CPU, and the load errors a user can act on.

On a machine without a GPU, `--quantize 8bit` uses PyTorch's int8 kernels (cpu_quant.py: about
2.4x fp32, where bitsandbytes' CPU 8-bit was slower than fp32) and `--quantize 4bit` uses
bitsandbytes' CPU nf4 kernels (bitsandbytes >= 0.46). These tests load the tiny model both ways
through the real backend.
The failures (bitsandbytes unusable on this device, out of memory while loading) are produced
through the same code paths transformers takes, and each must end in an EngineError with a
hint; a failed load must leave the model loaded before it in use.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tui.engine.backend import EngineError, LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings

HELLO = [{"role": "user", "content": "Hello there"}]


def _linear_types(model) -> set[str]:  # noqa: ANN001
    """Each Linear layer's class, with its module: PyTorch's dynamic int8 Linear is also
    called `Linear` (in torch.ao.nn.quantized.dynamic)."""
    return {
        f"{type(m).__module__}.{type(m).__name__}"
        for m in model.modules()
        if "Linear" in type(m).__name__
    }


@pytest.mark.parametrize(
    ("quantize", "layer", "weight_dtype"),
    [
        ("8bit", "quantized.dynamic.modules.linear.Linear", "torch.qint8"),
        ("4bit", "bitsandbytes.nn.modules.Linear4bit", "torch.uint8"),
    ],
)
def test_quantized_model_loads_and_generates_on_the_cpu(
    tiny_model: Path, quantize: str, layer: str, weight_dtype: str
) -> None:
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model), device="cpu", quantize=quantize))
    assert info.quantization == quantize and info.device == "cpu"
    assert any(name.endswith(layer) for name in _linear_types(backend.model))
    up = backend.model.model.layers[0].mlp.up_proj
    weight = up.weight() if callable(up.weight) else up.weight
    assert str(weight.dtype) == weight_dtype
    reply = backend.stream(
        HELLO, GenerationSettings(max_new_tokens=5, do_sample=False), threading.Event()
    )
    text = "".join(reply)
    assert reply.error is None and reply.stats.new_tokens == 5 and text


def test_4bit_reports_the_real_parameter_count(tiny_model: Path) -> None:
    """bitsandbytes packs two 4-bit weights per stored byte: a plain numel() would report
    about half the parameters of the quantized layers, and the gauges' roofline with it."""
    plain = TransformersBackend().load(LoadSpec(model=str(tiny_model), device="cpu"))
    four = TransformersBackend().load(
        LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit")
    )
    assert four.parameters == plain.parameters


def test_auto_device_quantizes_on_the_cpu_when_there_is_no_gpu(tiny_model: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: auto picks it")
    info = TransformersBackend().load(LoadSpec(model=str(tiny_model), quantize="4bit"))
    assert info.device == "cpu" and info.quantization == "4bit"


def test_bitsandbytes_without_a_backend_for_this_device_says_so(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a machine whose device bitsandbytes has no kernels for (e.g. an old bitsandbytes
    on the CPU, or ROCm without its build) sees: transformers' own device check fails."""
    import bitsandbytes

    monkeypatch.setattr(bitsandbytes, "supported_torch_devices", {"xpu"}, raising=False)
    with pytest.raises(EngineError) as err:
        TransformersBackend().load(LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit"))
    assert err.value.message.startswith("bitsandbytes cannot quantize on this device: ")
    assert "without --quantize" in err.value.hint


def test_out_of_memory_while_loading_keeps_the_old_model(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    backend = TransformersBackend()
    backend.load(LoadSpec(model=str(tiny_model)))
    old = backend.model

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", out_of_memory)
    with pytest.raises(EngineError) as err:
        backend.load(LoadSpec(model=str(tiny_model), dtype="fp32"))
    assert "Out of GPU memory while loading" in err.value.message
    assert "--quantize 4bit" in err.value.hint
    assert backend.model is old
    reply = backend.stream(HELLO, GenerationSettings(max_new_tokens=3), threading.Event())
    assert "".join(reply) and reply.error is None


def test_attention_implementation_is_passed_to_transformers(tiny_model: Path) -> None:
    backend = TransformersBackend()
    backend.load(LoadSpec(model=str(tiny_model), attn_implementation="eager"))
    assert backend.model.config._attn_implementation == "eager"
    backend.load(LoadSpec(model=str(tiny_model), attn_implementation="sdpa"))
    assert backend.model.config._attn_implementation == "sdpa"


def test_unknown_attention_implementation_is_a_clear_error(tiny_model: Path) -> None:
    with pytest.raises(EngineError) as err:
        TransformersBackend().load(
            LoadSpec(model=str(tiny_model), attn_implementation="flash_attention_9")
        )
    assert "Could not load" in err.value.message and "flash_attention_9" in err.value.message
