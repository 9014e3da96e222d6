"""The gauges pane in a small host app: what a user sees with and without a GPU, while a reply
streams, in a narrow column, in ASCII, and that a hidden pane stops sampling."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical

try:
    from tests.fakes.fake_pynvml import (
        NVML_ERROR_DRIVER_NOT_LOADED,
        NVML_ERROR_GPU_IS_LOST,
        FakeGpu,
        FakeNvml,
        FakeProcess,
    )
except ModuleNotFoundError:  # pytest run as a script, without the repo root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.fakes.fake_pynvml import (
        NVML_ERROR_DRIVER_NOT_LOADED,
        NVML_ERROR_GPU_IS_LOST,
        FakeGpu,
        FakeNvml,
        FakeProcess,
    )

from tui.engine.backend import ModelInfo
from tui.hardware import HardwareProbe, HardwareService
from tui.hardware import bandwidth as bw
from tui.store.session import ReplyStats
from tui.widgets import gauges
from tui.widgets.gauges import GaugesPane

GiB = 1024**3
FAST = 0.02  # sampling interval in tests: quick, but still a real background thread


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    # The CPU bandwidth cache must not land in the developer's home.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


class Host(App):
    """The pane in a side column, as the app will place it."""

    CSS = """
    #side { width: 32; }
    """

    def __init__(self, pane: GaugesPane, width: int = 32) -> None:
        super().__init__()
        self.pane = pane
        self.CSS = f"#side {{ width: {width}; }}"

    def compose(self) -> ComposeResult:
        with Vertical(id="side"):
            yield self.pane


def gpu_pane(fake: FakeNvml, **kwargs) -> GaugesPane:
    kwargs.setdefault("ascii_only", False)
    probe = HardwareProbe(nvml_module=fake.module, visible=None)
    return GaugesPane(HardwareService(probe), interval=FAST, fast_interval=FAST, **kwargs)


def cpu_pane(**kwargs) -> GaugesPane:
    kwargs.setdefault("ascii_only", False)
    fake = FakeNvml(init_error=NVML_ERROR_DRIVER_NOT_LOADED)
    probe = HardwareProbe(nvml_module=fake.module, visible=None)
    return GaugesPane(HardwareService(probe), interval=FAST, fast_interval=FAST, **kwargs)


async def until(pilot, predicate, timeout: float = 3.0) -> None:
    """Let the app run until `predicate()` holds: samples arrive from another thread."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out; pane shows:\n{pilot.app.pane.text()}")
        await pilot.pause(0.01)


async def settle(pilot) -> None:
    # Not pilot.pause(): that waits for the process to go CPU-idle, which a sampler ticking
    # every 20 ms never lets happen, so every call would cost its one-second timeout.
    await pilot.pause(0.01)


def screen_lines(app: App) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


H100_8B = ModelInfo(
    id="meta-llama/Llama-3.1-8B-Instruct",
    name="Llama-3.1-8B-Instruct",
    device="cuda:0",
    dtype="bfloat16",
    parameters=8_030_000_000,
    context_length=8192,
)


async def test_without_a_gpu_the_pane_says_why_and_shows_cpu_and_ram():
    app = Host(cpu_pane())
    async with app.run_test(size=(40, 24)) as pilot:
        await until(pilot, lambda: "RAM" in app.pane.text())
        text = app.pane.text()
        assert "GPU off: No NVIDIA driver (NVML: Driver Not Loaded)" in " ".join(text.split())
        assert "CPU" in text and "%" in text
        assert "/" in text.split("RAM", 1)[1].splitlines()[0]  # used/total figures
        assert "GPU off" in "\n".join(screen_lines(app))  # really on screen


async def test_fake_gpu_memory_figures_are_shown_and_follow_the_card():
    fake = FakeNvml([FakeGpu(memory_used=41 * GiB, processes=[FakeProcess(os.getpid(), 30 * GiB)])])
    app = Host(gpu_pane(fake))
    async with app.run_test(size=(40, 24)) as pilot:
        await until(pilot, lambda: "41.0/80.0G" in app.pane.text())
        text = app.pane.text()
        assert "GPU0 H100 80GB HBM3" in text
        assert "51%" in text and "app 30.0G" in text
        assert "util" in text and "37%" in text and "212/700W" in text

        fake.gpus[0].memory_used = 78 * GiB
        await until(pilot, lambda: "78.0/80.0G" in app.pane.text())
        assert "98%!" in app.pane.text()  # nearly full: flagged in text, not only in red


async def test_gpu_lost_mid_run_turns_into_a_message_and_cpu_gauges():
    fake = FakeNvml()
    app = Host(gpu_pane(fake))
    async with app.run_test(size=(40, 24)) as pilot:
        await until(pilot, lambda: "GPU0" in app.pane.text())
        fake.fail("nvmlDeviceGetMemoryInfo", NVML_ERROR_GPU_IS_LOST)
        await until(pilot, lambda: "GPU lost" in app.pane.text())
        text = app.pane.text()
        assert "GPU0" not in text and "RAM" in text


async def test_tok_s_follows_reply_progress_and_the_final_stats():
    app = Host(cpu_pane())
    async with app.run_test(size=(40, 24)) as pilot:
        pane = app.pane
        assert "no reply yet" in pane.text()
        pane.reply_started(prompt_tokens=500)
        await settle(pilot)
        assert "prefill" in pane.text()  # waiting for the first token

        pane.reply_progress(1, 0.25, 0.25)
        pane.reply_progress(11, 0.75, None)
        await settle(pilot)
        first = pane.query_one("#gauges-reply").plain
        assert "tok/s 20.0" in first and "11 tok" in first
        assert "TTFT 0.25s" in first and "prefill 2.0k/s" in first

        pane.reply_progress(211, 3.25, None)
        await settle(pilot)
        second = pane.query_one("#gauges-reply").plain
        assert "tok/s 80.0" in second and "211 tok" in second  # over the last seconds
        assert "decode 70.0/s" in second  # average since the first token

        pane.reply_finished(
            ReplyStats(prompt_tokens=500, new_tokens=220, ttft_s=0.25, decode_tps=68.0, total_s=3.5)
        )
        await settle(pilot)
        final = pane.query_one("#gauges-reply").plain
        assert "tok/s 68.0" in final and "220 tok" in final and "total 3.5s" in final


async def test_while_text_streams_samples_wait_for_it_and_a_stalled_stream_still_gets_them(
    monkeypatch,
):
    # Each frame is UI-thread time taken from generate: while text arrives, a hardware sample
    # is drawn in a text batch's frame; when text stops coming (a long prefill), on its own.
    fake = FakeNvml()
    app = Host(gpu_pane(fake))
    async with app.run_test(size=(40, 24)) as pilot:
        pane = app.pane
        await until(pilot, lambda: "12.0/80.0G" in "\n".join(screen_lines(app)))
        monkeypatch.setattr(gauges, "COALESCE_S", 60.0)  # text "keeps coming" for this part
        monkeypatch.setattr(gauges, "STREAM_REDRAW_S", 0.0)  # and each batch may redraw
        pane.reply_started(10)
        pane.reply_progress(1, 0.1, 0.1)
        fake.gpus[0].memory_used = 50 * GiB
        await until(pilot, lambda: "50.0/80.0G" in pane.text())  # sampled...
        await settle(pilot)
        assert "50.0/80.0G" not in "\n".join(screen_lines(app))  # ...not drawn yet
        pane.reply_progress(5, 0.3, None)  # the next text batch
        await settle(pilot)
        assert "50.0/80.0G" in "\n".join(screen_lines(app))

        monkeypatch.setattr(gauges, "COALESCE_S", 0.05)  # now text stops coming
        fake.gpus[0].memory_used = 60 * GiB
        await until(pilot, lambda: "60.0/80.0G" in "\n".join(screen_lines(app)))


async def test_while_text_streams_the_pane_is_redrawn_now_and_then_with_the_latest_figures(
    monkeypatch,
):
    app = Host(cpu_pane())
    async with app.run_test(size=(40, 24)) as pilot:
        pane = app.pane
        monkeypatch.setattr(gauges, "STREAM_REDRAW_S", 60.0)
        monkeypatch.setattr(gauges, "COALESCE_S", 60.0)  # samples wait for text too
        pane.reply_started(10)
        pane.reply_progress(1, 0.1, 0.1)  # the first batch is drawn at once
        await settle(pilot)
        assert "1 tok" in "\n".join(screen_lines(app))
        pane.reply_progress(42, 0.3, None)  # too soon after it: waits
        await settle(pilot)
        assert "42 tok" not in "\n".join(screen_lines(app))
        monkeypatch.setattr(gauges, "STREAM_REDRAW_S", 0.0)
        pane.reply_progress(43, 0.6, None)
        await settle(pilot)
        assert "43 tok" in "\n".join(screen_lines(app))
        monkeypatch.setattr(gauges, "STREAM_REDRAW_S", 60.0)
        pane.reply_progress(50, 0.7, None)
        pane.reply_finished(ReplyStats(new_tokens=51, total_s=0.8))  # the end is always drawn
        await settle(pilot)
        assert "51 tok" in "\n".join(screen_lines(app))


async def test_stopped_reply_says_so():
    app = Host(cpu_pane())
    async with app.run_test(size=(40, 24)) as pilot:
        app.pane.reply_started(10)
        app.pane.reply_finished(ReplyStats(new_tokens=3, stop_reason="cancelled", total_s=0.4))
        await settle(pilot)
        assert "stopped" in app.pane.query_one("#gauges-reply").plain


async def test_reply_says_whether_it_runs_compiled_or_while_the_compile_runs():
    app = Host(cpu_pane())
    async with app.run_test(size=(40, 24)) as pilot:
        app.pane.reply_started(10, "compiling")  # the fast path warms up: this reply is plain
        app.pane.reply_progress(5, 0.5, 0.1)
        await settle(pilot)
        assert "compiling" in app.pane.query_one("#gauges-reply").plain
        app.pane.reply_finished(ReplyStats(new_tokens=5, total_s=0.5))
        app.pane.reply_started(10, "compiled")
        app.pane.reply_progress(5, 0.5, 0.1)
        await settle(pilot)
        text = app.pane.query_one("#gauges-reply").plain
        assert "compiled" in text and "compiling" not in text
        app.pane.reply_started(10)  # no fast path: nothing said
        await settle(pilot)
        assert "compil" not in app.pane.query_one("#gauges-reply").plain


async def test_a_model_load_samples_faster_a_reply_at_the_pace_it_is_drawn():
    hardware = HardwareService(use_nvml=False)
    app = Host(GaugesPane(hardware, interval=1.0, fast_interval=0.25))
    async with app.run_test(size=(40, 24)) as pilot:
        pane = app.pane
        assert pane.sampler.current_interval == 1.0
        pane.set_generating(True)  # a model loads: watch memory fill up
        assert pane.sampler.current_interval == 0.25
        pane.set_generating(False)
        # While a reply streams the pane is redrawn at most every STREAM_REDRAW_S: sampling
        # faster would only wake the sampler and the UI thread, taking time from generate.
        pane.reply_started(10)
        assert pane.sampler.current_interval == 1.0
        pane.reply_finished(ReplyStats(new_tokens=1))
        assert pane.sampler.current_interval == 1.0
        await settle(pilot)


async def test_context_bar_against_the_model_maximum():
    app = Host(cpu_pane())
    async with app.run_test(size=(40, 24)) as pilot:
        pane = app.pane
        pane.set_model(H100_8B)
        pane.set_context(6000, None)
        await settle(pilot)
        assert "6.0k/8.2k 73%" in pane.query_one("#gauges-context").plain
        pane.set_context(7900, 8192)
        await settle(pilot)
        assert "96%!" in pane.query_one("#gauges-context").plain
        pane.set_context(500, None)
        pane.set_model(None)
        await settle(pilot)
        assert "500 tok, max ?" in pane.query_one("#gauges-context").plain


async def test_roofline_compares_decode_speed_with_the_bandwidth_bound():
    app = Host(gpu_pane(FakeNvml()), width=40)
    async with app.run_test(size=(60, 30)) as pilot:
        pane = app.pane
        pane.set_model(H100_8B)
        await until(pilot, lambda: "max 209 tok/s" in pane.query_one("#gauges-roofline").plain)
        assert "3.35TB/s" in pane.text() and "16.1GB/tok" in pane.text()

        pane.reply_started(100)
        pane.reply_finished(ReplyStats(new_tokens=200, ttft_s=0.1, decode_tps=104.3, total_s=2))
        await settle(pilot)
        roof = pane.query_one("#gauges-roofline").plain
        assert "104/209 50%" in roof


async def test_roofline_on_cpu_uses_the_measured_bandwidth(monkeypatch):
    monkeypatch.setattr(bw, "measure_cpu_bandwidth", lambda: 40e9)
    app = Host(cpu_pane(), width=40)
    async with app.run_test(size=(60, 30)) as pilot:
        pane = app.pane
        pane.set_model(
            ModelInfo(id="m", name="m", device="cpu", dtype="float32", parameters=135_000_000)
        )
        await until(pilot, lambda: "CPU 40GB/s" in pane.query_one("#gauges-roofline").plain)
        assert "max 74.1 tok/s" in pane.query_one("#gauges-roofline").plain
        assert bw.read_cached_cpu_bandwidth() == 40e9  # measured once, kept for next time


async def test_roofline_says_what_is_missing():
    app = Host(cpu_pane())
    async with app.run_test(size=(40, 24)) as pilot:
        assert "n/a: no model" in app.pane.query_one("#gauges-roofline").plain
        app.pane.set_model(ModelInfo(id="m", name="m", device="cuda:0", dtype="bfloat16"))
        await settle(pilot)
        assert "n/a: model size unknown" in app.pane.query_one("#gauges-roofline").plain


async def test_hiding_the_pane_stops_sampling_and_showing_resumes_it():
    app = Host(gpu_pane(FakeNvml()))
    async with app.run_test(size=(40, 24)) as pilot:
        sampler = app.pane.sampler
        await until(pilot, lambda: sampler.samples >= 3)

        app.pane.display = False
        await until(pilot, lambda: sampler.parked)  # a sample in flight has landed
        count = sampler.samples
        await pilot.pause(0.2)  # ten intervals
        assert sampler.samples == count

        app.pane.display = True
        await until(pilot, lambda: sampler.samples > count + 2)


async def test_hiding_the_column_around_the_pane_also_stops_sampling():
    app = Host(cpu_pane())
    async with app.run_test(size=(40, 24)) as pilot:
        sampler = app.pane.sampler
        await until(pilot, lambda: sampler.samples >= 2)
        app.query_one("#side").display = False
        await until(pilot, lambda: sampler.paused)


async def test_a_pane_mounted_hidden_never_samples():
    pane = cpu_pane()
    pane.display = False
    app = Host(pane)
    async with app.run_test(size=(40, 24)) as pilot:
        await pilot.pause(0.15)
        assert pane.sampler.samples == 0


async def test_owned_probe_initialises_nvml_once_and_shuts_it_down_on_exit(monkeypatch):
    fake = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake.module)
    pane = GaugesPane(interval=FAST, fast_interval=FAST, ascii_only=False)
    app = Host(pane)
    async with app.run_test(size=(40, 24)) as pilot:
        await until(pilot, lambda: pane.sampler.samples >= 5)
        assert fake.init_calls == 1
    assert fake.shutdown_calls == 1
    assert not pane.sampler.running


async def test_gpu_names_are_text_not_markup():
    fake = FakeNvml([FakeGpu(name="[bold red]Evil[/] GPU")])
    app = Host(gpu_pane(fake), width=40)
    async with app.run_test(size=(60, 24)) as pilot:
        await until(pilot, lambda: "Evil" in app.pane.text())
        assert "[bold red]Evil[/] GPU" in "\n".join(screen_lines(app))


@pytest.mark.parametrize("width", [24, 28, 34, 40])
async def test_narrow_and_short_column_fits_every_line(width):
    fake = FakeNvml([FakeGpu(name="NVIDIA GeForce RTX 4090 with a long name")])
    app = Host(gpu_pane(fake), width=width)
    async with app.run_test(size=(width + 10, 10)) as pilot:
        pane = app.pane
        pane.set_model(H100_8B)
        pane.set_context(3000, None)
        pane.reply_started(100)
        pane.reply_progress(1, 0.1, 0.1)
        pane.reply_progress(30, 0.9, None)
        # While a reply streams, a sample is drawn with the next text batch, or on its own
        # once text stops coming: wait for the screen, not just the pane's state.
        await until(pilot, lambda: "mem" in "\n".join(screen_lines(app)))
        await settle(pilot)
        inner = pane.content_region.width
        for section in pane.query("DrawnLines"):
            for line in section.lines(section.size.width):
                assert len(line.plain) <= inner, line.plain
        text = pane.text()
        assert "tok/s 36.2" in text and "ctx" in text and "mem" in text
        # The most useful figures are on the first screen, without scrolling.
        visible = "\n".join(screen_lines(app))
        assert "mem" in visible and "tok/s" in visible


async def test_ascii_mode_uses_only_ascii_and_keeps_the_figures():
    fake = FakeNvml([FakeGpu(memory_used=41 * GiB)])
    app = Host(gpu_pane(fake, ascii_only=True))
    async with app.run_test(size=(40, 24)) as pilot:
        pane = app.pane
        pane.set_model(H100_8B)
        pane.set_context(3000, None)
        pane.reply_started(100)
        pane.reply_progress(1, 0.1, 0.1)
        pane.reply_progress(30, 0.9, None)
        await until(pilot, lambda: "41.0/80.0G" in pane.text())
        await pilot.pause(0.1)
        text = pane.text()
        assert text.isascii(), [c for c in text if not c.isascii()]
        assert "[#" in text and "54C" in text

        pane.ascii_only = False
        await settle(pilot)
        assert "█" in pane.text() and "54°C" in pane.text()
