"""What the model picker draws for one model: its facts, and whether and how fast it would run.

Pure functions from (entry, estimate, width) to lines of `Content`, so the picker's look is
testable without a terminal and fits any width from a 30-column side pane to a full screen:
the estimate table drops its least telling columns first (KV cache, weights, total) and keeps
precision, fits and tok/s to the end. Every string from a model's files is added as text,
never parsed as markup. Also here: which device the estimate is for, from a hardware snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content

from tui.engine.assisted import PROMPT_LOOKUP
from tui.hardware.snapshot import HardwareSnapshot
from tui.models.catalog import Catalog, CatalogEntry
from tui.models.estimates import Estimate, EstimateRow
from tui.models.units import format_bytes

MUTED = "$text-muted"
KIND_LABEL = {
    "bundled": "bundled default",
    "hf-cache": "HF cache",
    "folder": "folder",
    "gguf": "GGUF file",
    "typed": "not downloaded",
    "remote": "served",
}


@dataclass(frozen=True)
class Target:
    """The memory a model would be loaded into: free bytes and bandwidth, None if unknown."""

    label: str  # "GPU0 NVIDIA H100 80GB HBM3", "2 GPUs", "CPU RAM"
    free_bytes: int | None
    bandwidth: float | None
    on_gpu: bool


def pick_target(
    snapshot: HardwareSnapshot | None, device: str, cpu_bandwidth: float | None
) -> Target:
    """Where `device` ("auto", "cpu", "cuda:N") would put the model. "auto" means every GPU
    (the backend loads with device_map="auto"), else the CPU; RAM counts what is available."""
    if snapshot is None:
        return Target("reading hardware…", None, None, device.startswith("cuda"))
    gpus = snapshot.gpus
    if device != "cpu" and gpus:
        if device == "auto" and len(gpus) > 1:
            free = sum(g.memory_total - g.memory_used for g in gpus)
            # Decoding visits the shards one after another: one card's bandwidth bounds it.
            return Target(f"{len(gpus)} GPUs", free, gpus[0].peak_bandwidth, True)
        gpu = snapshot.gpu_for_device("cuda" if device == "auto" else device)
        if gpu is not None:
            label = f"GPU{gpu.index} {gpu.name}"
            return Target(label, gpu.memory_total - gpu.memory_used, gpu.peak_bandwidth, True)
    cpu = snapshot.cpu
    return Target("CPU RAM", cpu.ram_total - cpu.ram_used, cpu_bandwidth, False)


def precision_key(dtype: str, quantize: str | None, on_gpu: bool) -> str:
    """The estimate row the chosen load options correspond to."""
    if quantize in ("8bit", "4bit"):
        return quantize
    if dtype == "fp32" or (dtype == "auto" and not on_gpu):
        return "fp32"
    return "bf16"


def _tps(value: float | None) -> str:
    if value is None:
        return "?"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _fits(row: EstimateRow) -> tuple[str, str]:
    if row.fits is None:
        return "?", MUTED
    return ("yes", "$success") if row.fits else ("no", "$error")


# Columns in the order they are given up when the pane is narrow (first kept longest).
_COLUMNS = ("precision", "fits", "tok/s", "total", "weights", "kv")


def _cells(row: EstimateRow) -> dict[str, str]:
    return {
        "precision": row.precision.label,
        "fits": _fits(row)[0],
        "tok/s": _tps(row.bound_tps),
        "total": format_bytes(row.total_bytes),
        "weights": format_bytes(row.weights_bytes),
        "kv": format_bytes(row.kv_bytes),
    }


def estimate_table(est: Estimate, chosen: str | None, width: int) -> list[Content]:
    """The per-precision table, as many columns as fit in `width`; the row matching the chosen
    load options is marked with ">" (readable without colour) and bold."""
    headers = {
        "precision": "precision",
        "fits": "fits",
        "tok/s": "≤tok/s",
        "total": "total",
        "weights": "weights",
        "kv": f"KV@{est.context_tokens}",
    }
    rows = [_cells(r) for r in est.rows]
    widths = {c: max(len(headers[c]), *(len(r[c]) for r in rows)) for c in _COLUMNS}
    columns: list[str] = []
    used = 2  # the marker column
    for col in _COLUMNS:
        need = widths[col] + (2 if columns else 0)
        if used + need > width and len(columns) >= 2:
            break
        columns.append(col)
        used += need

    def line(cells: dict[str, str], marker: str, style: str, fits_style: str = "") -> Content:
        parts: list[str | tuple[str, str]] = [(marker, style)]
        for i, col in enumerate(columns):
            gap = "  " if i else ""
            text = cells[col].ljust(widths[col]) if i < len(columns) - 1 else cells[col]
            parts.append(gap)
            parts.append((text, fits_style if col == "fits" and fits_style else style))
        return Content.assemble(*parts)

    out = [line(headers, "  ", f"bold {MUTED}")]
    for row, cells in zip(est.rows, rows, strict=True):
        is_chosen = row.precision.key == chosen
        out.append(
            line(cells, "> " if is_chosen else "  ", "bold" if is_chosen else "", _fits(row)[1])
        )
    return [c.truncate(width, ellipsis=True) if c.cell_length > width else c for c in out]


def wrap(text: str, width: int, style: str = "") -> list[Content]:
    """`text` as literal Content, word-wrapped to `width` cells."""
    content = Content.styled(text, style) if style else Content(text)
    return list(content.wrap(max(1, width)))


def entry_lines(
    entry: CatalogEntry, width: int, loaded: bool, brief: bool = False
) -> list[Content]:
    """Header of the detail view: name, where it comes from, its summary or error. `brief`
    leaves out the name and summary (shown right above in the stacked layout)."""
    kind = KIND_LABEL.get(entry.kind, entry.kind)
    if entry.revision:
        kind += f" · rev {entry.revision[:7]}"
    if loaded:
        kind += " · loaded now"
    lines: list[Content] = []
    if not brief:
        lines += wrap(entry.name, width, "bold")
        if entry.id != entry.name and entry.kind != "bundled":
            lines += wrap(entry.id, width, MUTED)
    lines += wrap(kind, width, MUTED)
    if entry.error:
        lines += wrap(entry.error, width, "$error")
        if entry.hint:
            lines += wrap(entry.hint, width, "$warning")
        return lines
    if not brief:
        lines += wrap(entry.summary(), width)
    if entry.hint:
        lines += wrap(entry.hint, width, MUTED)
    if entry.facts.has_chat_template is False:
        lines += wrap("No chat template: tchat falls back to ChatML.", width, "$warning")
    return lines


def target_line(target: Target, width: int, measuring: bool = False) -> list[Content]:
    """ "CPU RAM: 17.2 GB free · 20 GB/s": what the table was computed against."""
    parts = [f"{target.label}: {format_bytes(target.free_bytes)} free"]
    if target.bandwidth:
        parts.append(f"{format_bytes(target.bandwidth)}/s")
    else:
        parts.append("measuring bandwidth…" if measuring else "bandwidth unknown")
    return wrap(" · ".join(parts), width, MUTED)


def advice(est: Estimate, chosen: str | None, width: int) -> list[Content]:
    """One line that answers "can I load it like this?" in words."""
    if not est.rows or est.rows[0].total_bytes is None:
        return []
    try:
        row = est.row(chosen) if chosen else None
    except StopIteration:
        row = None
    if row is None or row.fits is None:
        return []
    if row.fits:
        return wrap(f"{row.precision.label} fits.", width, "$success")
    best = est.best_fit()
    if best is None:
        return wrap("Does not fit in free memory at any precision.", width, "$error")
    return wrap(f"{row.precision.label} does not fit: try {best.precision.label}.", width, "$error")


def list_prompt(entry: CatalogEntry, loaded: bool) -> Content:
    """Two lines for the list: a mark and the name, then the summary (or why it is broken).
    Marks are ASCII so they read on any terminal: * loaded, x broken, ? typed, not on disk."""
    mark, mark_style = ("* ", "$success bold") if loaded else ("  ", "")
    if entry.error:
        mark, mark_style = "x ", "$error bold"
    elif entry.kind == "typed":
        mark, mark_style = "? ", "$warning bold"
    head = Content.assemble((mark, mark_style), (entry.name, "bold"))
    if entry.error:
        detail = Content.styled(entry.error, "$error")
    elif entry.kind == "typed" and entry.facts.parameters is None:
        detail = Content.styled(entry.hint or "not downloaded", MUTED)
    else:
        detail = Content.styled(entry.summary(), MUTED)
    return Content("\n").join([head, detail])


def draft_choices(catalog: Catalog | None, main: CatalogEntry | None) -> list[tuple[str, str]]:
    """Draft options for `main`: none, prompt lookup, then smaller loadable models, same
    family first. A draft must share the tokenizer (checked when loading) and only helps when
    much smaller, so bigger models are not offered."""
    choices = [("none", "none"), (PROMPT_LOOKUP, "prompt lookup")]
    if catalog is None or main is None:
        return choices
    size = main.facts.parameters
    drafts = [
        e
        for e in catalog.entries
        if e.loadable
        and e.id != main.id
        and (size is None or e.facts.parameters is None or e.facts.parameters < size)
    ]
    family = main.facts.model_type
    drafts.sort(key=lambda e: (e.facts.model_type != family, e.facts.parameters or 0))
    return choices + [(e.id, e.name) for e in drafts]
