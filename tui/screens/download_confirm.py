"""Before a download starts: what it will fetch, whether the disk has room, whether it will fit.

A model that is not on the machine yet can be 16 GB: the user should see, before a byte moves,
how many files and gigabytes it is (only what loading needs; the files left out are named),
how much of it an earlier try already fetched, the free space where the HF cache lives, and the
picker's memory estimate for the chosen device and precision. Enter (or `d`) downloads; Esc
backs out. When the disk is too small the dialog says by how much and Enter does nothing, so a
download never starts only to fail at 90%. Every string (repo ids, file names, paths) is drawn
as text, never markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui.models.download import DownloadPlan
from tui.models.estimates import estimate
from tui.models.units import format_bytes
from tui.widgets.drawn_lines import DrawnLines
from tui.widgets.model_estimate import MUTED, Target, advice, estimate_table, target_line, wrap


class DownloadConfirm(ModalScreen[bool]):
    """Shows `plan` and asks to download it; True to go ahead, False on Esc.

    Args:
        plan: from `tui.models.download.plan_download`.
        target: the device the model would load into (`model_estimate.pick_target`).
        chosen: the estimate row the load options select (`model_estimate.precision_key`).
    """

    DEFAULT_CSS = """
    DownloadConfirm { align: center middle; }
    DownloadConfirm > #dialog {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    DownloadConfirm.-no-room > #dialog { border: round $error; }
    DownloadConfirm #dl-title { text-style: bold; }
    DownloadConfirm #dl-body { height: auto; max-height: 24; }
    DownloadConfirm #dl-keys { color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [
        Binding("enter", "download", "Download", priority=True),
        Binding("d", "download", "Download", show=False),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, plan: DownloadPlan, target: Target, chosen: str | None) -> None:
        super().__init__()
        self.plan = plan
        self.target = target
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        ok = self.plan.disk_ok
        self.set_class(not ok, "-no-room")
        with Vertical(id="dialog"):
            title = (
                f"Download {self.plan.repo_id}?" if ok else f"Cannot download {self.plan.repo_id}"
            )
            yield Static(Content(title), id="dl-title")
            with VerticalScroll(id="dl-body", can_focus=False):
                yield DrawnLines(self._draw, id="dl-plan")
            keys = "Enter download · Esc cancel" if ok else "Esc close: free some space first"
            yield Static(Content(keys), id="dl-keys")
        yield Footer()

    def _draw(self, width: int) -> list[Content]:
        plan = self.plan
        lines: list[Content] = []
        summary = plan.summary()
        lines += wrap(summary[0], width)
        for text in summary[1:]:
            lines += wrap(text, width, MUTED)
        problem = plan.disk_problem()
        if problem:
            lines.append(Content(""))
            lines += wrap(problem, width, "$error bold")
        if plan.gated:
            lines += wrap("Gated repo: your HF token has access (checked).", width, MUTED)
        lines.append(Content(""))
        lines += self._fit(width)
        return lines

    def _fit(self, width: int) -> list[Content]:
        facts = self.plan.facts
        if facts.parameters is None:
            return wrap("Memory: parameter count unknown, no estimate.", width, MUTED)
        est = estimate(
            facts, free_bytes=self.target.free_bytes, bandwidth_bytes_per_s=self.target.bandwidth
        )
        weights = f"{format_bytes(facts.size_on_disk)} on disk"
        lines = wrap(f"Once downloaded ({weights}), in memory:", width, "bold")
        lines += estimate_table(est, self.chosen, width)
        lines += target_line(self.target, width)
        lines += advice(est, self.chosen, width)
        return lines

    def text(self) -> str:
        """What the dialog shows, as plain text: for tests."""
        title = self.query_one("#dl-title", Static).render()
        body = self.query_one("#dl-plan", DrawnLines).plain
        keys = self.query_one("#dl-keys", Static).render()
        return "\n".join(str(part) for part in (title, body, keys))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No Download key in the footer when the disk is too small."""
        if action == "download" and not self.plan.disk_ok:
            return False
        return True

    def action_download(self) -> None:
        if not self.plan.disk_ok:
            self.app.bell()
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
