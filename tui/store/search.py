"""Full-text search over session titles and message contents, on every branch of a chat.

Titles come from the summary cache. For messages a file must be parsed, which is slow for TOML,
so a cheap test on the raw bytes goes first: for a plain needle (printable ASCII without quote
or backslash, the characters TOML and JSON never escape) a file whose decoded, case-folded text
lacks the needle cannot contain it in any message, and is skipped unparsed. That is exact for
every file tchat writes; a hand-written file spelling letters as \\u escapes could be missed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui.store.errors import SessionLoadError
from tui.store.index import SessionEntry
from tui.store.session import Session

SNIPPET_CHARS = 80


@dataclass(frozen=True)
class SearchHit:
    """A session that matched; `message_index` is None when the title matched. `branch`: the
    text is in a version not shown (`message_index` then counts in `Session.branches`)."""

    entry: SessionEntry
    snippet: str
    message_index: int | None = None
    branch: bool = False


def _plain(needle: str) -> bool:
    return all(" " <= c <= "~" and c not in '"\\' for c in needle)


# Control characters shown as their Unicode "control pictures" (NUL -> ␀, ESC -> ␛), so a
# snippet never sends a raw escape to the terminal.
_VISIBLE = {c: 0x2400 + c for c in range(0x20)} | {0x7F: 0x2421}


def _snippet(text: str, at: int, length: int) -> str:
    """About SNIPPET_CHARS around the match, on one line, control characters made visible."""
    start = max(0, at - SNIPPET_CHARS // 3)
    piece = text[start : start + SNIPPET_CHARS + length]
    piece = " ".join(piece.split()).translate(_VISIBLE)
    return ("…" if start else "") + piece


def _match_messages(session: Session, needle: str) -> tuple[int, str, bool] | None:
    """The first match on the path shown, else in the other branches."""
    for branch, messages in ((False, session.messages), (True, session.branches)):
        for i, m in enumerate(messages):
            at = m.content.casefold().find(needle)
            if at >= 0:  # case folding can change lengths (ß -> ss): the snippet is approximate
                return i, _snippet(m.content, min(at, len(m.content)), len(needle)), branch
    return None


def search_entries(
    entries: list[SessionEntry],
    text: str,
    read_bytes: Callable[[Path], bytes],
    parse: Callable[[Path, bytes], Session],
) -> list[SearchHit]:
    """Hits in the order of `entries`; unreadable files are skipped (the browser shows them)."""
    needle = text.casefold()
    hits: list[SearchHit] = []
    for entry in entries:
        if entry.summary is None:
            continue
        if needle in entry.summary.title.casefold():
            hits.append(SearchHit(entry, entry.summary.title))
            continue
        try:
            raw = read_bytes(entry.path)
            if _plain(needle) and needle not in raw.decode("utf-8", "replace").casefold():
                continue
            found = _match_messages(parse(entry.path, raw), needle)
        except SessionLoadError:
            continue  # changed or broke since it was listed
        if found is not None:
            hits.append(SearchHit(entry, found[1], found[0], found[2]))
    return hits
