"""Bytes on disk to plain data and back, for the two session formats: TOML and JSON.

Decoding turns every way a file can be broken (bad UTF-8, bad syntax, absurd nesting, numbers
too long to convert, NaN in JSON, duplicate JSON keys) into a SessionLoadError.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import tomli_w

from tui.store.errors import SessionLoadError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FORMATS = ("toml", "json")
MAX_FILE_BYTES = 64 * 1024 * 1024  # far above any chat; stops a stray huge file eating memory


def format_of(path: Path) -> str | None:
    """ "toml" or "json" from the file extension (case-insensitive), else None."""
    ext = path.suffix.lower().lstrip(".")
    return ext if ext in FORMATS else None


def encode(data: dict[str, Any], fmt: str) -> bytes:
    """UTF-8 bytes of `data`. Text is kept literal where the format allows (readable diffs).

    tomli_w escapes control characters (NUL becomes \\u0000, ESC \\u001b) and writes multi-line
    text as triple-quoted blocks; JSON escapes control characters too. Both round-trip exactly.
    """
    if fmt == "toml":
        # tomli_w turns CRLF into LF inside triple-quoted strings (TOML parsers normalise line
        # endings there), which would lose the CR. A document with any CR is written with
        # one-line strings only, where CR is escaped as \r and survives.
        text = tomli_w.dumps(data, multiline_strings=not _has_cr(data))
    elif fmt == "json":
        text = json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    else:
        raise ValueError(f"unknown session format {fmt!r} (expected toml or json)")
    return text.encode("utf-8")


def _has_cr(value: Any) -> bool:
    if isinstance(value, str):
        return "\r" in value
    if isinstance(value, dict):
        return any(_has_cr(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_cr(v) for v in value)
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:  # json would keep the last one silently; TOML refuses, so do we
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def decode(raw: bytes, fmt: str, source: Path | str) -> Any:
    """Parse file bytes; raises SessionLoadError(source, reason) when they are not valid."""
    label = fmt.upper()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SessionLoadError(source, f"not UTF-8 text (byte {exc.start})") from None
    try:
        if fmt == "toml":
            return tomllib.loads(text)
        return json.loads(text, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise SessionLoadError(source, f"not valid {label}: nested too deeply") from None
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise SessionLoadError(source, f"not valid {label} ({exc})") from None
