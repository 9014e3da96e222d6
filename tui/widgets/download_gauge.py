"""The download's section of the gauges pane: a bar, files and bytes, the rate and time left.

Mounted at the top of the gauges pane while a model downloads (and for a moment after), so the
figures sit beside the memory gauges the model will fill; the status line carries the same
figures in one line for terminals too narrow for the pane. Drawn for the width it gets, in
ASCII where the pane draws ASCII.
"""

from __future__ import annotations

from textual.content import Content

from tui.models.download_progress import DownloadProgress, bytes_figure, human_duration
from tui.models.units import format_bytes
from tui.widgets.drawn_lines import DrawnLines
from tui.widgets.gauge_text import bar, fit, flow, glyphs_for

_LABEL = "bold"
_MUTED = "$text-muted"


class DownloadGauge(DrawnLines):
    """Shows the latest `DownloadProgress`, or how the download ended (`finish`)."""

    def __init__(self, ascii_only: bool = False, *, id: str = "gauges-download") -> None:
        super().__init__(self._draw_lines, id=id)
        self.glyphs = glyphs_for(ascii_only)
        self.progress: DownloadProgress | None = None
        self.outcome: str | None = None  # "done", "cancelled: …", "failed: …"

    def show(self, progress: DownloadProgress) -> None:
        self.progress, self.outcome = progress, None
        self.redraw()

    def finish(self, outcome: str) -> None:
        self.outcome = outcome
        self.redraw()

    def _draw_lines(self, width: int) -> list[Content]:
        g = self.glyphs
        p = self.progress
        if p is None:
            return [Content.styled(fit("download: planning…", width, g), _MUTED)]
        name = p.repo_id.split("/")[-1]
        lines = [Content.assemble(("get ", _LABEL), (fit(name, width - 4, g), _LABEL))]
        pct = f"{p.fraction:.0%}"
        room = width - len(pct) - 1
        if room >= 4:
            o, full, empty, c = bar(p.fraction, room, g)
            lines.append(Content.assemble(o, (full, "$accent"), (empty, _MUTED), c, " ", pct))
        tokens = [
            f"{p.files_done}/{p.files_total} files",
            bytes_figure(p.bytes_done, p.bytes_total),
        ]
        if self.outcome:
            tokens.append(self.outcome)
        elif p.phase == "verifying":
            tokens.append("checking" + g.ellipsis)
        else:
            tokens.append(f"{format_bytes(p.rate)}/s" if p.rate else "starting" + g.ellipsis)
            if p.eta_s is not None:
                tokens.append(f"{human_duration(p.eta_s)} left")
        lines.extend(Content.styled(t, _MUTED) for t in flow(tokens, width, 2, max_lines=3))
        return lines
