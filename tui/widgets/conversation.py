"""The scrolling conversation pane.

Holds the system prompt, one MessageView per turn of the path shown, and notices (load errors,
template warnings) that belong to the screen but not to the saved session. It stays anchored
to the bottom while a reply streams, unless the user scrolls up to read.

A chat with branches (tui/store/tree.py) shows one path; each message with other versions says
"‹ 2/3 ›". After the path changes (another version shown, a reply regenerated, a version
deleted) `sync` keeps the views that are still on it and mounts the new ones, a screenful at
most: a switch far up a long chat mounts what follows it batch by batch, as the user scrolls
down, the way older turns are mounted on scrolling up.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tui.store import tree
from tui.store.session import Message, Session
from tui.text import visible
from tui.widgets.message_view import MessageView

# A resumed chat shows its last messages at once and older ones on demand: mounting costs
# about 30 ms a message (Markdown widgets), so a 1,000-message chat would take half a minute
# (bench/session_load_scaling.py). Scrolling to the top (or Home) brings the next batch.
SHOW_LAST = 12
EARLIER_BATCH = 50
# A live chat keeps only its latest turns mounted too: Textual lays out and maps every mounted
# widget whenever one changes, so with all turns mounted each turn of a long chat cost more
# than the last (0.7 s at turn 75, 2.7 s at turn 275 in the soak test). Past MAX_MOUNTED,
# the oldest go back behind the "earlier messages" marker, leaving KEEP_MOUNTED.
MAX_MOUNTED = 60
KEEP_MOUNTED = 40


class Notice(Static):
    """A line from tchat itself (not the model): an error, a warning, a hint."""


class EarlierMessages(Static):
    """'↑ 980 earlier messages': stands in for the turns not mounted yet, at the top."""


class LaterMessages(Static):
    """'↓ 40 later messages': the turns after a version switched to far up, not mounted yet."""


class Conversation(VerticalScroll, can_focus=False):
    """All turns of the current session, oldest first.

    Not focusable itself: the messages are, so Tab / shift+tab and up/down walk through them
    and the focused one scrolls into view.
    """

    # Older turns of the shown session, not mounted yet (only ever replaced, never mutated).
    _hidden: list[Message] = []
    # Later turns of the path not mounted yet (after a switch far up), likewise.
    _later: list[Message] = []
    _session: Session | None = None

    def on_mount(self) -> None:
        self.anchor()

    async def add(self, message: Message) -> MessageView:
        """Show `message`, the newest of the path (a view it already has is reused)."""
        if self._later and self._session is not None:
            await self.show(self._session)  # back to the end of the chat first
        found = self.view_of(message)
        if found is not None:
            return found
        view = MessageView(message, versions=self._versions_of(message))
        await self.mount(view)
        await self._trim()
        self.anchor()
        return view

    async def _trim(self) -> None:
        """Unmount the oldest turns once more than MAX_MOUNTED are shown (see above)."""
        views = [v for v in self.query_children(MessageView) if v.id != "system"]
        if len(views) <= MAX_MOUNTED:
            return
        old = views[: len(views) - KEEP_MOUNTED]
        focused = self.app.focused
        for i, view in enumerate(old):
            if view is focused or view.has_focus_within:
                old = old[:i]  # never pull the message the user is on from under them
                break
        if not old:
            return
        had_marker = bool(self._hidden)
        self._hidden = [*self._hidden, *(v.message for v in old)]
        if had_marker:
            self.query_one("#earlier", EarlierMessages).update(self._earlier_text())
        else:
            await self.mount(self._earlier_marker(), before=old[0])
        await self.remove_children(old)

    async def notice(self, text: str, kind: str = "info") -> None:
        await self.mount(Notice(Content(visible(text)), classes=f"notice -{kind}"))
        self.anchor()

    async def show(self, session: Session) -> None:
        """Replace everything with `session` (a resumed or a new one)."""
        self._session = session
        await self.remove_children()
        self._later = []
        turns = [m for m in session.messages if m.role != "system"]
        self._hidden, turns = turns[:-SHOW_LAST], turns[-SHOW_LAST:]
        counts = self._counts()
        views: list[Static | MessageView] = [MessageView(m, versions=counts(m)) for m in turns]
        if self._hidden:
            views.insert(0, self._earlier_marker())
        if session.system_prompt:
            views.insert(0, MessageView(Message("system", session.system_prompt), id="system"))
        if views:
            await self.mount_all(views)
        self.anchor()
        self.scroll_end(animate=False)

    def _counts(self):  # noqa: ANN202 - a small closure
        """Message -> (version shown, versions) for the session shown, from one pass."""
        session = self._session
        if session is None or not session.branches:
            return lambda m: (1, 1)
        counts = tree.VersionCounts(session)
        where = {id(m): i for i, m in enumerate(session.messages)}
        return lambda m: counts.at(where[id(m)]) if id(m) in where else (1, 1)

    def _versions_of(self, message: Message) -> tuple[int, int]:
        return self._counts()(message)

    def view_of(self, message: Message) -> MessageView | None:
        for view in self.query_children(MessageView):
            if view.message is message:
                return view
        return None

    async def sync(self, session: Session) -> None:
        """The path shown changed: drop the views no longer on it, mount what is new on it
        (at most SHOW_LAST, the rest behind a "later messages" marker, EARLIER_BATCH at a
        time), and refresh every version label."""
        self._session = session
        on_path = {id(m) for m in session.messages}
        gone = [
            v
            for v in self.query_children(MessageView)
            if v.id != "system" and id(v.message) not in on_path
        ]
        if gone:
            await self.remove_children(gone)
        for marker in self.query(LaterMessages):
            await marker.remove()
        self._hidden = [m for m in self._hidden if id(m) in on_path]
        kept = [v.message for v in self.views() if v.id != "system"]
        shown = {id(m) for m in [*self._hidden, *kept]}
        new = [m for m in session.messages if id(m) not in shown and m.role != "system"]
        # A screenful or so (as when a chat opens); the rest as the user scrolls down.
        batch, self._later = new[:SHOW_LAST], new[SHOW_LAST:]
        counts = self._counts()
        if batch:
            await self.mount_all([MessageView(m, versions=counts(m)) for m in batch])
        if self._later:
            await self.mount(self._later_marker())
        for view in self.views():
            if view.id != "system":
                view.set_versions(*counts(view.message))

    def _later_text(self) -> Content:
        return Content(
            f"↓ {len(self._later)} later messages: scroll down or press End to show them"
        )

    def _later_marker(self) -> LaterMessages:
        return LaterMessages(self._later_text(), id="later", classes="notice -info")

    async def show_later(self) -> None:
        """Mount the next batch of later turns below the ones shown (no-op when none)."""
        if not self._later:
            return
        batch, self._later = self._later[:EARLIER_BATCH], self._later[EARLIER_BATCH:]
        marker = self.query_one("#later", LaterMessages)
        counts = self._counts()
        await self.mount_all([MessageView(m, versions=counts(m)) for m in batch], before=marker)
        if self._later:
            marker.update(self._later_text())
        else:
            await marker.remove()

    def _earlier_text(self) -> Content:
        return Content(
            f"↑ {len(self._hidden)} earlier messages: scroll up or press Home to show them"
        )

    def _earlier_marker(self) -> EarlierMessages:
        return EarlierMessages(self._earlier_text(), id="earlier", classes="notice -info")

    async def show_earlier(self) -> None:
        """Mount the next batch of older turns above the ones shown (no-op when none)."""
        if not self._hidden:
            return
        batch, self._hidden = self._hidden[-EARLIER_BATCH:], self._hidden[:-EARLIER_BATCH]
        marker = self.query_one("#earlier", EarlierMessages)
        counts = self._counts()
        await self.mount_all([MessageView(m, versions=counts(m)) for m in batch], after=marker)
        if self._hidden:
            marker.update(self._earlier_text())
        else:
            await marker.remove()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new < old:  # reading back: a streaming reply shows all of itself again
            for view in self.query_children(MessageView):
                view.reveal_segments()
        if new <= 0 and old > 0 and self._hidden:
            self.call_later(self.show_earlier)
        if new >= self.max_scroll_y and new > old and self._later:
            self.call_later(self.show_later)

    def action_scroll_end(self) -> None:
        if self._later and self._session is not None:
            self.call_later(self.show, self._session)  # the end of the chat, as on opening it
        super().action_scroll_end()

    def action_scroll_home(self) -> None:
        if self._hidden:
            self.call_later(self.show_earlier)
        super().action_scroll_home()

    async def show_system_prompt(self, prompt: str) -> None:
        for old in self.query("#system"):
            await old.remove()
        if prompt:
            view = MessageView(Message("system", prompt), id="system")
            first = self.children[0] if self.children else None
            await self.mount(view, before=first)

    def views(self) -> list[MessageView]:
        """The mounted message views (the latest turns; older ones may be behind the marker)."""
        return list(self.query_children(MessageView))

    @property
    def later_count(self) -> int:
        """Turns of the path after the mounted ones (a switch far up), not mounted yet."""
        return len(self._later)

    @property
    def hidden_count(self) -> int:
        """Turns of the shown session that are not mounted (behind the marker)."""
        return len(self._hidden)
