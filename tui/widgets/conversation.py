"""The scrolling conversation pane.

Holds the system prompt, one MessageView per turn, and notices (load errors, template
warnings) that belong to the screen but not to the saved session. It stays anchored to the
bottom while a reply streams, unless the user scrolls up to read.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tui.store.session import Message, Session
from tui.text import visible
from tui.widgets.message import MessageView

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


class Conversation(VerticalScroll, can_focus=False):
    """All turns of the current session, oldest first.

    Not focusable itself: the messages are, so Tab / shift+tab and up/down walk through them
    and the focused one scrolls into view.
    """

    # Older turns of the shown session, not mounted yet (only ever replaced, never mutated).
    _hidden: list[Message] = []

    def on_mount(self) -> None:
        self.anchor()

    async def add(self, message: Message) -> MessageView:
        view = MessageView(message)
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
        await self.remove_children()
        turns = [m for m in session.messages if m.role != "system"]
        self._hidden, turns = turns[:-SHOW_LAST], turns[-SHOW_LAST:]
        views: list[Static | MessageView] = [MessageView(m) for m in turns]
        if self._hidden:
            views.insert(0, self._earlier_marker())
        if session.system_prompt:
            views.insert(0, MessageView(Message("system", session.system_prompt), id="system"))
        if views:
            await self.mount_all(views)
        self.anchor()
        self.scroll_end(animate=False)

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
        await self.mount_all([MessageView(m) for m in batch], after=marker)
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
    def hidden_count(self) -> int:
        """Turns of the shown session that are not mounted (behind the marker)."""
        return len(self._hidden)
