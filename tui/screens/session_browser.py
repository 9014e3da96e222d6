"""Find, open, rename, delete and export saved chats.

Opened over the chat (the app binds it to a key), it lists every session file newest first,
with the unreadable ones last and the reason they failed. Typing in the search box filters by
title and message text. Listing and searching read files, which can take a while for hundreds
of TOML chats the first time, so they run in a thread worker and the list stays responsive.

Keys (on the list): Enter open · r rename · d delete (asks y/n) · e export to Markdown ·
/ search · Esc close. In the search box: type to filter, Enter or Down goes to the list.

Result: the `Path` of the session to open, or None when closed without choosing one. Two side
effects on the chat that is open in the app are reported as messages posted to the app as
they happen, because only the app holds that chat in memory:

- `SessionBrowser.CurrentRenamed(title)`: the user renamed the open chat. The browser does not
  write that file itself (the app's next autosave would overwrite it, or save a copy); the app
  sets `session.title` and saves.
- `SessionBrowser.CurrentDeleted(path)`: the user deleted the open chat's file. The app must
  drop that chat without saving it (an autosave would write the file again): stop a reply in
  progress, wait for pending saves, delete `path` again in case one landed, start a new chat.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from tui import paths
from tui.models.default_model import short_model
from tui.screens.confirm import ConfirmScreen, TextPromptScreen
from tui.store import SearchHit, SessionStore, SessionSummary
from tui.store.export import export_markdown
from tui.text import visible

SEARCH_DELAY_S = 0.25  # wait for a pause in typing before reading files again
DATE_WIDTH = 16  # "2026-11-25 20:45"
COUNT_WIDTH = 4
CELL_PADDING = 1  # DataTable's default, on each side of every column


def format_updated(iso: str) -> str:
    """An ISO timestamp as local 'YYYY-MM-DD HH:MM' (timestamps without an offset are UTC)."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return visible(iso)[:DATE_WIDTH]
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone().strftime("%Y-%m-%d %H:%M")


def fit(text: str, width: int) -> str:
    text = " ".join(visible(text).split())
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def export_session(store: SessionStore, path: Path, folder: Path) -> Path:
    """Write the session at `path` as `<id>.md` in `folder` (private, replaced atomically)."""
    session = store.load(path)
    paths.ensure_private_dir(folder)
    target = folder / f"{session.id}.md"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".export-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(export_markdown(session))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _snippet(hit: SearchHit) -> str:
    """The matching text; a match in a version not shown says so (search covers them all)."""
    return f"(in another version) {hit.snippet}" if hit.branch else hit.snippet


def default_export_dir() -> Path:
    """`$XDG_DATA_HOME/tchat/exports`: next to the sessions, never the current directory
    (tchat may have been started anywhere, e.g. in a repository)."""
    return paths.data_dir() / "exports"


@dataclass(frozen=True)
class Row:
    """One line of the list: a readable session (summary) or a file that failed (error)."""

    path: Path
    summary: SessionSummary | None = None
    error: str | None = None
    snippet: str | None = None  # the matching text, when searching

    @property
    def key(self) -> str:
        return str(self.path)

    @property
    def title(self) -> str:
        if self.summary is None:
            return self.path.name
        return self.summary.title or "(untitled)"


class SessionTable(DataTable[Text]):
    """The list; its keys act on the highlighted row and show in the footer only here."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", show=True),
        Binding("r", "screen.rename", "Rename"),
        Binding("d", "screen.delete", "Delete"),
        Binding("e", "screen.export", "Export .md"),
        Binding("slash", "screen.focus_search", "Search"),
        # Rows are the only thing to move between: Home/End go to the newest/oldest chat.
        Binding("home", "scroll_top", "Newest", show=False),
        Binding("end", "scroll_bottom", "Oldest", show=False),
    ]


class SearchBox(Input):
    """The filter; Down and Enter hand over to the list, so the keys flow both ways."""

    BINDINGS = [Binding("down", "screen.focus_table", "To the list")]


class SessionBrowser(ModalScreen[Path | None]):
    """Every saved chat, newest first; returns the path to open or None (see the module)."""

    DEFAULT_CSS = """
    SessionBrowser { align: center middle; }
    SessionBrowser > #browser {
        width: 100%; max-width: 120; height: 1fr; max-height: 40;
        border: round $primary; background: $surface; padding: 0 1;
        border-title-style: bold; border-subtitle-color: $text-muted;
    }
    SessionBrowser #search-row { height: 1; margin-bottom: 1; }
    SessionBrowser #search-row > .label { width: auto; padding-right: 1; color: $text-muted; }
    SessionBrowser #search { width: 1fr; }
    SessionBrowser SessionTable { height: 1fr; scrollbar-size-vertical: 1; }
    SessionBrowser #detail { height: 2; color: $text-muted; }
    SessionBrowser #detail.-error { color: $error; }
    """

    BINDINGS = [Binding("escape", "close", "Close")]

    @dataclass
    class CurrentRenamed(Message):
        """The open chat was renamed to `title` (the app saves it; see the module)."""

        title: str

    @dataclass
    class CurrentDeleted(Message):
        """The open chat's file `path` was deleted (the app drops it; see the module)."""

        path: Path

    @dataclass
    class _Listed(Message):
        query: str
        rows: list[Row]
        error: str | None = None  # the folder itself could not be read

    @dataclass
    class _Changed(Message):
        """A rename or delete finished: list again."""

    def __init__(
        self, store: SessionStore, current_id: str | None, export_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.store = store
        self.current_id = current_id
        self.export_dir = export_dir or default_export_dir()
        self.rows: list[Row] = []
        self.loaded = False  # becomes True once the first listing arrived (tests wait on it)
        self._search_timer: Timer | None = None
        self._widths: tuple[int, int] | None = None
        self._problem: str | None = None  # why the folder could not be listed

    # ---- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="browser") as box:
            box.border_title = "Sessions"
            box.border_subtitle = "loading…"
            with Horizontal(id="search-row"):
                yield Static("Search", classes="label")
                yield SearchBox(placeholder="title or text (/)", id="search", compact=True)
            yield SessionTable(id="sessions", cursor_type="row", zebra_stripes=False)
            yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SessionTable).focus()
        self.refresh_list()

    @property
    def table(self) -> SessionTable:
        return self.query_one(SessionTable)

    @property
    def query_text(self) -> str:
        return self.query_one(SearchBox).value.strip()

    # ---- listing (thread worker) ---------------------------------------------------------

    def refresh_list(self) -> None:
        self._list(self.query_text)

    @work(thread=True, exclusive=True, group="session-list", exit_on_error=False)
    def _list(self, query: str) -> None:
        error = None
        try:
            if query:
                rows = [
                    Row(h.entry.path, h.entry.summary, h.entry.error, _snippet(h))
                    for h in self.store.search(query)
                ]
            else:
                rows = [Row(e.path, e.summary, e.error) for e in self.store.list()]
        except OSError as exc:  # e.g. the folder is not readable: say so, don't spin
            rows, error = [], f"Cannot read {self.store.directory}: {exc.strerror or exc}"
        if not get_current_worker().is_cancelled:
            self.post_message(self._Listed(query, rows, error))

    def on_session_browser__listed(self, event: _Listed) -> None:
        if event.query != self.query_text:
            return  # typed on since: a newer search is on its way
        self.rows = event.rows
        self.loaded = True
        self._problem = event.error
        self._fill(keep=self._highlighted_key())
        total = "1 session" if len(event.rows) == 1 else f"{len(event.rows)} sessions"
        box = self.query_one("#browser")
        box.border_subtitle = f"{total} matching" if event.query else total

    def on_session_browser__changed(self, _event: _Changed) -> None:
        self.refresh_list()

    def _column_widths(self) -> tuple[int, int]:
        """(title, model) widths so the four columns fill the table without scrolling."""
        width = self.table.size.width or 76
        model = 24 if width >= 100 else 14
        fixed = DATE_WIDTH + COUNT_WIDTH + model + 4 * 2 * CELL_PADDING + 1  # + scrollbar
        return max(12, width - fixed), model

    def _fill(self, keep: str | None = None) -> None:
        table = self.table
        title_w, model_w = self._widths = self._column_widths()
        table.clear(columns=True)
        table.add_column("Title", width=title_w, key="title")
        table.add_column("Updated", width=DATE_WIDTH, key="updated")
        table.add_column("Model", width=model_w, key="model")
        table.add_column(Text("Msgs", justify="right"), width=COUNT_WIDTH, key="count")
        for row in self.rows:
            table.add_row(*self._cells(row, title_w, model_w), key=row.key)
        index = next((i for i, r in enumerate(self.rows) if r.key == keep), 0)
        if self.rows:
            table.move_cursor(row=index, animate=False)
        self._show_detail()

    def _cells(self, row: Row, title_w: int, model_w: int) -> tuple[Text, Text, Text, Text]:
        s = row.summary
        if s is None:
            return (
                Text(fit(row.path.name, title_w), style="italic"),
                Text("cannot be read", style="italic"),
                Text(""),
                Text(""),
            )
        mark = "● " if self._is_current(row) else ""
        title = Text(fit(mark + row.title, title_w), style="bold" if mark else "")
        return (
            title,
            Text(format_updated(s.updated)),
            Text(fit(short_model(s.model_id), model_w)),
            Text(str(s.message_count), justify="right"),
        )

    def on_resize(self) -> None:
        if self.loaded and self._column_widths() != self._widths:
            self._fill(keep=self._highlighted_key())

    # ---- the highlighted row -------------------------------------------------------------

    def _is_current(self, row: Row) -> bool:
        return (
            bool(self.current_id)
            and row.summary is not None
            and (row.summary.id == self.current_id)
        )

    def _highlighted_key(self) -> str | None:
        row = self.highlighted
        return row.key if row else None

    @property
    def highlighted(self) -> Row | None:
        table = self.table
        if not self.rows or table.row_count == 0:
            return None
        index = table.cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        row = self.highlighted
        detail.set_class(
            self._problem is not None or (row is not None and row.error is not None), "-error"
        )
        if row is None:
            if self._problem is not None:
                text = self._problem
            elif not self.loaded:
                text = "Reading sessions…"
            elif self.query_text:
                text = f"No session mentions “{self.query_text}”."
            else:
                text = f"No saved sessions yet in {self.store.directory}."
        elif row.error is not None:
            text = f"{row.path.name} cannot be read: {row.error}"
        elif row.snippet and row.snippet != row.title:
            text = f"…{row.snippet.lstrip('…')}\n{row.path.name}"
        else:
            # The file name, not the whole path: the folder is the same for every row, and
            # the name is what `tchat --resume` takes.
            note = " · the chat open now" if self._is_current(row) else ""
            text = f"{row.path.name}{note}"
        detail.update(Content(visible(text)))

    # ---- actions -------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _open(self) -> None:
        row = self.highlighted
        if row is None:
            return
        if row.error is not None:
            self.say(f"{row.path.name} cannot be opened: {row.error}", severity="error")
            return
        self.dismiss(row.path)

    def say(
        self,
        text: str,
        *,
        severity: SeverityLevel = "information",
        title: str = "",
        timeout: float = 5,
    ) -> None:
        """A notification drawn as text: titles, paths and errors may contain '[' and ESC."""
        self.app.notify(
            visible(text), title=title, severity=severity, timeout=timeout, markup=False
        )

    def action_close(self) -> None:
        self.dismiss(None)

    def action_focus_search(self) -> None:
        self.query_one(SearchBox).focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self.table.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY_S, self.refresh_list)

    def action_rename(self) -> None:
        row = self.highlighted
        if row is None or row.summary is None:
            self.say("Only a readable chat can be renamed.", severity="warning")
            return

        def done(title: str | None) -> None:
            if title is None or title == row.summary.title:  # type: ignore[union-attr]
                return
            if self._is_current(row):
                # The app owns the open chat: it renames and saves it (see the module).
                self.app.post_message(self.CurrentRenamed(title))
                self._replace_row(row, title)
                self.say(f"Renamed to “{title}”.", timeout=3)
                return
            self._rename(row.path, title)

        self.app.push_screen(TextPromptScreen("New title for this chat", row.summary.title), done)

    def _replace_row(self, row: Row, title: str) -> None:
        assert row.summary is not None
        summary = replace(row.summary, title=title)
        self.rows = [Row(r.path, summary, r.error, r.snippet) if r is row else r for r in self.rows]
        self._fill(keep=row.key)

    @work(thread=True, group="session-edit", exit_on_error=False)
    def _rename(self, path: Path, title: str) -> None:
        try:
            self.store.rename(self.store.load(path), title)
        except Exception as exc:  # noqa: BLE001 - reported, the list stays as it was
            self.app.call_from_thread(self.say, f"Not renamed: {exc}", severity="error", timeout=8)
            return
        self.app.call_from_thread(self.say, f"Renamed to “{title}”.", timeout=3)
        self.post_message(self._Changed())

    def action_delete(self) -> None:
        row = self.highlighted
        if row is None:
            return
        if row.error is not None:
            question = f"Delete the unreadable file {row.path.name}?"
        elif self._is_current(row):
            question = f"Delete “{row.title}”, the chat open now? A new chat starts."
        else:
            question = f"Delete “{row.title}”?"

        def done(yes: bool | None) -> None:
            if yes:
                self._delete(row.path, self._is_current(row))

        self.app.push_screen(
            ConfirmScreen(question, f"{row.path.name} is removed for good.", yes="delete"),
            done,
        )

    @work(thread=True, group="session-edit", exit_on_error=False)
    def _delete(self, path: Path, current: bool) -> None:
        try:
            self.store.delete(path)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.say, f"Not deleted: {exc}", severity="error", timeout=8)
            return
        if current:
            self.app.post_message(self.CurrentDeleted(path))
        self.app.call_from_thread(self.say, f"Deleted {path.name}.", timeout=3)
        self.post_message(self._Changed())

    def action_export(self) -> None:
        row = self.highlighted
        if row is None or row.summary is None:
            self.say("Only a readable chat can be exported.", severity="warning")
            return
        self._export(row.path)

    @work(thread=True, group="session-edit", exit_on_error=False)
    def _export(self, path: Path) -> None:
        try:
            target = export_session(self.store, path, self.export_dir)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.say, f"Not exported: {exc}", severity="error", timeout=8)
            return
        self.app.call_from_thread(
            self.say, f"Exported to {target}", title="Markdown export", timeout=8
        )
