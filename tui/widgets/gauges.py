"""The gauges pane: GPU/CPU memory and load, live reply speed, context use and the roofline.

It answers the questions one asks while a local model runs on a shared box over SSH: will the
next reply fit in memory, is the GPU busy, how fast is this reply going, and how far is that
from what the memory bandwidth allows. Hardware is sampled on a thread of the app's
`tui.hardware.HardwareService` and arrives here as `HardwareSampled` messages (so does the CPU
bandwidth, measured once for the whole app); reply figures come from the app through the public
methods below. Every string from the system (GPU names, error reasons) is
drawn as text, never parsed as markup. Sized for a side column: readable from 24 to 40 columns
and from about 10 rows, in ASCII and in 16 colours.
"""

from __future__ import annotations

import locale
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.content import Content
from textual.events import Hide, Resize, Show
from textual.reactive import reactive
from textual.widget import Widget

from tui.hardware import (
    DEFAULT_INTERVAL_S,
    GENERATING_INTERVAL_S,
    HardwareService,
    HardwareSnapshot,
    bytes_per_param,
    bytes_per_token,
    decode_bound_tps,
)
from tui.hardware.snapshot import GpuSnapshot
from tui.store.session import ReplyStats
from tui.widgets.drawn_lines import DrawnLines
from tui.widgets.engine_gauges import EngineGauge, MetricsSource
from tui.widgets.gauge_text import (
    Glyphs,
    bar,
    core_strip,
    fit,
    flow,
    glyphs_for,
    human_bytes,
    human_count,
    human_rate,
    human_seconds,
    human_size,
    human_tps,
    level,
    memory_figures,
    percent,
    sparkline,
    wrap_words,
)
from tui.widgets.hardware_feed import CpuBandwidthKnown, HardwareSampled, post_to

if TYPE_CHECKING:
    from tui.engine.backend import ModelInfo

# A side column of about this many rows or fewer gets the dense layout.
SHORT_HEIGHT = 16
# Several GPUs get the dense per-GPU layout so eight cards still fit on a screen.
DENSE_GPU_COUNT = 3
SHOW_CHECK_S = 1.0  # how soon a lost Show is caught (see on_mount)
HISTORY = 120  # samples kept for sparklines; more than the widest pane shows
LIVE_WINDOW_S = 1.5  # live tok/s is measured over this trailing window
# While a reply streams, every frame and every redrawn line is Python on the UI thread, which
# shares the GIL with generate (bench/app_vs_generate.py): a redraw of the pane cost about 7 ms
# of it on a 2-core box. So while text arrives at least every COALESCE_S, the pane is redrawn
# only with a text batch (one frame, not two) and at most every STREAM_REDRAW_S (htop's default
# pace); samples and reply figures wait for the next such batch. The text's own line under the
# reply shows tokens and speed at every batch. A stalled stream (a long prefill) gets samples
# drawn as they come.
COALESCE_S = 1.0
STREAM_REDRAW_S = 1.5

_STYLE = {"ok": "$success", "warn": "$warning", "crit": "$error bold"}
_LABEL = "bold"
_MUTED = "$text-muted"


def _prefers_ascii() -> bool:
    """Guess from the terminal's encoding: LANG=C over SSH cannot show block characters."""
    stream = sys.__stdout__
    encoding = getattr(stream, "encoding", None) or locale.getpreferredencoding(False) or ""
    return "utf" not in encoding.lower()


def _line(*parts: str | tuple[str, str] | Content) -> Content:
    # Content.assemble takes str parts as literal text: a GPU name like "[bold]" stays text.
    return Content.assemble(*parts)


class GaugesPane(Widget):
    """Hardware and speed gauges for the side column.

    Args:
        hardware: the app's HardwareService (shared with the model picker: one probe, one
            bandwidth measurement); None makes the pane create and close its own.
        interval: seconds between samples when idle.
        fast_interval: seconds between samples while generating or loading.
        ascii_only: draw with ASCII only; None guesses from the terminal encoding.
    """

    DEFAULT_CSS = """
    GaugesPane {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        padding: 0 1;
    }
    GaugesPane > DrawnLines {
        margin-bottom: 1;
    }
    GaugesPane.-short > DrawnLines {
        margin-bottom: 0;
    }
    """

    ascii_only: reactive[bool] = reactive(False, init=False)

    def __init__(
        self,
        hardware: HardwareService | None = None,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        fast_interval: float = GENERATING_INTERVAL_S,
        ascii_only: bool | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._owns_hardware = hardware is None
        self.hardware = hardware or HardwareService()
        self.sampler = self.hardware.sampler(
            post_to(self, HardwareSampled), interval=interval, fast_interval=fast_interval
        )
        self.set_reactive(
            GaugesPane.ascii_only, _prefers_ascii() if ascii_only is None else ascii_only
        )
        self.snapshot: HardwareSnapshot | None = None
        self._short = False
        self._gpu_util: dict[int, deque[float | None]] = {}
        self._cpu_load: deque[float | None] = deque(maxlen=HISTORY)
        self._last_history_t = 0.0
        # model and context
        self._model: ModelInfo | None = None
        self._ctx_used: int | None = None
        self._ctx_max: int | None = None
        self._cpu_bw: float | None = None
        self._cpu_bw_state = "unknown"  # unknown | deferred | measuring | known | failed
        # the reply in flight (or the last one)
        self._generating = False
        self._streaming = False
        self._prompt_tokens = 0
        self._new_tokens = 0
        self._thinking_tokens = 0
        self._elapsed = 0.0
        self._ttft: float | None = None
        self._live_tps: float | None = None
        self._points: deque[tuple[float, int]] = deque()
        self._last_stats: ReplyStats | None = None
        self._path = ""  # how the reply runs: "compiled", "compiling" (the fast path)
        self._tps_history: deque[float | None] = deque(maxlen=HISTORY)
        self._last_tps_sample = -1.0
        self._last_progress_at = -COALESCE_S  # monotonic time of the latest reply_progress
        self._last_stream_draw = -STREAM_REDRAW_S  # and of the latest redraw it made
        self._due: set[str] = set()  # sections whose figures changed, waiting for a redraw
        self._sections: dict[str, DrawnLines] = {}
        # A served model (engine_gauges.py): the server's own figures, and this machine's
        # hardware labelled as this machine's; no roofline (the server's hardware is unknown).
        self.engine = EngineGauge(id="gauges-engine", ascii_only=lambda: self.ascii_only)
        self._served = False
        # The engine's own line between replies (a compile's progress, CPU threads): read at
        # each hardware sample from the backend's `engine_status`, set by the app.
        self.status_source: Callable[[], str] | None = None
        self._engine_status = ""

    # -- layout ----------------------------------------------------------------------------

    def compose(self):
        draws = {
            "hardware": self._draw_hardware,
            "reply": self._draw_reply,
            "context": self._draw_context,
            "roofline": self._draw_roofline,
        }
        # Kept by name: redrawn on every streamed batch, where a DOM query each time adds up.
        self._sections = {
            name: DrawnLines(draw, id=f"gauges-{name}") for name, draw in draws.items()
        }
        yield self.engine  # a served model's server figures; hidden for a local one
        yield from self._sections.values()

    @property
    def glyphs(self) -> Glyphs:
        return glyphs_for(self.ascii_only)

    def watch_ascii_only(self, _value: bool) -> None:
        self._refresh("hardware", "reply", "context", "roofline")

    def on_resize(self, event: Resize) -> None:
        short = event.size.height <= SHORT_HEIGHT
        if short != self._short:
            self._short = short
            self.set_class(short, "-short")
            self._refresh("hardware", "reply", "context", "roofline")

    def _refresh(self, *names: str) -> None:
        if not self.is_mounted:
            return
        for name in names:
            self._sections[name].redraw()

    def text(self) -> str:
        """Everything the pane shows, as plain text (tests, copy to clipboard)."""
        return "\n".join(section.plain for section in self.query(DrawnLines))

    # -- sampling lifecycle ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.sampler.start(paused=True)  # Show resumes it: a pane mounted hidden costs nothing
        # Textual now and then sends no Show when a hidden pane is displayed again (seen on a
        # loaded machine: Hide, then display = True, then nothing), which would leave the
        # gauges frozen; a check a second catches that.
        self.set_interval(SHOW_CHECK_S, self._resume_if_shown)

    def _resume_if_shown(self) -> None:
        if self.sampler.paused and self.display and self.is_on_screen:
            self.sampler.resume()

    def on_show(self, _event: Show) -> None:
        self.sampler.resume()

    def on_hide(self, _event: Hide) -> None:
        self.sampler.pause()

    def on_unmount(self) -> None:
        self.sampler.stop(timeout=1.0)
        if self._owns_hardware:
            self.hardware.close(timeout=1.0)

    def on_hardware_sampled(self, message: HardwareSampled) -> None:
        snap = message.snapshot
        self.snapshot = snap
        # Histories advance at the idle cadence even while sampling fast, so a sparkline's
        # time scale does not change under the reader's eyes.
        if snap.time - self._last_history_t >= self.sampler.interval * 0.9:
            self._last_history_t = snap.time
            self._cpu_load.append(snap.cpu.percent)
            for gpu in snap.gpus:
                history = self._gpu_util.setdefault(gpu.index, deque(maxlen=HISTORY))
                history.append(gpu.utilization)
        self._due.update(("hardware", "roofline"))
        status = self.status_source() if self.status_source is not None else ""
        if status != self._engine_status:
            self._engine_status = status
            self._due.add("reply")
        if self._streaming and time.monotonic() - self._last_progress_at < COALESCE_S:
            return
        self._refresh(*self._due)
        self._due.clear()

    # -- the contract with the app --------------------------------------------------------------

    def set_model(self, info: ModelInfo | None) -> None:
        """The loaded model (None when unloaded): its size and dtype set the roofline, its
        context length the context bar's maximum."""
        self._model = info
        if info is not None and self._model_on_cpu():
            self._ensure_cpu_bandwidth()
        self._refresh("context", "roofline")

    def set_server(self, source: MetricsSource | None, label: str = "") -> None:
        """Where a served model's server figures come from (None: the model runs here)."""
        self._served = source is not None
        self.engine.set_source(source, label)
        self._refresh("hardware", "roofline")

    def set_context(self, used: int, maximum: int | None) -> None:
        """Tokens the conversation takes now, against `maximum` (None: the model's)."""
        self._ctx_used = used
        self._ctx_max = maximum
        self._refresh("context")

    def set_generating(self, flag: bool, fast: bool = True) -> None:
        """Sample fast while a model loads (`fast`), slowly otherwise. A reply counts as
        generating without the fast pace: while text streams the pane is redrawn at most every
        STREAM_REDRAW_S, so faster samples would only wake two threads for nothing."""
        self._generating = flag
        self.sampler.set_fast(flag and fast)
        if not flag and self._cpu_bw_state == "deferred":
            self._ensure_cpu_bandwidth()

    def reply_started(self, prompt_tokens: int, path: str = "") -> None:
        """A reply is being generated for a prompt of `prompt_tokens` tokens, the way `path`
        says ("compiled", "compiling": the backend's `speed_path`). Also counts as generating,
        so the app need not call set_generating around replies."""
        self._streaming = True
        self._path = path
        self._prompt_tokens = prompt_tokens
        self._new_tokens = 0
        self._thinking_tokens = 0
        self._elapsed = 0.0
        self._ttft = None
        self._live_tps = None
        self._points.clear()
        self._last_stats = None
        self._last_tps_sample = -1.0
        self._last_stream_draw = -STREAM_REDRAW_S
        if self._tps_history and self._tps_history[-1] is not None:
            self._tps_history.append(None)  # a gap marks where one reply ends and the next begins
        self.set_generating(True, fast=False)
        self._refresh("reply", "roofline")

    def reply_progress(
        self, new_tokens: int, elapsed_s: float, ttft_s: float | None, thinking_tokens: int = 0
    ) -> None:
        """Tokens so far (`thinking_tokens` of them thinking), seconds since the reply started,
        and time to first token once known. Cheap: called several times a second."""
        self._new_tokens = new_tokens
        self._thinking_tokens = thinking_tokens
        self._elapsed = elapsed_s
        if ttft_s is not None:
            self._ttft = ttft_s
        self._points.append((elapsed_s, new_tokens))
        while len(self._points) > 2 and elapsed_s - self._points[0][0] > LIVE_WINDOW_S:
            self._points.popleft()
        first_t, first_n = self._points[0]
        if elapsed_s > first_t and new_tokens > first_n:
            self._live_tps = (new_tokens - first_n) / (elapsed_s - first_t)
        elif self._ttft is not None and new_tokens > 1 and elapsed_s > self._ttft:
            self._live_tps = (new_tokens - 1) / (elapsed_s - self._ttft)
        if self._live_tps is not None and elapsed_s - self._last_tps_sample >= 0.5:
            self._last_tps_sample = elapsed_s
            self._tps_history.append(self._live_tps)
        now = time.monotonic()
        self._last_progress_at = now
        self._due.update(("reply", "roofline"))
        if now - self._last_stream_draw >= STREAM_REDRAW_S:
            self._last_stream_draw = now
            self._refresh(*self._due)
            self._due.clear()

    def reply_finished(self, stats: ReplyStats) -> None:
        """The reply ended (any stop reason): its final figures replace the live ones and stay
        until the next reply starts."""
        self._streaming = False
        self._last_stats = stats
        self._new_tokens = stats.new_tokens
        self._thinking_tokens = stats.thinking_tokens or 0
        self._prompt_tokens = stats.prompt_tokens or self._prompt_tokens
        if stats.ttft_s is not None:
            self._ttft = stats.ttft_s
        self._elapsed = stats.total_s or self._elapsed
        self.set_generating(False)
        self._due.clear()
        self._refresh("hardware", "reply", "roofline")

    # -- derived figures ----------------------------------------------------------------------

    def _decode_tps(self) -> float | None:
        """Average decode speed: of the reply in flight, else of the last reply."""
        if self._streaming:
            if self._ttft is not None and self._new_tokens > 1 and self._elapsed > self._ttft:
                return (self._new_tokens - 1) / (self._elapsed - self._ttft)
            return None
        if self._last_stats is not None:
            return self._last_stats.decode_tps
        return None

    def _prefill_tps(self) -> float | None:
        # TTFT includes one decode step; for prompts of any size prefill dominates it.
        if self._ttft and self._prompt_tokens:
            return self._prompt_tokens / self._ttft
        return None

    def _model_on_cpu(self) -> bool:
        device = (self._model.device if self._model else "") or ""
        return device.lower().startswith("cpu")

    def _ensure_cpu_bandwidth(self) -> None:
        if self._cpu_bw_state in ("known", "measuring"):
            return
        known = self.hardware.known_cpu_bandwidth()
        if known:
            self._cpu_bw, self._cpu_bw_state = known, "known"
            return
        if self._generating:
            # Measuring saturates memory for a fraction of a second: not during a reply.
            self._cpu_bw_state = "deferred"
            return
        self._cpu_bw_state = "measuring"
        self.hardware.measure_cpu_bandwidth(post_to(self, CpuBandwidthKnown))

    def on_cpu_bandwidth_known(self, message: CpuBandwidthKnown) -> None:
        self._cpu_bw = message.value
        self._cpu_bw_state = "known" if message.value else "failed"
        self._refresh("roofline")

    def _bandwidth(self) -> tuple[float | None, str]:
        """(bytes/s, what it is or why unknown) for the device the model runs on."""
        model = self._model
        assert model is not None
        if self._model_on_cpu():
            if self._cpu_bw:
                return self._cpu_bw, "CPU"
            if self._cpu_bw_state in ("measuring", "deferred"):
                return None, "measuring CPU bandwidth"
            return None, "CPU bandwidth unknown"
        gpu = self.snapshot.gpu_for_device(model.device) if self.snapshot else None
        if gpu is not None and gpu.peak_bandwidth:
            return gpu.peak_bandwidth, f"GPU{gpu.index}"
        if self.snapshot is None:
            return None, "waiting for hardware"
        return None, "GPU bandwidth unknown"

    # -- drawing: hardware ------------------------------------------------------------------------

    def _bar_line(
        self,
        label: str,
        fraction: float,
        figures: list[str],
        width: int,
        *,
        warn: float = 0.8,
        crit: float | None = 0.95,
        style: str | None = None,
        min_bar: int = 6,
    ) -> Content:
        """'label [####....] figures': the most detailed figures that still leave a bar of
        `min_bar` cells; past that, the figures alone (the text is what matters)."""
        g = self.glyphs
        pct = percent(fraction, crit, g)
        bar_style = style or _STYLE[level(fraction, warn, crit if crit is not None else 2.0)]
        options = [f"{f} {pct}" for f in figures] + [pct]
        for text in options:
            room = width - len(label) - 1 - len(text) - 1
            if room >= min_bar or (room >= 3 and text == options[-1]):
                o, full, empty, c = bar(fraction, room, g)
                return _line(
                    (label, _LABEL), " ", o, (full, bar_style), (empty, _MUTED), c, " ", text
                )
        text = fit(f"{figures[-1]} {pct}" if figures else pct, width - len(label) - 1, g)
        return _line((label, _LABEL), " ", (text, bar_style))

    def _draw_hardware(self, width: int) -> list[Content]:
        g = self.glyphs
        snap = self.snapshot
        if snap is None:
            return [_line((fit("Reading hardware" + g.ellipsis, width, g), _MUTED))]
        lines: list[Content] = []
        if snap.gpus:
            dense = self._short or len(snap.gpus) >= DENSE_GPU_COUNT
            for gpu in snap.gpus:
                lines.extend(self._draw_gpu(snap, gpu, width, dense))
            lines.extend(self._draw_ram(snap, width, with_cpu=not dense))
            for note in snap.notes:
                lines.extend(_line((t, _MUTED)) for t in wrap_words(note, width, 2, g))
        else:
            reason = f"GPU off: {snap.gpu_off_reason or 'no GPU found'}"
            max_lines = 3 if self._short else 4
            lines.extend(
                _line((text, "$warning")) for text in wrap_words(reason, width, max_lines, g)
            )
            lines.extend(self._draw_cpu(snap, width))
        if self._served:  # what is drawn below is this box, not the one serving the model
            note = " · not the server" if width >= len("this machine · not the server") else ""
            lines.insert(0, _line(("this machine", _LABEL), (note, _MUTED)))
        return [line for line in lines if line.plain.strip()]

    def _draw_gpu(
        self, snap: HardwareSnapshot, gpu: GpuSnapshot, width: int, dense: bool
    ) -> list[Content]:
        g = self.glyphs
        name = gpu.name
        if width < 34 or dense:
            name = name.replace("NVIDIA ", "").replace("GeForce ", "")
        head = f"GPU{gpu.index} "
        lines = [_line((head, _LABEL), (fit(name, width - len(head), g), _LABEL))]
        used, total = gpu.memory_used, gpu.memory_total
        lines.append(
            self._bar_line(
                "mem",
                gpu.memory_fraction,
                memory_figures(used, total),
                width,
            )
        )
        torch = snap.torch_for(gpu)
        mine = []
        if gpu.process_memory is not None:
            mine.append(f"app {human_bytes(gpu.process_memory)}")
        if torch is not None:
            mine.append(f"alloc {human_bytes(torch.allocated)}")
            mine.append(f"resv {human_bytes(torch.reserved)}")
            if not dense:
                mine.append(f"peak {human_bytes(torch.max_allocated)}")
        extras = []
        if gpu.temperature_c is not None:
            extras.append(f"{gpu.temperature_c}{g.degree}")
        if gpu.power_w is not None:
            power = f"{gpu.power_w:.0f}"
            if gpu.power_limit_w and not dense:
                power += f"/{gpu.power_limit_w:.0f}"
            extras.append(power + "W")
        util = gpu.utilization
        util_text = f"{util}%" if util is not None else "?%"
        if dense:
            tokens = [f"util {util_text}", *extras, *mine]
            lines.extend(_line((t, _MUTED)) for t in flow(tokens, width, 2, max_lines=1))
            return lines
        lines.extend(_line((t, _MUTED)) for t in flow(mine, width, 2, max_lines=2))
        history = self._gpu_util.get(gpu.index, ())
        label = "util"
        room = width - len(label) - 2 - len(util_text)
        spark = sparkline(history, room, g, top=100.0) if room >= 4 else ""
        if spark:
            lines.append(_line((label, _LABEL), " ", (spark, "$accent"), " ", util_text))
        else:
            lines.append(_line((label, _LABEL), " ", util_text))
        lines.extend(_line((t, _MUTED)) for t in flow(extras, width, 2, max_lines=1))
        return lines

    def _draw_ram(self, snap: HardwareSnapshot, width: int, with_cpu: bool) -> list[Content]:
        cpu = snap.cpu
        lines = [
            self._bar_line(
                "RAM",
                cpu.ram_fraction,
                memory_figures(cpu.ram_used, cpu.ram_total),
                width,
            )
        ]
        if with_cpu:
            tokens = [f"CPU {cpu.percent:.0f}%", f"app {human_bytes(cpu.process_rss)}"]
            lines.extend(_line((t, _MUTED)) for t in flow(tokens, width, 2, max_lines=1))
        return lines

    def _draw_cpu(self, snap: HardwareSnapshot, width: int) -> list[Content]:
        g = self.glyphs
        cpu = snap.cpu
        lines = []
        load = f"{cpu.percent:.0f}%"
        room = width - len("CPU") - 2 - len(load)
        spark = sparkline(self._cpu_load, room, g, top=100.0) if room >= 4 else ""
        if spark:
            lines.append(_line(("CPU", _LABEL), " ", (spark, "$accent"), " ", load))
        else:
            lines.append(_line(("CPU", _LABEL), " ", load))
        if not self._short and cpu.per_core:
            n = len(cpu.per_core)
            label = f"{n} cores " if n <= width - 10 else f"{n}c "
            strip = core_strip(cpu.per_core, width - len(label), g)
            if strip:
                lines.append(_line((label, _MUTED), (strip, "$accent")))
        lines.extend(self._draw_ram(snap, width, with_cpu=False))
        if self._short:
            return lines  # the reason above matters more than our own footprint
        mine = [f"app {human_bytes(cpu.process_rss)}"]
        for t in snap.torch:
            mine.append(f"cuda:{t.index} {human_bytes(t.allocated)}")
        lines.extend(_line((t, _MUTED)) for t in flow(mine, width, 2, max_lines=1))
        return lines

    # -- drawing: reply, context, roofline ------------------------------------------------------

    def _draw_reply(self, width: int) -> list[Content]:
        g = self.glyphs
        label = "tok/s"
        if self._streaming and self._new_tokens == 0:
            figure = "--"
        elif self._streaming:
            figure = human_tps(self._live_tps)
        else:
            figure = human_tps(self._decode_tps()) if self._last_stats else "--"
        head: list[str | tuple[str, str]] = [
            (label, _LABEL),
            " ",
            (figure, "bold $accent" if self._streaming else "bold"),
        ]
        room = width - len(label) - len(figure) - 2
        if room >= 4 and any(v is not None for v in self._tps_history):
            head += [" ", (sparkline(self._tps_history, room, g), "$accent")]
        lines = [_line(*head)]
        if not self._streaming and self._last_stats is None:
            lines.append(_line((fit("  no reply yet", width, g), _MUTED)))
            return lines + self._draw_engine_status(width)
        # Most telling first: in a short pane the tail of this list is what gets dropped.
        tokens = [f"{self._new_tokens} tok"]
        if self._thinking_tokens:  # a reasoning model: thinking and answer apart
            answer = max(self._new_tokens - self._thinking_tokens, 0)
            tokens = [f"think {self._thinking_tokens}", f"answer {answer} tok"]
        if self._streaming and self._ttft is None:
            tokens.append(f"prefill {human_seconds(self._elapsed)}{g.ellipsis}")
        else:
            tokens.append(f"TTFT {human_seconds(self._ttft)}")
            tokens.append(f"decode {human_tps(self._decode_tps())}/s")
            prefill = self._prefill_tps()
            if prefill is not None:
                tokens.append(f"prefill {human_tps(prefill)}/s")
        if self._path:
            tokens.append(self._path)
        if not self._streaming and self._last_stats is not None:
            reason = self._last_stats.stop_reason
            tokens.append(f"total {human_seconds(self._last_stats.total_s)}")
            if reason != "end_of_turn":
                tokens.append({"cancelled": "stopped"}.get(reason, reason))
        lines.extend(_line(t) for t in flow(tokens, width, 2, max_lines=2 if self._short else 3))
        return lines + self._draw_engine_status(width)

    def _draw_engine_status(self, width: int) -> list[Content]:
        if not self._engine_status or self._short:
            return []
        parts = self._engine_status.split(" · ")
        return [_line((t, _MUTED)) for t in flow(parts, width, 2, max_lines=2)]

    def _draw_context(self, width: int) -> list[Content]:
        g = self.glyphs
        maximum = self._ctx_max or (self._model.context_length if self._model else None)
        used = self._ctx_used
        if used is None:
            return [_line(("ctx", _LABEL), " ", (fit("--", width - 4, g), _MUTED))]
        if not maximum:
            return [
                _line(("ctx", _LABEL), " ", fit(f"{human_count(used)} tok, max ?", width - 4, g))
            ]
        return [
            self._bar_line(
                "ctx",
                used / maximum,
                [f"{human_count(used)}/{human_count(maximum)}"],
                width,
                warn=0.75,
                crit=0.9,
                min_bar=3,  # the numbers are what one reads here
            )
        ]

    def _draw_roofline(self, width: int) -> list[Content]:
        g = self.glyphs
        model = self._model

        def unavailable(why: str) -> list[Content]:
            return [_line(("roof", _LABEL), " ", (fit(f"n/a: {why}", width - 5, g), _MUTED))]

        if self._served:
            return []  # the server's hardware is not known here: no bound to draw
        if model is None:
            return unavailable("no model")
        if not model.parameters:
            return unavailable("model size unknown")
        bpp = bytes_per_param(model.dtype, model.quantization)
        if bpp is None:
            return unavailable(f"dtype {model.quantization or model.dtype}?")
        per_token = bytes_per_token(model.parameters, bpp)
        bandwidth, source = self._bandwidth()
        if not bandwidth:
            return unavailable(source)
        bound = decode_bound_tps(bandwidth, per_token)
        measured = self._decode_tps()
        detail = [f"{source} {human_rate(bandwidth)}", f"{human_size(per_token)}/tok"]
        if measured is None:
            lines = [
                _line(("roof", _LABEL), " ", fit(f"max {human_tps(bound)} tok/s", width - 5, g))
            ]
        else:
            fraction = measured / bound if bound else 0.0
            lines = [
                self._bar_line(
                    "roof",
                    fraction,
                    [f"{human_tps(measured)}/{human_tps(bound)}", human_tps(measured)],
                    width,
                    crit=None,
                    style="$accent",
                )
            ]
        if not self._short:
            lines.extend(_line((t, _MUTED)) for t in flow(detail, width, 2, max_lines=2))
        return lines
