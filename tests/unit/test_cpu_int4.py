"""`--quantize 4bit` on the CPU: PyTorch's packed int4 kernels (tui/engine/cpu_int4.py).

What a user gets: the model's Linear layers packed to 4 bits (those whose shape the kernel
cannot take stay in full precision, and a note says which), replies that work, the real
parameter count in the gauges, and a fast path that may compile it. The compiled int4 reply
itself is checked in test_compiled_steps.py; speed is the bench's job.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tui.engine import cpu_int4, fast_path
from tui.engine.backend import LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings

HELLO = [{"role": "user", "content": "Hello there"}]

pytestmark = pytest.mark.skipif(not cpu_int4.available(), reason="torch without CPU int4 ops")


def test_4bit_on_the_cpu_packs_the_layers_and_replies(tiny_model: Path) -> None:
    backend = TransformersBackend(fast="off")
    plain = TransformersBackend(fast="off").load(LoadSpec(model=str(tiny_model), device="cpu"))
    info = backend.load(LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit"))
    model = backend.model
    kinds = {type(m).__name__ for m in model.modules()}
    assert "PackedLinear" in kinds and "Linear4bit" not in kinds  # not bitsandbytes
    assert model.model.layers[0].mlp.down_proj.bits == 4
    assert model.lm_head.bits == 8  # the output layer: 8 bits
    assert info.quantization_note is None  # every layer fit
    assert info.quantization == "4bit"
    assert info.parameters == plain.parameters  # packed weights are buffers, counted before
    reply = backend.stream(
        HELLO, GenerationSettings(max_new_tokens=5, do_sample=False), threading.Event()
    )
    assert "".join(reply) and reply.error is None and reply.stats.new_tokens == 5


def test_layers_the_kernel_cannot_take_stay_and_a_note_says_which(tmp_path: Path) -> None:
    from tests.helpers.tiny_models import build_model

    narrow = build_model(tmp_path / "narrow", intermediate_size=48)  # down_proj: 48 inputs
    backend = TransformersBackend(fast="off")
    info = backend.load(LoadSpec(model=str(narrow), device="cpu", quantize="4bit"))
    mlp = backend.model.model.layers[0].mlp
    assert getattr(mlp.up_proj, "bits", None) == 4  # 48 x 32: fits
    assert type(mlp.down_proj).__name__ == "Linear"  # 32 x 48: inputs not a multiple of 32
    assert info.quantization_note and "model.layers.0.mlp.down_proj (32x48)" in (
        info.quantization_note
    )
    assert "kept 2 of 14 layers in full precision" in info.quantization_note


def test_weights_on_a_q4_1_grid_come_back_exactly() -> None:
    """A Q4_1 GGUF's weights (per group of 32: minimum + step x level, 16 levels), as the
    default model's are, keep their values: the 4-bit layer computes what the fp32 one does,
    up to the bf16 rounding of its input and scales."""
    import torch

    torch.manual_seed(0)
    out_f, in_f = 32, 64
    levels = torch.randint(0, 16, (out_f, in_f // 32, 32)).float()
    levels[..., 0], levels[..., 1] = 0, 15  # each group spans its whole range, as in Q4_1
    step = torch.rand(out_f, in_f // 32, 1) * 0.01 + 0.001
    low = torch.randn(out_f, in_f // 32, 1) * 0.05
    linear = torch.nn.Linear(in_f, out_f, bias=False)
    with torch.no_grad():
        linear.weight.copy_((low + step * levels).reshape(out_f, in_f))
    packed = cpu_int4.packed_linear(linear, 4)
    x = torch.randn(3, in_f).bfloat16().float()
    with torch.no_grad():
        expected = linear(x)
        got = packed(x)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=0.02, atol=0.02 * float(expected.abs().max()))


def test_a_second_load_reads_the_packed_weights_kept_in_the_cache(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    first = TransformersBackend(fast="off")
    first.load(LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit"))
    packs: list[object] = []
    monkeypatch.setattr(cpu_int4, "_pack_int4", lambda w: packs.append(w))  # must not run
    second = TransformersBackend(fast="off")
    second.load(LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit"))
    assert not packs
    a = first.model.model.layers[1].mlp.gate_proj
    b = second.model.model.layers[1].mlp.gate_proj
    assert torch.equal(a.packed, b.packed) and torch.equal(a.scales, b.scales)
    settings = GenerationSettings(max_new_tokens=8, do_sample=False)
    assert "".join(first.stream(HELLO, settings, threading.Event())) == "".join(
        second.stream(HELLO, settings, threading.Event())
    )


def test_shapes_the_kernel_cannot_take_stay_in_full_precision() -> None:
    assert cpu_int4.fits(64, 576) and cpu_int4.fits(192, 576)
    assert not cpu_int4.fits(259, 32)  # rows not a multiple of 16
    assert not cpu_int4.fits(64, 48)  # inputs not a multiple of the 32-weight group


def test_the_fast_path_may_compile_int4_weights(tiny_model: Path) -> None:
    backend = TransformersBackend(fast="off")
    backend.load(LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit"))
    decision = fast_path.decide("on", backend.model)
    assert decision.use, decision.reason


def test_bitsandbytes_stays_available_on_request(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cpu_int4.ENV_VAR, "bitsandbytes")
    backend = TransformersBackend(fast="off")
    backend.load(LoadSpec(model=str(tiny_model), device="cpu", quantize="4bit"))
    assert any(type(m).__name__ == "Linear4bit" for m in backend.model.modules())
