"""The model picker pane: every model on this machine, whether it fits, and how to load it.

Switching models should not mean remembering ids or guessing whether 8x7B fits in 24 GB. The
pane lists the catalog (bundled default, HF cache, model folders) with size, parameters (total
and active for MoE), context and chat template; a search line filters it and accepts any typed
HF id or path; for the highlighted model a table says, per precision, whether it fits in the
target device's free memory and the most tok/s its memory bandwidth allows; six one-line
options choose dtype, quantization, device, attention, trust_remote_code and a draft for
assisted generation. Enter (or Load) posts `LoadRequested`; the app does the loading.

Blocking work never runs on the UI thread: listing and describing read model headers (each in
a thread worker of its own group, reporting back with a message); hardware samples (which may
initialise NVML) and the CPU bandwidth (which may be measured) come from the app's
`HardwareService`, on its threads, shared with the gauges. Layout: stacked when narrow (30-60
columns, a side pane), list beside details from 72 columns (a full-width overlay at 80x24).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.content import Content
from textual.events import Hide, Resize, Show
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from tui.engine import registry
from tui.engine.backend import LoadSpec
from tui.engine.options import LoadOption
from tui.hardware import HardwareService, HardwareSnapshot
from tui.models import default_model
from tui.models.catalog import Catalog, CatalogEntry, describe, list_models
from tui.models.estimates import Estimate, estimate
from tui.widgets.drawn_lines import DrawnLines
from tui.widgets.hardware_feed import CpuBandwidthKnown, HardwareSampled, post_to
from tui.widgets.model_choice import ChoiceRow
from tui.widgets.model_estimate import (
    MUTED,
    Target,
    advice,
    draft_choices,
    entry_lines,
    estimate_table,
    list_prompt,
    pick_target,
    precision_key,
    target_line,
    wrap,
)
from tui.widgets.model_lines import SearchLine

WIDE_COLUMNS = 72  # from here the list and the details sit side by side
DESCRIBE_DELAY_S = 0.25  # typing pauses this long before a typed id is looked up
REFRESH_S = 5.0  # free memory changes as other jobs come and go on a shared box
GROUP = "model-picker"  # worker groups start with this; their state changes stay here


def _load_options() -> tuple[LoadOption, ...]:
    """The local engine's load options, declared by the backend once (engine/options.py)."""
    return registry.backend_class("transformers").load_options


TRUST_WARNING = (
    "Remote code: the model repo's own Python will run on this machine with your rights. "
    "Only for repos you trust."
)


def looks_like_model_ref(text: str) -> bool:
    """Typed text worth describing as a model of its own (not just a filter word)."""
    text = text.strip()
    return bool(text) and (
        "/" in text
        or text.startswith((".", "~"))
        or text.lower().endswith(".gguf")
        or default_model.is_default(text)
    )


class ModelPicker(Widget):
    """Choose a model and how to load it.

    Args:
        hardware: the app's HardwareService (shared with the gauges: one probe, one bandwidth
            measurement); None makes and closes one.
        model_dirs: folders to scan besides the HF cache (config `model_dirs`, `--model-dir`).
        current: id of the model loaded now (marked in the list, highlighted first).
        lister: catalog source, `list_models(model_dirs)` by default (tests pass fixed data).
        describer: typed text -> entry, `catalog.describe` by default.
        remote_spec: a served entry -> its LoadSpec (endpoint_models.RemoteModels.spec_for).
        refresh_s: seconds between hardware samples while shown (0: sample once per show).
    """

    DEFAULT_CSS = """
    ModelPicker {
        width: 1fr;
        height: 1fr;
        padding: 0 1;
        background: $surface;
    }
    ModelPicker #mp-title {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ModelPicker #mp-search {
        margin: 0 0 1 0;
        background: $boost;
    }
    ModelPicker #mp-body {
        height: 1fr;
        layout: vertical;
    }
    ModelPicker #mp-list {
        height: 1fr;
        min-height: 4;
        scrollbar-size-vertical: 1;
    }
    ModelPicker #mp-side {
        height: auto;
        max-height: 60%;
        margin-top: 1;
        scrollbar-size-vertical: 1;
    }
    ModelPicker.-wide #mp-body {
        layout: horizontal;
    }
    ModelPicker.-wide #mp-list {
        width: 1fr;
        height: 1fr;
    }
    ModelPicker.-wide #mp-side {
        width: 1fr;
        height: 1fr;
        max-height: 100%;
        margin: 0 0 0 2;
    }
    ModelPicker #mp-options {
        height: auto;
        margin-top: 1;
    }
    ModelPicker #mp-actions {
        height: 1;
        margin-top: 1;
    }
    ModelPicker #mp-load {
        min-width: 8;
    }
    ModelPicker #mp-keys {
        width: 1fr;
        margin-left: 2;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    BINDINGS = [
        Binding("enter", "load", "Load model", show=False),
        Binding("escape", "dismiss", "Close picker", show=False),
    ]

    class LoadRequested(Message):
        """The user chose a model. `spec` is ready for `Backend.load`; `entry` says what it is
        (name, facts) for the status line. The picker stays open; the app hides it."""

        def __init__(self, spec: LoadSpec, entry: CatalogEntry) -> None:
            super().__init__()
            self.spec = spec
            self.entry = entry

    class Dismissed(Message):
        """Esc in the picker: the app hides it and gives focus back to the prompt."""

    class _Scanned(Message, bubble=False):
        def __init__(self, catalog: Catalog | None, error: str | None = None) -> None:
            super().__init__()
            self.catalog = catalog
            self.error = error

    class _Described(Message, bubble=False):
        def __init__(self, text: str, entry: CatalogEntry) -> None:
            super().__init__()
            self.text = text
            self.entry = entry

    def __init__(
        self,
        hardware: HardwareService | None = None,
        model_dirs: Sequence[Path] = (),
        current: str | None = None,
        *,
        lister: Callable[[Sequence[Path]], Catalog] | None = None,
        describer: Callable[[str], CatalogEntry] | None = None,
        remote_spec: Callable[[CatalogEntry], LoadSpec | None] | None = None,
        refresh_s: float = REFRESH_S,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._owns_hardware = hardware is None
        self.hardware = hardware or HardwareService()
        self.model_dirs = list(model_dirs)
        self._lister = lister or (lambda dirs: list_models(dirs))
        self._describer = describer or describe
        # A served model's spec (endpoint_models.py: the lister lists them, this loads them).
        self._remote_spec = remote_spec
        # Fresh figures on each show, then every refresh_s while shown (0: on show only).
        self._sampler = self.hardware.sampler(
            post_to(self, HardwareSampled),
            interval=refresh_s if refresh_s > 0 else REFRESH_S,
            once=refresh_s <= 0,
        )
        self.catalog: Catalog | None = None
        self.scan_error: str | None = None
        self.loaded_id = current
        self._want_id = current  # what to highlight once the list arrives
        self._shown: list[CatalogEntry] = []
        self._typed: CatalogEntry | None = None
        self._typed_pending = False
        self._load_when_described = False
        self._describe_timer: Timer | None = None
        self.snapshot: HardwareSnapshot | None = None
        self.cpu_bw: float | None = None
        self._bw_state = "unknown"  # unknown | measuring | known | failed
        self._scanning = False
        self._title = Content("Models")
        # Children exist from on_mount on (is_mounted turns true only after on_mount returns).
        self._composed = False

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="mp-title", markup=False)
        yield SearchLine(
            placeholder="find, or type an HF id / path",
            compact=True,
            id="mp-search",
        )
        with Container(id="mp-body"):
            yield OptionList(id="mp-list", markup=False, compact=True)
            # Not a focus stop of its own: focusing a row scrolls it into view.
            with VerticalScroll(id="mp-side", can_focus=False):
                yield DrawnLines(self._draw_detail, id="mp-detail")
                with Container(id="mp-options"):
                    for option in _load_options():
                        yield ChoiceRow(option.label, option.row_choices(), id=f"mp-{option.key}")
                    yield ChoiceRow("draft", draft_choices(None, None), "none", id="mp-draft")
                yield DrawnLines(self._draw_notes, id="mp-notes")
        with Horizontal(id="mp-actions"):
            yield Button("Load", id="mp-load", compact=True, variant="primary")
            yield Static("Tab next · ←→ change · Enter load · Esc close", id="mp-keys")

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#mp-list", OptionList)

    @property
    def search(self) -> Input:
        return self.query_one("#mp-search", Input)

    def _row(self, name: str) -> ChoiceRow:
        return self.query_one(f"#mp-{name}", ChoiceRow)

    def focus(self, scroll_visible: bool = True) -> ModelPicker:
        """Focus goes to the search line: type to filter, arrows to move, Enter to load."""
        self.search.focus(scroll_visible)
        return self

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= WIDE_COLUMNS, "-wide")

    # -- lifecycle ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._composed = True
        self.set_class(self.size.width >= WIDE_COLUMNS, "-wide")
        self._update_title()
        self._rebuild_list()
        self._sampler.start(paused=True)

    def on_show(self, _event: Show) -> None:
        # A pane mounted hidden costs nothing until shown. Each showing lists the models
        # again (a download may have finished meanwhile); the old list stays until then.
        if not self._scanning:
            self.rescan()
        self._sampler.resume()  # samples at once

    def on_hide(self, _event: Hide) -> None:
        self._sampler.pause()

    def on_unmount(self) -> None:
        self._sampler.stop(timeout=1.0)
        if self._owns_hardware:
            self.hardware.close(timeout=1.0)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Our workers report through messages; keep their state changes from the app's handler.
        if (event.worker.group or "").startswith(GROUP):
            event.stop()

    # -- the contract with the app ------------------------------------------------------------

    def rescan(self) -> None:
        """List the models again (done on each show); the highlight is kept."""
        self._scanning = True
        self._update_title()
        if self.catalog is None:
            self._rebuild_list()
        self.run_worker(
            partial(self._scan, list(self.model_dirs)),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=f"{GROUP}-scan",
            name="list models",
        )

    def mark_loaded(self, model_id: str | None) -> None:
        """Show `model_id` as the model in use (None: no model loaded)."""
        self.loaded_id = model_id
        if self.catalog is None:
            self._want_id = model_id
        self._rebuild_list(keep=self.selected.id if self.selected else model_id)
        self._redraw()

    @property
    def selected(self) -> CatalogEntry | None:
        """The highlighted entry (the typed one included)."""
        index = self.option_list.highlighted if self._composed else None
        if index is None or not 0 <= index < len(self._shown):
            return None
        return self._shown[index]

    def load_spec(self, entry: CatalogEntry | None = None) -> LoadSpec | None:
        """The LoadSpec the options describe for `entry` (default: the highlighted one)."""
        entry = entry or self.selected
        if entry is None:
            return None
        if entry.kind == "remote" and self._remote_spec is not None:
            return self._remote_spec(entry)
        options: dict[str, Any] = {
            o.dest: o.to_spec(self._row(o.key).value) for o in _load_options()
        }
        draft = self._row("draft").value
        return LoadSpec(
            model=entry.id,
            dtype=options["dtype"] or "auto",
            device=options["device"] or "auto",
            quantize=options["quantize"],
            trust_remote_code=bool(options["trust_remote_code"]),
            attn_implementation=options["attn"],
            draft=None if draft == "none" else draft,
        )

    def move_highlight(self, step: int) -> None:
        options = self.option_list
        if not self._shown:
            return
        current = options.highlighted if options.highlighted is not None else 0
        options.highlighted = max(0, min(len(self._shown) - 1, current + step))

    # -- actions ------------------------------------------------------------------------------

    def action_load(self) -> None:
        entry = self.selected
        if entry is None:
            self.app.bell()
            return
        if entry is self._typed and self._typed_pending:
            self._load_when_described = True  # Enter came before the lookup: load once known
            return
        if not entry.loadable:
            text = f"{entry.error}\n{entry.hint}".strip()
            self.notify(text, title="Cannot load this model", severity="error")
            return
        spec = self.load_spec(entry)
        assert spec is not None
        self.post_message(self.LoadRequested(spec, entry))

    def action_dismiss(self) -> None:
        self.post_message(self.Dismissed())

    # -- events from the children -------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        if self._describe_timer is not None:
            self._describe_timer.stop()
            self._describe_timer = None
        self._load_when_described = False
        if looks_like_model_ref(text) and not self._in_catalog(text):
            self._typed = CatalogEntry(text, text, "typed", None, hint="Looking it up…")
            self._typed_pending = True
            self._describe_timer = self.set_timer(DESCRIBE_DELAY_S, partial(self._describe, text))
        else:
            self._typed, self._typed_pending = None, False
        self._rebuild_list(first=True)
        self._redraw()

    def on_search_line_move(self, event: SearchLine.Move) -> None:
        event.stop()
        self.move_highlight(event.step)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._describe_timer is not None:  # Enter right after typing: look it up now
            self._describe_timer.stop()
            self._describe_timer = None
            self._describe(event.value.strip())
        self.action_load()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._update_drafts()
        self._redraw()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_load()

    def on_choice_row_changed(self, event: ChoiceRow.Changed) -> None:
        event.stop()
        if event.row.id == "mp-device":
            self._ensure_bandwidth()
        self._redraw()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "mp-load":
            self.action_load()

    # -- workers and their messages -----------------------------------------------------------

    def _scan(self, dirs: list[Path]) -> None:
        try:
            catalog, error = self._lister(dirs), None
        except Exception as exc:  # noqa: BLE001 - shown in the pane, the app goes on
            catalog, error = None, f"{type(exc).__name__}: {exc}"
        self._post(self._Scanned(catalog, error))

    def on_model_picker__scanned(self, message: _Scanned) -> None:
        self._scanning = False
        self.scan_error = message.error
        if message.catalog is not None:
            keep = self.selected.id if self.selected else self._want_id
            self.catalog = message.catalog
            self._rebuild_list(keep=keep)
        self._update_title()
        self._update_drafts()
        self._redraw()

    def _describe(self, text: str) -> None:
        self._describe_timer = None
        self.run_worker(
            partial(self._describe_worker, text),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=f"{GROUP}-describe",
            name="describe model",
        )

    def _describe_worker(self, text: str) -> None:
        try:
            entry = self._describer(text)
        except Exception as exc:  # noqa: BLE001
            entry = CatalogEntry(text, text, "typed", None, error=f"{type(exc).__name__}: {exc}")
        self._post(self._Described(text, entry))

    def on_model_picker__described(self, message: _Described) -> None:
        if message.text != self.search.value.strip():
            return  # the user typed on: a newer lookup is coming
        was_selected = self.selected is self._typed
        self._typed, self._typed_pending = message.entry, False
        self._rebuild_list(keep=message.entry.id if was_selected else None)
        self._update_drafts()
        self._redraw()
        if self._load_when_described:
            self._load_when_described = False
            self.action_load()

    def on_hardware_sampled(self, message: HardwareSampled) -> None:
        first = self.snapshot is None
        self.snapshot = message.snapshot
        if first or len(message.snapshot.gpus) != len(self._row("device").choices) - 2:
            devices = [("auto", "auto"), ("cpu", "cpu")]
            for i, gpu in enumerate(message.snapshot.gpus):
                devices.append((f"cuda:{i}", f"cuda:{i} {gpu.name}"))
            self._row("device").set_choices(devices)
        self._ensure_bandwidth()
        self._redraw()

    def _ensure_bandwidth(self) -> None:
        """Ask for the CPU's bandwidth (measured once per app) when the target is the CPU."""
        if self._bw_state != "unknown" or self.snapshot is None or self._target().on_gpu:
            return
        known = self.hardware.known_cpu_bandwidth()
        if known:
            self.cpu_bw, self._bw_state = known, "known"
            return
        self._bw_state = "measuring"
        self.hardware.measure_cpu_bandwidth(post_to(self, CpuBandwidthKnown))

    def on_cpu_bandwidth_known(self, message: CpuBandwidthKnown) -> None:
        self.cpu_bw = message.value
        self._bw_state = "known" if message.value else "failed"
        self._redraw()

    def _post(self, message: Message) -> None:
        try:
            self.post_message(message)
        except RuntimeError:
            pass  # the app is shutting down

    # -- state to screen ----------------------------------------------------------------------

    def _in_catalog(self, text: str) -> bool:
        return self.catalog is not None and self.catalog.find(text) is not None

    def _filtered(self) -> list[CatalogEntry]:
        if self.catalog is None:
            return []
        words = self.search.value.lower().split() if self._composed else []
        return [e for e in self.catalog.entries if self._matches(e, words)]

    @staticmethod
    def _matches(entry: CatalogEntry, words: Iterable[str]) -> bool:
        haystack = f"{entry.id} {entry.name}".lower()
        return all(w in haystack for w in words)

    def _rebuild_list(self, keep: str | None = None, first: bool = False) -> None:
        """Refill the list; highlight `keep` (default: the highlighted entry) or, with `first`,
        the top row (after typing, Enter takes the best match, as in a command palette)."""
        if not self._composed:
            return
        options = self.option_list
        if keep is None and not first and self.selected is not None:
            keep = self.selected.id
        shown = self._filtered()
        if self._typed is not None:
            # Catalog matches first: typing "org/ti" to filter must not put an unknown
            # "org/ti" under Enter. A new id matches nothing and is then the only row.
            shown = [e for e in shown if e.id != self._typed.id] + [self._typed]
        self._shown = shown
        if not shown:
            placeholder = "scanning…" if self.catalog is None else "no model matches"
            options.set_options([Option(Content.styled(placeholder, MUTED), disabled=True)])
            return
        options.set_options(
            Option(list_prompt(e, e.id == self.loaded_id), id=str(i)) for i, e in enumerate(shown)
        )
        options.highlighted = next((i for i, e in enumerate(shown) if e.id == keep), 0)

    def _update_title(self) -> None:
        if not self._composed:
            return
        parts = [("Models", "bold")]
        if self._scanning and self.catalog is None:
            status = "scanning…"
        elif self.scan_error:
            status = f"listing failed: {self.scan_error}"
        elif self.catalog is not None:
            n = len(self.catalog.entries)
            status = f"{n} found"
            if self._scanning:
                status += " · rescanning…"
        else:
            status = ""
        self._title = Content.assemble(*parts, (f" · {status}" if status else "", MUTED))
        self.query_one("#mp-title", Static).update(self._title)

    def _update_drafts(self) -> None:
        if self._composed:
            self._row("draft").set_choices(draft_choices(self.catalog, self.selected))

    def _target(self) -> Target:
        device = self._row("device").value if self._composed else "auto"
        return pick_target(self.snapshot, device, self.cpu_bw)

    def _estimate(self, entry: CatalogEntry, target: Target) -> Estimate | None:
        if entry.error or entry.facts.parameters is None:
            return None
        return estimate(
            entry.facts, free_bytes=target.free_bytes, bandwidth_bytes_per_s=target.bandwidth
        )

    def _chosen_key(self, target: Target) -> str:
        quantize = self._row("quantize").value
        return precision_key(
            self._row("dtype").value, None if quantize == "none" else quantize, target.on_gpu
        )

    def _draw_detail(self, width: int) -> list[Content]:
        if not self._composed:
            return []
        entry = self.selected
        if entry is None:
            text = "Scanning the HF cache and model folders…" if self.catalog is None else ""
            return wrap(text, width, MUTED) if text else []
        # Stacked under the list, the name and summary are right above: not repeated.
        brief = not self.has_class("-wide")
        lines = entry_lines(entry, width, loaded=entry.id == self.loaded_id, brief=brief)
        target = self._target()
        est = self._estimate(entry, target)
        if est is None:
            return lines
        chosen = self._chosen_key(target)
        lines.append(Content(""))
        lines += estimate_table(est, chosen, width)
        lines += target_line(target, width, measuring=self._bw_state == "measuring")
        lines += advice(est, chosen, width)
        return lines

    def _draw_notes(self, width: int) -> list[Content]:
        if not self._composed:
            return []
        lines: list[Content] = []
        if self._row("trust").value == "on":
            lines += wrap(TRUST_WARNING, width, "$warning bold")
        entry = self.selected
        if entry is not None:
            est = self._estimate(entry, self._target())
            notes = list(est.notes) if est is not None else []
            for note in notes:
                lines += wrap(note, width, MUTED)
        if self.catalog is not None:
            for warning in self.catalog.warnings:
                lines += wrap(warning, width, "$warning")
        if lines:
            lines.insert(0, Content(""))
        return lines

    def _redraw(self) -> None:
        if not self._composed:
            return
        for lines in self.query(DrawnLines):
            lines.redraw()

    def text(self) -> str:
        """What the pane shows, as plain text (title, list, details, options): for tests."""
        parts = [self._title.plain]
        parts += [self._as_content(o.prompt).plain for o in self.option_list.options]
        parts.append(self.query_one("#mp-detail", DrawnLines).plain)
        parts += [f"{r.label}: {r.value_label}" for r in self.query(ChoiceRow)]
        parts.append(self.query_one("#mp-notes", DrawnLines).plain)
        return "\n".join(parts)

    @staticmethod
    def _as_content(prompt: object) -> Content:
        return prompt if isinstance(prompt, Content) else Content(str(prompt))
