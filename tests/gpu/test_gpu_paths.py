"""The GPU paths for real: NVML gauges, bf16 by default, device_map="auto", bitsandbytes 8-bit
and 4-bit on CUDA, the fast path (static cache + compile with CUDA graphs), and the gauges pane
in the real app showing the card. Skipped without CUDA (conftest.py)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tui.engine.backend import LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.hardware import HardwareProbe
from tui.store.session import GenerationSettings

HELLO = [{"role": "user", "content": "Hello there"}]
GREEDY = GenerationSettings(max_new_tokens=24, do_sample=False, repetition_penalty=1.0)
GiB = 1024**3


def _reply(backend: TransformersBackend, settings: GenerationSettings = GREEDY) -> str:
    reply = backend.stream(HELLO, settings, threading.Event())
    text = "".join(reply)
    assert reply.error is None, reply.error
    assert reply.stats.new_tokens > 0 and reply.stats.decode_tps
    return text


def test_nvml_reads_the_real_card_and_this_process() -> None:
    import torch

    hold = torch.empty(512 * 1024 * 1024, dtype=torch.uint8, device="cuda")  # 512 MiB
    with HardwareProbe() as probe:
        snap = probe.sample()
    del hold
    assert snap.has_gpu, snap.gpu_off_reason
    gpu = snap.gpus[0]
    print(
        f"\nNVML: {gpu.name}, {gpu.memory_used / GiB:.1f}/{gpu.memory_total / GiB:.1f} GiB, "
        f"util {gpu.utilization}%, {gpu.temperature_c} C, {gpu.power_w} W of "
        f"{gpu.power_limit_w} W, this process {gpu.process_memory}, bandwidth "
        f"{(gpu.peak_bandwidth or 0) / 1e12:.2f} TB/s ({gpu.bandwidth_source}), "
        f"driver {snap.driver_version}"
    )
    assert "NVIDIA" in gpu.name or "H1" in gpu.name or "H2" in gpu.name
    assert gpu.memory_total > 8 * GiB and 0 < gpu.memory_used <= gpu.memory_total
    assert gpu.utilization is not None and 0 <= gpu.utilization <= 100
    assert gpu.peak_bandwidth and gpu.peak_bandwidth > 0.5e12
    torch_view = snap.torch_for(gpu)
    assert torch_view is not None and torch_view.max_allocated >= 512 * 1024 * 1024


def test_auto_loads_bf16_on_the_gpu_through_device_map(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """transformers 5 sets `hf_device_map` only when accelerate splits a model over several
    devices, so what is checked is the argument it got, and where the weights landed."""
    import torch
    from transformers import AutoModelForCausalLM

    seen: list[dict] = []
    real = AutoModelForCausalLM.from_pretrained.__func__  # type: ignore[attr-defined]

    def spy(cls, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(kwargs)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", classmethod(spy))
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model)))
    assert info.device.startswith("cuda") and info.dtype == "bf16"
    assert seen and seen[-1].get("device_map") == "auto"
    assert {p.device.type for p in backend.model.parameters()} == {"cuda"}
    assert {p.dtype for p in backend.model.parameters()} == {torch.bfloat16}
    # cuDNN attention re-plans for every new length: 3.4x slower decode on an H200.
    assert not torch.backends.cuda.cudnn_sdp_enabled()
    assert _reply(backend)


@pytest.mark.parametrize(("quantize", "layer"), [("8bit", "Linear8bitLt"), ("4bit", "Linear4bit")])
def test_bitsandbytes_on_cuda(tiny_model: Path, quantize: str, layer: str) -> None:
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model), quantize=quantize))
    assert info.device.startswith("cuda") and info.quantization == quantize
    names = {type(m).__name__ for m in backend.model.modules()}
    assert layer in names
    assert _reply(backend)


def test_fast_path_is_on_by_default_on_the_gpu_and_matches_plain_greedy(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TCHAT_FAST", raising=False)  # the suite's default is off
    backend = TransformersBackend(fast="auto")
    backend.load(LoadSpec(model=str(tiny_model)))
    path = backend.fast_path
    assert path is not None, backend.fast_note
    plain = _reply(backend)  # the first reply is plain; its cache size compiles after it
    assert path.wait(timeout=600), path.error
    fast = _reply(backend)
    assert backend.speed_path() == "compiled"
    assert fast == plain


async def test_gauges_pane_in_the_app_shows_the_real_card(tiny_model: Path, tmp_path: Path) -> None:
    from tui.app import TchatApp
    from tui.launch import LaunchConfig
    from tui.widgets.gauges import GaugesPane

    app = TchatApp(LaunchConfig(model=str(tiny_model), sessions_dir=tmp_path / "s"))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(600):
            await pilot.pause(0.05)
            pane = app.query_one(GaugesPane)
            text = "\n".join(
                pane.query_one(f"#gauges-{part}").plain
                for part in ("hardware", "reply", "context", "roofline")
            )
            if app.chat_screen.model_info is not None and "GPU0" in text and "max" in text:
                break
        print("\n" + text)
        out = os.environ.get("TCHAT_GPU_OUT")
        if out:
            app.save_screenshot(filename="gpu_app.svg", path=out)
        assert (
            app.chat_screen.model_info is not None
            and app.chat_screen.model_info.device.startswith("cuda")
        )
        assert "GPU off" not in text and "GPU0" in text and "alloc" in text
