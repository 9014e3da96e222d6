"""Plain-text pieces of the gauges pane: bars, sparklines, compact numbers, line fitting.

Pure functions over strings, so the pane's look is testable without a terminal and every gauge
reads the same in ASCII: the figures are always printed next to a bar, colour only repeats
what the text says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Glyphs:
    """The characters a gauge is drawn with; ASCII for terminals or fonts without blocks."""

    full: str
    empty: str
    open: str  # around a bar; ASCII needs brackets to show where an empty bar ends
    close: str
    spark: str  # levels, lowest first
    ellipsis: str
    degree: str
    crit: str = "!"  # after a figure past its critical level: readable without colour


UNICODE = Glyphs(
    full="█", empty="░", open="", close="", spark="▁▂▃▄▅▆▇█", ellipsis="…", degree="°C"
)
ASCII = Glyphs(full="#", empty=".", open="[", close="]", spark="_.,-=+*#", ellipsis="~", degree="C")


def glyphs_for(ascii_only: bool) -> Glyphs:
    return ASCII if ascii_only else UNICODE


def human_bytes(n: float | None) -> str:
    """Binary units with one letter, three significant digits: 512M, 30.0G, 1.50T."""
    if n is None:
        return "?"
    n = float(n)
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 999.5 or unit == "T":
            break
        n /= 1024
    if unit == "B":
        return f"{int(n)}B"
    if abs(n) >= 99.95:
        return f"{n:.0f}{unit}"
    if abs(n) >= 9.995:
        return f"{n:.1f}{unit}"
    return f"{n:.2f}{unit}"


def memory_figures(used: float, total: float) -> list[str]:
    """'41.2/80.0G' then shorter fallbacks ('41/80G', '41.2G'): one unit, the total's, so
    the two numbers compare at a glance."""
    unit, scale = "B", 1.0
    for power, letter in enumerate("KMGT", start=1):
        if total >= 1024**power * 0.95:
            unit, scale = letter, float(1024**power)
    u, t = used / scale, total / scale
    options = [f"{u:.1f}/{t:.1f}{unit}"]
    if u >= 9.5:  # rounding to whole units only loses little once the numbers are large
        options.append(f"{u:.0f}/{t:.0f}{unit}")
    options.append(human_bytes(used))
    return options


def human_rate(bytes_per_s: float | None) -> str:
    """Decimal units, as bandwidth is quoted on spec sheets: 3.35TB/s, 864GB/s."""
    if not bytes_per_s:
        return "?"
    for unit, scale in (("TB/s", 1e12), ("GB/s", 1e9), ("MB/s", 1e6)):
        if bytes_per_s >= scale:
            return f"{bytes_per_s / scale:.3g}{unit}"
    return f"{bytes_per_s:.0f}B/s"


def human_size(n: float | None) -> str:
    """Decimal bytes (model sizes, bytes per token): 271MB, 16.1GB."""
    if not n:
        return "?"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.0f}B"


def human_count(n: int | None) -> str:
    """Token counts: 950, 1.2k, 32k, 128k, 1.05M."""
    if n is None:
        return "?"
    if n < 1000:
        return str(int(n))
    if n < 10_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1e6:.3g}M"


def human_tps(tps: float | None) -> str:
    """Tokens per second: 4.25, 42.1, 142, 5.1k."""
    if tps is None or not math.isfinite(tps):
        return "--"
    if tps < 10:
        return f"{tps:.2f}"
    if tps < 100:
        return f"{tps:.1f}"
    if tps < 1000:
        return f"{tps:.0f}"
    return f"{tps / 1000:.1f}k"


def human_seconds(s: float | None) -> str:
    """Durations: 35ms, 0.21s, 2.3s, 1m05s."""
    if s is None:
        return "--"
    if s < 0.1:
        return f"{s * 1000:.0f}ms"
    if s < 10:
        return f"{s:.2f}s" if s < 1 else f"{s:.1f}s"
    if s < 60:
        return f"{s:.0f}s"
    minutes, seconds = divmod(int(s), 60)
    return f"{minutes}m{seconds:02d}s"


def percent(fraction: float, crit: float | None, glyphs: Glyphs) -> str:
    """'51%', or '97%!' once past `crit` so the alarm survives a monochrome terminal."""
    text = f"{round(fraction * 100):d}%"
    if crit is not None and fraction >= crit:
        text += glyphs.crit
    return text


def level(fraction: float, warn: float, crit: float) -> str:
    """'ok' | 'warn' | 'crit' for styling."""
    if fraction >= crit:
        return "crit"
    if fraction >= warn:
        return "warn"
    return "ok"


def bar(fraction: float, width: int, glyphs: Glyphs) -> tuple[str, str, str, str]:
    """A bar `width` cells wide, as (open, filled, empty, close) so the caller can colour the
    filled part. Any non-zero fraction shows at least one cell: 0.4% used is not nothing."""
    inner = max(0, width - len(glyphs.open) - len(glyphs.close))
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * inner)
    if fraction > 0 and filled == 0 and inner:
        filled = 1
    return glyphs.open, glyphs.full * filled, glyphs.empty * (inner - filled), glyphs.close


def sparkline(
    values: Iterable[float | None], width: int, glyphs: Glyphs, top: float | None = None
) -> str:
    """The last `width` values as one character each, right-aligned; None draws a gap (the
    pause between two replies). Scaled to `top` (100 for percentages) or the largest value."""
    if width <= 0:
        return ""
    recent = list(values)[-width:]
    numbers = [v for v in recent if v is not None]
    scale = top if top else (max(numbers) if numbers else 0.0)
    levels = glyphs.spark
    out = []
    for v in recent:
        if v is None:
            out.append(" ")
        elif scale <= 0 or v <= 0:
            out.append(levels[0])
        else:
            i = min(len(levels) - 1, int(v / scale * (len(levels) - 1) + 0.5))
            out.append(levels[i])
    return " " * (width - len(out)) + "".join(out)


def core_strip(per_core: Sequence[float], width: int, glyphs: Glyphs) -> str:
    """One character per core; on many-core machines neighbouring cores are averaged so the
    strip fits `width` (the caller says so in the label)."""
    if not per_core or width <= 0:
        return ""
    group = math.ceil(len(per_core) / width)
    values = [
        sum(per_core[i : i + group]) / len(per_core[i : i + group])
        for i in range(0, len(per_core), group)
    ]
    return sparkline(values, len(values), glyphs, top=100.0)


def fit(text: str, width: int, glyphs: Glyphs) -> str:
    """Cut `text` to `width` cells, marking the cut."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    cut = max(0, width - len(glyphs.ellipsis))
    return text[:cut] + glyphs.ellipsis[: width - cut]


def flow(
    tokens: Sequence[str], width: int, indent: int = 2, max_lines: int | None = None
) -> list[str]:
    """Lay short figures out left to right, wrapping between figures, never inside one, so a
    narrow pane gets more lines instead of cut numbers. Extra lines beyond `max_lines` drop
    the trailing (least important) figures."""
    pad = " " * indent
    lines: list[str] = []
    current = ""
    for token in tokens:
        if not token:
            continue
        if not current:
            current = (pad + token)[:width]
        elif len(current) + 1 + len(token) <= width:
            current += " " + token
        else:
            lines.append(current)
            current = (pad + token)[:width]
    if current:
        lines.append(current)
    return lines[:max_lines] if max_lines is not None else lines


def wrap_words(text: str, width: int, max_lines: int, glyphs: Glyphs) -> list[str]:
    """Word-wrap a sentence (a reason) into at most `max_lines`, marking a cut."""
    if width <= 0:
        return []
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > width:  # a long path or code: hard-break it
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = lines[: max_lines - 1] + [fit(rest, width, glyphs)]
    return lines
