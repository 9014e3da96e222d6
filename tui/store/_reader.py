"""A strict reader for untrusted nested dicts: typed getters whose errors name the bad key.

Used by the codec so each schema rule is one readable line, e.g. `r.integer("top_k", 50, min=0)`.
Errors are `ShapeError`s carrying a dotted location such as "messages[2].stats.total_s"; the
codec adds the file name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

# TOML integers are signed 64-bit; refusing larger ones here keeps every loaded session savable.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

REQUIRED: Any = object()  # sentinel default: the key must be present


class ShapeError(Exception):
    """A value of the wrong type or range, a missing key or an unknown key."""


def type_name(value: Any) -> str:
    """How a value reads in an error message; TOML dates get a hint because they look like text."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime, date, time)):
        return "a TOML date/time (quote it to make it a string)"
    if value is None:
        return "null"
    return type(value).__name__


class Reader:
    """Reads keys of one table; `done()` then refuses any key nobody asked for.

    Unknown keys are errors, not ignored: a key tchat does not know would be dropped by the next
    save, silently losing what someone put there.
    """

    def __init__(self, data: Any, where: str = "") -> None:
        if not isinstance(data, dict):
            raise ShapeError(f"{where or 'top level'}: expected a table, got {type_name(data)}")
        self.data = data
        self.where = where
        self._seen: set[str] = set()

    def loc(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str, default: Any) -> Any:
        self._seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is REQUIRED:
            raise ShapeError(f"{self.loc(key)}: missing (required)")
        return default

    def _fail(self, key: str, expected: str, value: Any) -> ShapeError:
        return ShapeError(f"{self.loc(key)}: expected {expected}, got {type_name(value)}")

    def text(self, key: str, default: Any = REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default and default is not REQUIRED:
            return value
        if not isinstance(value, str):
            raise self._fail(key, "a string", value)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # JSON "\ud800" escapes: no UTF-8 file could hold them
            raise ShapeError(f"{self.loc(key)}: contains an unpaired surrogate") from None
        return value

    def choice(self, key: str, options: Iterable[str], default: Any = REQUIRED) -> Any:
        value = self.text(key, default)
        options = tuple(options)
        if value is not default and value not in options:
            raise ShapeError(
                f"{self.loc(key)}: expected one of {', '.join(options)}; got {value!r}"
            )
        return value

    def timestamp(self, key: str, default: Any = REQUIRED) -> Any:
        value = self.text(key, default)
        if value is not default:
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ShapeError(f"{self.loc(key)}: not an ISO 8601 timestamp: {value!r}") from None
        return value

    def integer(self, key: str, default: Any = REQUIRED, *, min: int | None = None) -> Any:
        value = self._get(key, default)
        if value is default and default is not REQUIRED:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer", value)
        if not INT64_MIN <= value <= INT64_MAX:
            raise ShapeError(f"{self.loc(key)}: {value} does not fit in 64 bits")
        if min is not None and value < min:
            raise ShapeError(f"{self.loc(key)}: must be at least {min}, got {value}")
        return value

    def number(
        self,
        key: str,
        default: Any = REQUIRED,
        *,
        min: float | None = None,
        max: float | None = None,
        positive: bool = False,
    ) -> Any:
        value = self._get(key, default)
        if value is default and default is not REQUIRED:
            return value
        # An integer is a fine number (`temperature = 1`); a boolean is not.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(key, "a number", value)
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise ShapeError(f"{self.loc(key)}: {value} is out of range")
        value = float(value)
        if not math.isfinite(value):
            raise ShapeError(f"{self.loc(key)}: must be a finite number, got {value}")
        if (min is not None and value < min) or (max is not None and value > max):
            raise ShapeError(f"{self.loc(key)}: {value} is outside {min}..{max}")
        if positive and value <= 0:
            raise ShapeError(f"{self.loc(key)}: must be greater than 0, got {value}")
        return value

    def boolean(self, key: str, default: Any = REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default and default is not REQUIRED:
            return value
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def strings(self, key: str, default: Any = REQUIRED) -> Any:
        """An array of strings (e.g. setting names)."""
        value = self._get(key, default)
        if value is default and default is not REQUIRED:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "an array of strings", value)
        return list(value)

    def table(self, key: str) -> Reader | None:
        """The sub-table at `key`, or None when absent (every table in the schema is optional)."""
        value = self._get(key, None)
        return None if value is None else Reader(value, self.loc(key))

    def tables(self, key: str) -> list[Reader]:
        """An array of tables (e.g. `[[messages]]`), empty when absent."""
        value = self._get(key, [])
        if not isinstance(value, list):
            raise self._fail(key, "an array of tables", value)
        return [Reader(item, f"{self.loc(key)}[{i}]") for i, item in enumerate(value)]

    def done(self) -> None:
        unknown = [k for k in self.data if k not in self._seen]
        if unknown:
            where = f" in {self.where}" if self.where else ""
            raise ShapeError(f"unknown key {str(unknown[0])!r}{where}")
