"""Getting a model from the hub for the chat: plan, confirm, download beside the chat.

When a load asks for a hub id that is not fully in the HF cache (`tui.models.download.
needs_download`, no network), the load waits and this part takes over: a thread worker asks the
hub for the plan, the `DownloadConfirm` dialog shows it (files, size, free disk, memory fit),
and on Enter another worker fetches it while the chat and the model already loaded go on
answering. Progress goes to the status line and to a section at the top of the gauges pane;
Esc (with no reply to stop) cancels, keeping the partial files for the next try. When the
download is complete, the load it was for starts. A failure (offline, gated, no room) ends as
a failed load does: a notification and a notice in the chat.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING, Any

from tui.engine.backend import LoadSpec
from tui.models.units import format_bytes
from tui.screens.chat.events import (
    DownloadEnded,
    DownloadPlanned,
    DownloadProgressed,
    ModelLoadFailed,
)
from tui.screens.chat.part import Part

if TYPE_CHECKING:
    from tui.models.download import DownloadPlan
    from tui.models.download_progress import DownloadProgress
    from tui.widgets.download_gauge import DownloadGauge

GAUGE_LINGER_S = 8.0  # the finished download's figures stay in the gauges this long


class Downloads(Part):
    """Plans, confirms, runs and cancels the download a load needs."""

    _download_spec: LoadSpec | None = None  # the load a download (or its plan) is for
    _download_cancel: threading.Event | None = None
    _download_gauge: DownloadGauge | None = None
    _download_last: DownloadProgress | None = None

    @property
    def downloading(self) -> bool:
        """A download is being planned, confirmed or fetched."""
        return self._download_spec is not None

    # ---- the contract with the screen -----------------------------------------------------

    def download_first(self, spec: LoadSpec) -> bool:
        """True when `spec` names a hub model that is not (fully) cached: its download is
        planned now and the load waits for it. False: load it as it is."""
        if not self.backend.capabilities.hub_models:
            return False
        from tui.models.download import hub_id, needs_download

        if not needs_download(spec.model):
            return False
        repo = hub_id(spec.model) or spec.model
        if self._download_spec is not None:
            if hub_id(self._download_spec.model) == repo:
                self.app.notify(f"{repo} is downloading already: Esc cancels it.", timeout=4)
            else:
                self.app.notify(
                    "Another model is downloading: let it finish, or Esc to cancel it first.",
                    severity="warning",
                )
            return True
        self._download_spec = spec
        self._download_cancel = threading.Event()
        self._download_last = None
        if self.screen.status.activity.startswith("ready ("):
            self.screen.status.activity = "ready"  # room in the line for the download's figures
        self.screen.status.download = f"{repo}: asking the hub what to download…"
        self.screen.run_worker(
            partial(self._plan_download, spec, repo, self._download_cancel),
            thread=True,
            exclusive=True,
            group="download-plan",
            exit_on_error=False,
        )
        return True

    def cancel(self) -> bool:
        """Esc with no reply to stop: cancel the download (or its plan). False if none."""
        if self._download_spec is None or self._download_cancel is None:
            return False
        if self._download_cancel.is_set():
            return True  # already stopping
        self._download_cancel.set()
        self.screen.status.download = "cancelling the download…"
        return True

    # ---- planning and confirming ----------------------------------------------------------

    def _plan_download(self, spec: LoadSpec, repo: str, cancel: threading.Event) -> None:
        from tui.models.download import DownloadError, plan_download
        from tui.widgets.model_estimate import pick_target, precision_key

        try:
            plan = plan_download(repo)
        except DownloadError as exc:
            self.screen.post_message(DownloadEnded(spec, "failed", exc.message, exc.hint))
            return
        except Exception as exc:  # noqa: BLE001 - any failure is a message, not a crash
            self.screen.post_message(DownloadEnded(spec, "failed", f"{type(exc).__name__}: {exc}"))
            return
        if cancel.is_set():
            self.screen.post_message(DownloadEnded(spec, "cancelled"))
            return
        snapshot = self.screen.gauges.snapshot
        if snapshot is None:
            try:
                snapshot = self.screen.hardware.probe.sample()
            except Exception:  # noqa: BLE001 - no figures: the estimate says "?"
                snapshot = None
        target = pick_target(snapshot, spec.device, self.screen.hardware.known_cpu_bandwidth())
        chosen = precision_key(spec.dtype, spec.quantize, target.on_gpu)
        self.screen.post_message(DownloadPlanned(plan, spec, target, chosen))

    def planned(self, event: DownloadPlanned) -> None:
        from tui.screens.download_confirm import DownloadConfirm

        if self._download_cancel is None or self._download_cancel.is_set():
            self.ended(event.spec, "cancelled", "")
            return
        plan = event.plan
        self.screen.status.download = (
            f"{plan.repo_id}: {format_bytes(plan.needed_bytes)} to download?"
        )

        def answer(yes: bool | None) -> None:
            if yes and self._download_cancel is not None:
                self._show_gauge()
                self.screen.run_worker(
                    partial(self._fetch, plan, event.spec, self._download_cancel),
                    thread=True,
                    exclusive=True,
                    group="download",
                    exit_on_error=False,
                )
                return
            problem = plan.disk_problem()
            if problem:
                self.screen.post_message(
                    DownloadEnded(
                        event.spec,
                        "failed",
                        problem,
                        "Free some space (hf cache rm, or delete models you no longer use), "
                        "then load it again.",
                    )
                )
            else:
                self.screen.post_message(DownloadEnded(event.spec, "declined"))

        self.app.push_screen(DownloadConfirm(plan, event.target, event.chosen), answer)

    # ---- fetching ---------------------------------------------------------------------------

    def _fetch(self, plan: DownloadPlan, spec: LoadSpec, cancel: threading.Event) -> None:
        from tui.models.download import DownloadCancelled, DownloadError, fetch

        try:
            fetch(plan, lambda p: self.screen.post_message(DownloadProgressed(p)), cancel)
        except DownloadCancelled:
            self.screen.post_message(DownloadEnded(spec, "cancelled"))
        except DownloadError as exc:
            self.screen.post_message(DownloadEnded(spec, "failed", exc.message, exc.hint))
        except Exception as exc:  # noqa: BLE001
            self.screen.post_message(DownloadEnded(spec, "failed", f"{type(exc).__name__}: {exc}"))
        else:
            self.screen.post_message(DownloadEnded(spec, "done"))

    def progressed(self, progress: DownloadProgress) -> None:
        from tui.models.download import describe_progress
        from tui.models.download_progress import short_line

        if self._download_spec is None:
            return  # a late record from a download that has ended
        self._download_last = progress
        if self._download_cancel is not None and self._download_cancel.is_set():
            return  # "cancelling…" stays until the worker stops
        self.screen.status.download = short_line(progress)
        if self._download_gauge is not None:
            self._download_gauge.show(progress)
        view = self.screen.reply_view
        if view is not None and self.screen.waiting_for_model:
            view.refresh_meta(f"waiting for the download: {describe_progress(progress)}")

    def ended(self, spec: LoadSpec, outcome: str, error: str, hint: str = "") -> None:
        if self._download_spec is None:
            return
        self._download_spec = self._download_cancel = None
        last = self._download_last
        repo = spec.model
        kept = ""
        if last is not None and last.bytes_done:
            kept = f"{format_bytes(last.bytes_done)} of {format_bytes(last.bytes_total)} kept"
        if outcome == "done":
            self.screen.status.download = ""
            self._finish_gauge("done")
            self.app.notify(f"{repo} is downloaded: loading it.", timeout=5)
            self.screen.loads.start(spec)
            return
        if outcome == "cancelled":
            words = f"{repo}: download cancelled" + (f", {kept}" if kept else "")
            self.screen.status.download = words
            self._finish_gauge("cancelled")
            self.app.notify(
                f"{words}. Load it again (F6) to continue where it stopped.",
                title="Download cancelled",
                timeout=8,
            )
            self._give_up_load(f"{repo} was not downloaded (cancelled).", "")
            return
        if outcome == "declined":
            self.screen.status.download = ""
            self._give_up_load(f"{repo} was not downloaded.", "")
            return
        self.screen.status.download = f"{repo}: download failed, {kept}" if kept else ""
        self._finish_gauge("failed")
        self.screen.post_message(ModelLoadFailed(error, hint))

    def _give_up_load(self, error: str, hint: str) -> None:
        """No model comes of it: a reply that waited for one ends as after a failed load."""
        if self.screen.waiting_for_model:
            self.screen.post_message(ModelLoadFailed(error, hint))

    # ---- the gauges' section ----------------------------------------------------------------

    def _show_gauge(self) -> None:
        from tui.widgets.download_gauge import DownloadGauge

        if self._download_gauge is None:
            self._download_gauge = DownloadGauge(ascii_only=self.screen.gauges.ascii_only)
            children = list(self.screen.gauges.children)
            self.screen.gauges.mount(self._download_gauge, before=children[0] if children else None)

    def _finish_gauge(self, outcome: str) -> None:
        gauge = self._download_gauge
        if gauge is None:
            return
        gauge.finish(outcome)

        def remove() -> Any:
            if self._download_gauge is gauge and self._download_spec is None:
                self._download_gauge = None
                return gauge.remove()
            return None

        self.screen.set_timer(GAUGE_LINGER_S, remove)

    def cancel_on_exit(self) -> None:
        if self._download_cancel is not None:
            self._download_cancel.set()  # the worker thread stops at its next chunk
