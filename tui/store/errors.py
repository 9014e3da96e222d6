"""Errors the store raises, each worded so the app can show it to the user as is."""

from __future__ import annotations

from pathlib import Path


class SessionLoadError(Exception):
    """A session file that cannot be used: unreadable, not TOML/JSON, wrong shape, too new.

    `path` is the file (or a label such as "<memory>" for data that never was a file) and
    `reason` says what is wrong with it; `str()` gives "<path>: <reason>". The file itself is
    never modified because of the error.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class SessionRefError(LookupError):
    """A session reference (id, id prefix or path) that does not name exactly one session."""


class SessionSaveError(ValueError):
    """A session that cannot be written as a file `load` would accept (e.g. a NaN setting).

    Raised before anything touches the disk, so the previous file stays as it was.
    """
