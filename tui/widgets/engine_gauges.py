"""The gauges' section for a served model: the inference server's own figures.

A model served by vLLM or SGLang runs on hardware this machine cannot see; its server publishes
what matters on `/metrics`: KV cache use (when it nears 100% the server preempts requests and
replies slow down), requests running and waiting (a queue means a shared box is busy), the
server's generation rate for all its users, and the recent mean TTFT and inter-token latency
(from its histograms, between two readings). This section reads them every `POLL_S` seconds on
a thread worker while shown and the model is served, and says so where the server publishes
nothing. The reply's own tok/s and TTFT stay in the reply section above it, measured here.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.content import Content
from textual.message import Message

from tui.hardware.server_metrics import Recent, ServerMetrics, recent
from tui.widgets.drawn_lines import DrawnLines
from tui.widgets.gauge_text import (
    bar,
    fit,
    flow,
    glyphs_for,
    human_seconds,
    human_tps,
    level,
    wrap_words,
)

POLL_S = 2.0
MetricsSource = Callable[[], "ServerMetrics | None"]


class ServerMetricsRead(Message, bubble=False):
    def __init__(self, metrics: ServerMetrics | None) -> None:
        super().__init__()
        self.metrics = metrics


class EngineGauge(DrawnLines):
    """Lines about the serving engine; hidden while the model runs on this machine."""

    def __init__(self, *, id: str, ascii_only: Callable[[], bool] = lambda: False) -> None:
        super().__init__(self._draw_engine, id=id)
        self._source: MetricsSource | None = None
        self._label = ""
        self._ascii = ascii_only
        self.metrics: ServerMetrics | None = None
        self.recent: Recent | None = None
        self._reading = False
        self.display = False

    def set_source(self, source: MetricsSource | None, label: str = "") -> None:
        """Where the figures come from (the remote backend's `server_metrics`), or None for a
        model on this machine (the section hides)."""
        self._source = source
        self._label = label
        self.metrics = self.recent = None
        self.display = source is not None
        if source is not None:
            self.poll()
        self.redraw()

    def on_mount(self) -> None:
        self.set_interval(POLL_S, self.poll)

    def poll(self) -> None:
        """Read the server's figures off the UI thread (one read at a time)."""
        source = self._source
        if source is None or self._reading or not self.is_mounted:
            return
        if not self.display or not self.screen.is_current:
            return
        self._reading = True

        def read() -> None:
            try:
                metrics = source()
            except Exception:  # noqa: BLE001 - a gauge never breaks the app
                metrics = None
            try:
                self.post_message(ServerMetricsRead(metrics))
            except RuntimeError:
                pass  # shutting down

        self.run_worker(read, thread=True, exit_on_error=False, group="engine-gauge")

    def on_server_metrics_read(self, message: ServerMetricsRead) -> None:
        self._reading = False
        if self._source is None:
            return
        before, after = self.metrics, message.metrics
        if before is not None and after is not None:
            self.recent = recent(before, after) or self.recent
        self.metrics = after
        self.redraw()

    def _draw_engine(self, width: int) -> list[Content]:
        if self._source is None:
            return []
        g = glyphs_for(self._ascii())
        label = wrap_words(self._label, max(1, width - 7), 2, g)
        lines = [Content.assemble(("engine", "bold"), " ", (label[0] if label else "", "bold"))]
        lines += [Content.styled(" " * 7 + more, "bold") for more in label[1:]]
        m = self.metrics
        if m is None:
            lines.append(
                Content.styled(fit("  reading /metrics" + g.ellipsis, width, g), "$text-muted")
            )
            return lines
        if not m.available:
            reason = wrap_words(f"no figures: {m.reason}", max(1, width - 2), 3, g)
            lines += [Content.styled(f"  {line}", "$text-muted") for line in reason]
            return lines
        if m.kv_cache_usage is not None:
            frac = m.kv_cache_usage
            pct = f"{frac * 100:.0f}%"
            room = width - len("KV ") - len(pct) - 1
            if room >= 4:
                o, full, empty, c = bar(frac, room, g)
                style = {"ok": "$success", "warn": "$warning", "crit": "$error bold"}[
                    level(frac, 0.8, 0.95)
                ]
                lines.append(
                    Content.assemble(
                        ("KV", "bold"), " ", o, (full, style), (empty, "$text-muted"), c, " ", pct
                    )
                )
            else:
                lines.append(Content(f"KV {pct}"))
        tokens = []
        if m.requests_running is not None:
            tokens.append(f"run {m.requests_running:.0f}")
        if m.requests_waiting is not None:
            tokens.append(f"wait {m.requests_waiting:.0f}")
        r = self.recent
        if r is not None:
            if r.generation_tps is not None:
                tokens.append(f"all {human_tps(r.generation_tps)} tok/s")
            if r.ttft_s is not None:
                tokens.append(f"TTFT {human_seconds(r.ttft_s)}")
            if r.itl_s is not None:
                tokens.append(f"ITL {human_seconds(r.itl_s)}")
            if r.preemptions:
                tokens.append(f"preempted {r.preemptions:.0f}")
        elif m.preemptions_total:
            tokens.append(f"preemptions {m.preemptions_total:.0f}")
        lines.extend(Content(t) for t in flow(tokens, width, 2, max_lines=3))
        return lines
