"""SessionStore: session files in one folder, written atomically and never clobbered.

Rules (documented for users in sessions/FORMAT.md):
- Writes go only inside the store's folder, as `<id>.toml` or `<id>.json`, via a temp file,
  fsync and os.replace; files are 0600, the folder 0700.
- Compare-and-save: `save` overwrites a file only if it holds exactly the bytes this store last
  read from or wrote to it. Otherwise (another tchat saved it, someone edited it, it failed to
  load, or it is some other file with the same id) the session is saved as a copy under a new
  id, and nothing is lost. The check and the replace run under a flock on the folder.
- After a copy, later saves of the old id go to the copy: the app may keep saving snapshots
  (deep copies) that still carry the old id without making a new copy each time.
- A session loaded from a file outside the folder is imported: it is saved inside the folder.
"""

from __future__ import annotations

import builtins
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from tui.paths import ensure_private_dir
from tui.store._fs import atomic_write, dir_lock, read_regular_file
from tui.store.codec import is_valid_session_id, session_from_dict, session_to_dict
from tui.store.errors import SessionLoadError, SessionRefError, SessionSaveError
from tui.store.export import export_markdown
from tui.store.formats import FORMATS, MAX_FILE_BYTES, decode, encode, format_of
from tui.store.index import INDEX_NAME, SessionEntry, SessionSummary, SummaryCache
from tui.store.search import SearchHit, search_entries
from tui.store.session import Session, new_session_id


@dataclass(frozen=True)
class SaveResult:
    """Where a save went; `copied_from`/`reason` are set when it had to go to a new file."""

    path: Path
    copied_from: str | None = None  # the session id before it was saved as a copy
    reason: str | None = None  # why, worded for the user

    @property
    def copied(self) -> bool:
        return self.copied_from is not None


@dataclass(frozen=True)
class _Origin:
    path: Path  # the file this session was read from or last written to
    digest: str  # sha256 of the bytes read or written then


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _real(path: Path) -> Path:
    """The path with symlinks resolved; as given for one the OS refuses (e.g. a NUL in it)."""
    try:
        return path.resolve()
    except (OSError, ValueError):
        return path.absolute()


def _same(a: Path, b: Path) -> bool:
    return _real(a) == _real(b)


class SessionStore:
    """Sessions in `directory`; new sessions are written as `fmt` ("toml" or "json").

    One instance per running app: it remembers which files it read and wrote (for the
    compare-and-save rule), so two windows in one process should share it.
    """

    def __init__(self, directory: Path, fmt: str = "toml") -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown session format {fmt!r} (expected toml or json)")
        self.directory = Path(directory).expanduser()
        self.fmt = fmt
        self._origins: dict[str, _Origin] = {}
        self._bad: set[Path] = set()
        self._copies: dict[str, str] = {}  # old id -> id of the copy its saves now go to
        self._lock = threading.RLock()  # the app saves from a worker thread and loads from the UI

    # ------------------------------------------------------------ reading

    def _read_raw(self, path: Path) -> tuple[bytes, os.stat_result]:
        if format_of(path) is None:
            raise SessionLoadError(path, "not a session file (expected .toml or .json)")
        try:
            return read_regular_file(path, MAX_FILE_BYTES)
        except OSError as exc:
            raise SessionLoadError(path, f"cannot read ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise SessionLoadError(path, str(exc)) from None

    @staticmethod
    def _parse(path: Path, raw: bytes) -> Session:
        return session_from_dict(decode(raw, format_of(path) or "toml", path), path)

    def _read(self, path: Path) -> tuple[Session, bytes, os.stat_result]:
        raw, st = self._read_raw(path)
        return self._parse(path, raw), raw, st

    def load(self, path: Path | str) -> Session:
        """Read a session file (format from the extension). Never modifies the file.

        Raises SessionLoadError for an unreadable file, bad TOML/JSON, a wrong shape or a
        format written by a newer tchat. A file that failed is remembered and never overwritten.
        """
        path = Path(path).expanduser()
        # Under the lock, so a save from the autosave thread cannot land between reading the
        # bytes and remembering their digest (which would make the next save a needless copy).
        with self._lock:
            try:
                session, raw, _ = self._read(path)
            except SessionLoadError:
                self._bad.add(_real(path))
                raise
            self._bad.discard(_real(path))
            self._origins[session.id] = _Origin(path.absolute(), _digest(raw))
            self._copies.pop(session.id, None)  # opened again on purpose: save to it again
        return session

    def open(self, ref: str) -> Session:
        """`load(resolve(ref))`: what `tchat --resume REF` does."""
        return self.load(self.resolve(ref))

    # ------------------------------------------------------------ writing

    def _current_id(self, session_id: str) -> str:
        while session_id in self._copies:
            session_id = self._copies[session_id]
        return session_id

    def path_for(self, session: Session) -> Path:
        """Where `save` will write, unless it has to save a copy."""
        sid = self._current_id(session.id)
        origin = self._origins.get(sid)
        if origin is not None and _same(origin.path.parent, self.directory):
            return origin.path
        fmt = (format_of(origin.path) if origin else None) or self.fmt
        return self.directory / f"{sid}.{fmt}"

    def _encode(self, session: Session, fmt: str) -> bytes:
        if not is_valid_session_id(session.id):
            raise SessionSaveError(f"not saved: {session.id!r} is not a valid session id")
        data = session_to_dict(session)
        try:  # never write a file that `load` would refuse
            session_from_dict(data)
        except SessionLoadError as exc:
            raise SessionSaveError(f"not saved: {exc.reason}") from None
        return encode(data, fmt)

    def _conflict(self, session_id: str, target: Path) -> str | None:
        """Why `target` must not be overwritten, or None when it is ours to replace."""
        try:
            current = target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"{target.name} cannot be read ({exc.strerror}), so it was left as it is"
        if _real(target) in self._bad:
            return f"{target.name} failed to load, so it was left as it is"
        origin = self._origins.get(session_id)
        if origin is None or not _same(origin.path, target):
            return f"{target.name} already exists and was not opened here"
        if _digest(current) != origin.digest:
            return f"{target.name} changed on disk since it was opened (another tchat?)"
        return None

    def _fresh_id(self) -> str:
        while True:
            sid = new_session_id()
            if not any((self.directory / f"{sid}.{f}").exists() for f in FORMATS):
                return sid

    def save_checked(self, session: Session) -> SaveResult:
        """Save, and say whether it went to a copy (the app should tell the user).

        On a conflict the session gets a new id (its title is kept) and is written to a new
        file; the object passed in carries the new id afterwards. Raises SessionSaveError
        (nothing written) for a session `load` would refuse, OSError when the disk fails (the
        old file stays intact).
        """
        with self._lock:
            session.id = self._current_id(session.id)
            target = self.path_for(session)
            fmt = format_of(target) or self.fmt
            data = self._encode(session, fmt)
            ensure_private_dir(self.directory)
            with dir_lock(self.directory):
                reason = self._conflict(session.id, target)
                copied_from = None
                if reason is not None:
                    copied_from = session.id
                    session.id = self._fresh_id()
                    target = self.directory / f"{session.id}.{fmt}"
                    data = self._encode(session, fmt)
                try:
                    atomic_write(target, data)
                except BaseException:
                    # Nothing was written: give the session its id back, so that the next try
                    # (the autosaver retries after a full disk) sees the conflict again and
                    # reports the copy, instead of quietly writing a "new" chat.
                    if copied_from is not None:
                        session.id = copied_from
                    raise
            if copied_from is not None:
                self._copies[copied_from] = session.id
            self._origins[session.id] = _Origin(target.absolute(), _digest(data))
        return SaveResult(target, copied_from, reason)

    def save(self, session: Session) -> Path:
        """Save and return the file written (a new one if it had to save a copy)."""
        return self.save_checked(session).path

    def rename(self, session: Session, title: str) -> Path:
        """Set the title and save. `updated` is left alone: renaming is not chatting."""
        session.title = title
        return self.save(session)

    def delete(self, path: Path | str) -> None:
        """Remove a session file from the folder. Refuses anything outside it."""
        path = Path(path).expanduser()
        if not _same(path.parent, self.directory) or format_of(path) is None:
            raise SessionRefError(f"{path}: not a session file in {self.directory}; not deleted")
        path.unlink(missing_ok=True)
        with self._lock:
            self._bad.discard(_real(path))
            for sid in [s for s, o in self._origins.items() if _same(o.path, path)]:
                del self._origins[sid]

    # ------------------------------------------------------------ finding

    def _files(self) -> list[os.DirEntry[str]]:
        """Session files in the folder; dot files (temp files, the index) are not sessions."""
        try:
            with os.scandir(self.directory) as it:
                return [
                    e
                    for e in it
                    if not e.name.startswith(".")
                    and format_of(Path(e.name)) is not None
                    and e.is_file()
                ]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def list(self) -> list[SessionEntry]:
        """Every session file, newest `updated` first; unreadable ones last, with the reason."""
        cache = SummaryCache(self.directory / INDEX_NAME)
        entries: list[SessionEntry] = []
        for e in self._files():
            path = Path(e.path)
            try:
                st = e.stat()
            except OSError:
                continue  # deleted while we looked
            fp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            value = cache.get(e.name, fp)
            if value is None:
                try:
                    session, _, st = self._read(path)
                    value = SessionSummary.of(session)
                    fp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                except SessionLoadError as exc:
                    value = exc.reason
                cache.put(e.name, fp, value)
            if isinstance(value, str):
                entries.append(SessionEntry(path, error=value))
            else:
                entries.append(SessionEntry(path, summary=value))
        cache.keep_only({Path(e.path).name for e in entries})
        cache.save()
        entries.sort(
            key=lambda e: (
                (0, -e.summary.updated_key, e.path.name) if e.summary else (1, 0.0, e.path.name)
            )
        )
        return entries

    def newest(self) -> Path | None:
        """The readable session with the latest `updated` (not mtime: copying files changes
        mtime, not when you last chatted). None when there is none."""
        return next((e.path for e in self.list() if e.ok), None)

    def resolve(self, ref: str) -> Path:
        """A session id, a unique id prefix, or a path to a .toml/.json file (anywhere).

        Anything else is refused, so an id can never name a file outside the folder.
        """
        if not ref:
            raise SessionRefError("no session given")
        path = Path(ref).expanduser()
        if format_of(path) is not None:
            if path.is_file():
                return path.absolute()
            if len(path.parts) == 1 and (self.directory / path).is_file():
                return (self.directory / path).absolute()
            raise SessionRefError(f"{ref!r}: no such session file")
        if not is_valid_session_id(ref):
            raise SessionRefError(
                f"{ref!r} is not a session id (letters, digits, '-' and '_') "
                "nor a path ending in .toml or .json"
            )
        files = [Path(e.path) for e in self._files()]
        for matches in (
            [p for p in files if p.stem == ref],
            [p for p in files if p.stem.startswith(ref)],
        ):
            if len(matches) == 1:
                return matches[0].absolute()
            if len(matches) > 1:
                names = ", ".join(sorted(p.name for p in matches)[:5])
                raise SessionRefError(f"{ref!r} matches several sessions: {names}")
        raise SessionRefError(f"no session {ref!r} in {self.directory}")

    def search(self, text: str) -> builtins.list[SearchHit]:
        """Sessions whose title or any message contains `text` (case-insensitive), newest first."""
        return search_entries(self.list(), text, lambda p: self._read_raw(p)[0], self._parse)

    def export_markdown(self, session: Session) -> str:
        return export_markdown(session)
