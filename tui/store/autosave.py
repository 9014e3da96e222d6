"""Save sessions off the UI thread, newest snapshot wins.

The app hands over a deep copy of the session after every change that matters (a user
message, a finished reply, every few seconds of a streaming reply). One background thread
writes them through `SessionStore.save`; if saves pile up, only the newest is written. A
failed save (full disk, read-only folder) is reported and retried with the next snapshot,
so the chat goes on in memory and saving resumes when it can.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tui.store.files import SaveResult
from tui.store.session import Session


class _Saves(Protocol):
    def save_checked(self, session: Session) -> SaveResult: ...


class Autosaver:
    """A single writer thread for one app; `flush()` waits until everything is on disk."""

    def __init__(
        self,
        store: _Saves,
        on_saved: Callable[[SaveResult], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self._store = store
        self._on_saved = on_saved
        self._on_error = on_error
        self._cond = threading.Condition()
        self._pending: Session | None = None
        self._busy = False
        self._closed = False
        self.last_error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="tchat-autosave", daemon=True)
        self._thread.start()

    def submit(self, session: Session) -> None:
        """Queue a snapshot of `session` (copied now, so later edits don't race the write)."""
        snapshot = copy.deepcopy(session)
        with self._cond:
            self._pending = snapshot
            self._cond.notify_all()

    def save_now(self, session: Session) -> Path | None:
        """Write synchronously on the calling thread: for quit and signal handlers."""
        with self._cond:
            self._pending = None
        return self._write(copy.deepcopy(session))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until no snapshot is pending; True when everything submitted is written."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def close(self) -> None:
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None:
                    return
                session, self._pending = self._pending, None
                self._busy = True
            try:
                self._write(session)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, session: Session) -> Path | None:
        try:
            result = self._store.save_checked(session)
        except Exception as exc:  # noqa: BLE001 - any failure is reported, the chat goes on
            self.last_error = exc
            if self._on_error:
                self._on_error(exc)
            return None
        self.last_error = None
        if self._on_saved:
            self._on_saved(result)
        return result.path
