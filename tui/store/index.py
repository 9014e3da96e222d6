"""What the session browser lists: one summary (or error) per file, cached between runs.

Parsing TOML is pure Python (~5 ms for a 30 KB chat), so listing 500 sessions from scratch takes
seconds. `SummaryCache` keeps each file's summary in `<sessions>/.tchat-index.json`, keyed by
file name and (inode, size, mtime, ctime): a file that changed in any way is parsed again. The
cache is only ever a shortcut; a missing, corrupt or foreign one is rebuilt. Safe to delete.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tui.store._fs import atomic_write
from tui.store.session import FORMAT_VERSION, Session

INDEX_NAME = ".tchat-index.json"
_INDEX_SCHEMA = 1
Fingerprint = tuple[int, int, int, int]


@dataclass(frozen=True)
class SessionSummary:
    """The few fields a browser row shows, read without keeping the whole chat in memory."""

    id: str
    title: str
    created: str
    updated: str
    model_id: str
    message_count: int

    @classmethod
    def of(cls, session: Session) -> SessionSummary:
        return cls(
            id=session.id,
            title=session.title,
            created=session.created,
            updated=session.updated,
            model_id=session.model.id,
            message_count=len(session.messages),
        )

    @property
    def updated_key(self) -> float:
        """`updated` as seconds since the epoch, for sorting (timestamps without an offset: UTC)."""
        try:
            t = datetime.fromisoformat(self.updated)
        except ValueError:
            return 0.0
        return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()


@dataclass(frozen=True)
class SessionEntry:
    """One file in the sessions folder: a summary when it loads, else the reason it does not."""

    path: Path
    summary: SessionSummary | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.summary is not None


_SUMMARY_KEYS = {"id", "title", "created", "updated", "model_id", "message_count"}


class SummaryCache:
    """The on-disk summary cache; `get`/`put` by file name, `save` writes only if it changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, Any] = {}
        self._dirty = False
        with contextlib.suppress(OSError, ValueError, RecursionError):
            data = json.loads(path.read_bytes())
            # A cache written by a tchat reading another format version may hold wrong verdicts.
            if data.get("schema") == _INDEX_SCHEMA and data.get("format") == FORMAT_VERSION:
                if isinstance(data.get("entries"), dict):
                    self._entries = data["entries"]

    def get(self, name: str, fp: Fingerprint) -> SessionSummary | str | None:
        """The cached summary or error reason for an unchanged file; None means parse it."""
        item = self._entries.get(name)
        try:
            if item is None or tuple(item["fp"]) != fp:
                return None
            if "error" in item:
                return str(item["error"])
            s = item["summary"]
            if set(s) != _SUMMARY_KEYS or type(s["message_count"]) is not int:
                return None
            if not all(isinstance(s[k], str) for k in _SUMMARY_KEYS - {"message_count"}):
                return None
            return SessionSummary(**s)
        except (KeyError, TypeError, ValueError):
            return None  # a damaged entry is just a miss

    def put(self, name: str, fp: Fingerprint, value: SessionSummary | str) -> None:
        item: dict[str, Any] = {"fp": list(fp)}
        if isinstance(value, str):
            item["error"] = value
        else:
            item["summary"] = asdict(value)
        self._entries[name] = item
        self._dirty = True

    def keep_only(self, names: set[str]) -> None:
        for name in [n for n in self._entries if n not in names]:
            del self._entries[name]
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        data = {"schema": _INDEX_SCHEMA, "format": FORMAT_VERSION, "entries": self._entries}
        with contextlib.suppress(OSError):  # a read-only folder still lists, just slower
            atomic_write(self.path, json.dumps(data).encode("ascii"))
        self._dirty = False
