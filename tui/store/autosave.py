"""Save sessions off the UI thread, newest snapshot wins.

The app hands over a deep copy of the session after every change that matters (a user
message, a finished reply, every few seconds of a streaming reply). One background thread
writes them through `SessionStore.save`; if saves pile up, only the newest is written. A
failed save (full disk, read-only folder) is reported once, when the failures start, and the
newest unsaved snapshot of each chat is retried every few seconds (or with the next snapshot),
so the chat goes on in memory and saving resumes by itself once it can, without the user
having to send another message. A chat left with ctrl+n while the disk is full is kept for
retrying too, so it is not lost when the new chat starts.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tui.store.errors import SessionSaveError
from tui.store.files import SaveResult
from tui.store.session import Session

# How often unsaved snapshots are retried after a failed save.
RETRY_S = 2.0


class _Saves(Protocol):
    def save_checked(self, session: Session) -> SaveResult: ...


class Autosaver:
    """A single writer thread for one app; `flush()` waits until everything is on disk."""

    def __init__(
        self,
        store: _Saves,
        on_saved: Callable[[SaveResult], object] | None = None,
        on_error: Callable[[Exception], object] | None = None,
        retry_s: float | None = None,  # None: RETRY_S
    ) -> None:
        self._store = store
        self._on_saved = on_saved
        self._on_error = on_error
        self._retry_s = RETRY_S if retry_s is None else retry_s
        self._cond = threading.Condition()
        self._pending: _Snapshot | None = None
        # Snapshots whose save failed, the newest per session id: retried until written.
        self._unsaved: dict[str, _Snapshot] = {}
        self._seq = 0  # orders snapshots, so an older one never replaces a newer unsaved one
        self._busy = False
        self._closed = False
        self.last_error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="tchat-autosave", daemon=True)
        self._thread.start()

    def _snapshot(self, session: Session) -> _Snapshot:
        with self._cond:
            self._seq += 1
            seq = self._seq
        return _Snapshot(seq, session.id, copy.deepcopy(session))

    def submit(self, session: Session) -> None:
        """Queue a snapshot of `session` (copied now, so later edits don't race the write)."""
        snapshot = self._snapshot(session)
        with self._cond:
            self._pending = snapshot
            self._cond.notify_all()

    def save_now(self, session: Session) -> Path | None:
        """Write synchronously on the calling thread: for quit and signal handlers."""
        snapshot = self._snapshot(session)
        with self._cond:
            self._pending = None
        return self._write(snapshot)

    @property
    def unsaved(self) -> int:
        """How many chats have changes that could not be written yet."""
        with self._cond:
            return len(self._unsaved)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until no snapshot is pending; True when everything submitted is written."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def close(self) -> None:
        """Write what is pending, give unsaved chats one last try, and stop the thread."""
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            last_try = list(self._unsaved.values())
            self._unsaved.clear()
        for snapshot in last_try:
            self._write(snapshot)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._pending is not None or self._closed,
                    timeout=self._retry_s if self._unsaved else None,
                )
                if self._closed and self._pending is None:
                    return
                # The new snapshot (if any) and, while some saves have failed, every chat
                # still unsaved: when the disk comes back, all of them get there.
                batch = dict(self._unsaved)
                self._unsaved.clear()
                if self._pending is not None:
                    batch[self._pending.key] = self._pending  # newer than a failed one
                    self._pending = None
                self._busy = True
            try:
                for snapshot in batch.values():
                    self._write(snapshot)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, snapshot: _Snapshot) -> Path | None:
        try:
            result = self._store.save_checked(snapshot.session)
        except Exception as exc:  # noqa: BLE001 - any failure is reported, the chat goes on
            # A session the store refuses to write (SessionSaveError) fails the same way every
            # time; a disk error may go away, so that snapshot is kept for retrying.
            if not isinstance(exc, SessionSaveError):
                with self._cond:
                    kept = self._unsaved.get(snapshot.key)
                    if kept is None or kept.seq < snapshot.seq:
                        self._unsaved[snapshot.key] = snapshot
            # One report per streak of failures: a retry every few seconds is not news.
            report = self.last_error is None
            self.last_error = exc
            if report and self._on_error:
                self._on_error(exc)
            return None
        with self._cond:
            kept = self._unsaved.get(snapshot.key)
            if kept is not None and kept.seq < snapshot.seq:
                del self._unsaved[snapshot.key]  # an older failed snapshot, now superseded
        self.last_error = None
        if self._on_saved:
            self._on_saved(result)
        return result.path


@dataclass
class _Snapshot:
    seq: int
    key: str  # the session id when it was submitted (a save as a copy changes the copy's id)
    session: Session
