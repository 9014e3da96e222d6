"""Quantized loads on the CPU, and the load errors a user can act on.

On a machine without a GPU, `--quantize 8bit` uses PyTorch's int8 kernels (cpu_quant.py: about
2.4x fp32, where bitsandbytes' CPU 8-bit was slower than fp32) and `--quantize 4bit` uses
PyTorch's int4 kernels (cpu_int4.py, tested in test_cpu_int4.py), or bitsandbytes' CPU nf4
kernels (bitsandbytes >= 0.46) where torch lacks them: the 4-bit tests here keep that path
(TCHAT_CPU_4BIT=bitsandbytes). These tests load the tiny model both ways through the real
backend.
The failures (bitsandbytes unusable on this device, out of memory while loading) are produced
through the same code paths transformers takes, and each must end in an EngineError with a
hint; a failed load must leave the model loaded before it in use.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tui.engine import four_bit_shapes
from tui.engine.backend import EngineError, LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings

HELLO = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(autouse=True)
def _bitsandbytes_for_4bit(monkeypatch: pytest.MonkeyPatch) -> None:
    """bitsandbytes' CPU 4-bit, the fallback these tests are about."""
    monkeypatch.setenv("TCHAT_CPU_4BIT", "bitsandbytes")


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
    # down_proj (32 x 64) is a shape every CPU's 4-bit kernel runs (four_bit_shapes.py).
    down = backend.model.model.layers[0].mlp.down_proj
    weight = down.weight() if callable(down.weight) else down.weight
    assert str(weight.dtype) == weight_dtype
    reply = backend.stream(
        HELLO, GenerationSettings(max_new_tokens=5, do_sample=False), threading.Event()
    )
    text = "".join(reply)
    assert reply.error is None and reply.stats.new_tokens == 5 and text


# (out, in) shapes around bitsandbytes' CPU repack limits: rows in blocks of 32, inputs in
# blocks of 64. The tiny model's layers are 32x32, 16x32, 64x32 and 32x64.
REPACK_SHAPES = [(32, 32), (16, 32), (64, 32), (32, 64), (16, 64), (48, 64), (64, 128), (32, 96)]


@pytest.mark.parametrize(("out_f", "in_f"), REPACK_SHAPES)
def test_the_shape_rule_matches_bitsandbytes_own_cpu_repack(out_f: int, in_f: int) -> None:
    """On AVX512-BF16 CPUs bitsandbytes repacks each 4-bit weight at its first forward; that
    repack is plain torch, so it runs here on any CPU: tchat's rule must call a shape
    unfit exactly when the repack fails (issue 19: "shape '[32, 0]' is invalid")."""
    import bitsandbytes.functional as bnb_f
    import torch

    quantized, state = bnb_f.quantize_4bit(
        torch.randn(out_f, in_f), blocksize=four_bit_shapes.BLOCK, quant_type="nf4"
    )
    try:
        bnb_f._convert_weight_packed_for_cpu(quantized, state)
        repacked = True
    except (RuntimeError, AssertionError):
        repacked = False
    assert four_bit_shapes.repack_fits(out_f, in_f) is repacked


def _pretend_the_cpu_repacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(four_bit_shapes, "cpu_repacks_4bit", lambda: True)


def test_4bit_on_a_repacking_cpu_keeps_unfit_layers_and_says_so(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user on an AVX512-BF16 CPU gets for a model with odd layer shapes: a load that
    keeps those layers in full precision and a note naming them, never a failed first reply.
    (Here the CPU check is forced; test_4bit_generates_on_this_cpus_own_kernel runs the
    real kernel where the CPU has it.)"""
    import torch

    _pretend_the_cpu_repacks(monkeypatch)
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit"))
    mlp = backend.model.model.layers[0].mlp
    assert type(mlp.down_proj).__name__ == "Linear4bit"  # 32 x 64: fits
    assert type(mlp.up_proj) is torch.nn.Linear  # 64 x 32: inputs not a multiple of 64
    assert type(backend.model.lm_head) is torch.nn.Linear  # the output embedding, as default
    assert info.quantization == "4bit" and info.quantization_note
    assert "kept 12 of 14 layers unquantized" in info.quantization_note
    assert "model.layers.0.self_attn.q_proj (32x32)" in info.quantization_note
    reply = backend.stream(
        HELLO, GenerationSettings(max_new_tokens=5, do_sample=False), threading.Event()
    )
    assert "".join(reply) and reply.error is None


def test_4bit_refuses_a_model_with_no_layer_the_cpu_kernel_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers.tiny_models import build_model

    narrow = build_model(tmp_path / "narrow", intermediate_size=48)  # no input is 64-wide
    _pretend_the_cpu_repacks(monkeypatch)
    backend = TransformersBackend()
    with pytest.raises(EngineError) as err:
        backend.load(LoadSpec(model=str(narrow), device="cpu", quantize="4bit"))
    assert err.value.message.startswith("4-bit cannot quantize this model on this CPU")
    assert "--quantize 8bit" in err.value.hint
    assert backend.model is None


@pytest.mark.skipif(
    not four_bit_shapes.cpu_repacks_4bit(),
    reason="needs a CPU with AVX512-BF16, where bitsandbytes repacks 4-bit weights",
)
def test_4bit_generates_on_this_cpus_own_kernel(tiny_model: Path) -> None:
    """The case of issue 19 on the CPU it fails on: the tiny model's 32-wide layers."""
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit"))
    reply = backend.stream(
        HELLO, GenerationSettings(max_new_tokens=5, do_sample=False), threading.Event()
    )
    assert "".join(reply) and reply.error is None, reply.error
    assert info.quantization_note


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
