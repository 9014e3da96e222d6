"""How the catalogue writes sizes: parameter counts and bytes, as model cards and spec sheets do.

Kept apart from the facts so that a widget or a log line can format a figure without pulling
in the header readers.
"""

from __future__ import annotations


def _scaled(n: float | None, units: tuple[tuple[str, float], ...], sep: str, bare: str) -> str:
    """Three significant digits in the largest unit `n` reaches (no decimals from 100 up)."""
    if n is None:
        return "?"
    for unit, scale in units:
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.0f}{sep}{unit}" if value >= 100 else f"{value:.3g}{sep}{unit}"
    return f"{n:.0f}{bare}"


def format_count(n: float | None) -> str:
    """135M, 6.74B, 46.7B: three significant digits, as model cards write sizes."""
    return _scaled(n, (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)), "", "")


def format_bytes(n: float | None) -> str:
    """Decimal units (1 GB = 1e9 B), as disk sizes and GPU spec sheets use: "14.0 GB"."""
    return _scaled(n, (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)), " ", " B")
