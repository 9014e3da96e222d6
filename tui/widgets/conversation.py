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


class Notice(Static):
    """A line from tchat itself (not the model): an error, a warning, a hint."""


class Conversation(VerticalScroll, can_focus=False):
    """All turns of the current session, oldest first.

    Not focusable itself: the messages are, so Tab / shift+tab and up/down walk through them
    and the focused one scrolls into view.
    """

    def on_mount(self) -> None:
        self.anchor()

    async def add(self, message: Message) -> MessageView:
        view = MessageView(message)
        await self.mount(view)
        self.anchor()
        return view

    async def notice(self, text: str, kind: str = "info") -> None:
        await self.mount(Notice(Content(visible(text)), classes=f"notice -{kind}"))
        self.anchor()

    async def show(self, session: Session) -> None:
        """Replace everything with `session` (a resumed or a new one)."""
        await self.remove_children()
        views = [MessageView(m) for m in session.messages if m.role != "system"]
        if session.system_prompt:
            views.insert(0, MessageView(Message("system", session.system_prompt), id="system"))
        if views:
            await self.mount_all(views)
        self.anchor()
        self.scroll_end(animate=False)

    async def show_system_prompt(self, prompt: str) -> None:
        for old in self.query("#system"):
            await old.remove()
        if prompt:
            view = MessageView(Message("system", prompt), id="system")
            first = self.children[0] if self.children else None
            await self.mount(view, before=first)

    def views(self) -> list[MessageView]:
        return list(self.query_children(MessageView))
