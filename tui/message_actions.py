"""What the keys on a focused message do: regenerate, edit and resend, continue, delete, copy.

A mixin for the App, kept apart so app.py stays about wiring; the rules themselves are the
chat core's (tui/chat/core.py), this module shows what it did. The rules users see:
- **Regenerate** (r on a reply, or ctrl+r anywhere for the last one) writes a new version of
  it; the old one stays, with the turns that followed it (branch_keys.py switches back).
- **Edit** (e, on one of your messages) puts it in the prompt; sending makes a new version of
  that message and answers it, the old one and its later turns kept; Esc cancels.
- **Continue** (+ or g) carries on the last reply when it stopped early (length limit, Esc,
  or an interrupted save), appending to the same message.
- **Delete** (d or Delete), versions, fork and token alternatives: branch_keys.py.
- **Copy** (c) the whole message, or (y) its code blocks, one per press, through the
  terminal (OSC 52, wrapped for tmux and screen) so it works over SSH.
"""

from __future__ import annotations

from tui import clipboard
from tui.branch_keys import BRANCH_ACTIONS, BranchKeys
from tui.chat import ChatRefused
from tui.widgets.message import MessageView
from tui.widgets.prompt import PromptInput


class MessageActions(BranchKeys):
    """Handlers for `MessageView.ActionRequested` and the focus moves between messages."""

    _code_cursor: dict[int, int]

    def action_focus_message(self, step: int) -> None:
        """Move focus `step` messages down (negative: up); past the last, back to the prompt."""
        views = self.conversation.views()
        if not views:
            return
        focused = self.focused
        if isinstance(focused, MessageView) and focused in views:
            index = views.index(focused) + step
        else:
            index = len(views) - 1 if step < 0 else 0
        if index >= len(views) and step > 1 and self.conversation.later_count:
            self.call_later(self._focus_end)  # End: the end of the chat, not of what is shown
            return
        if index >= len(views) and step == 1:
            if self.conversation.later_count:  # a branch's later turns, not mounted yet
                self.call_later(self._focus_later, len(views))
                return
            self.query_one(PromptInput).focus()  # down from the last message: back to typing
            return
        views[min(max(index, 0), len(views) - 1)].focus()

    async def _focus_end(self) -> None:
        await self.conversation.show(self.session)
        views = self.conversation.views()
        if views:
            views[-1].focus()

    async def _focus_later(self, index: int) -> None:
        await self.conversation.show_later()
        views = self.conversation.views()
        if index < len(views):
            views[index].focus()

    def action_regenerate(self) -> None:
        views = [v for v in self.conversation.views() if v.message.role == "assistant"]
        if views:
            self.call_later(self._regenerate, views[-1])

    # Named, not @on-decorated: Textual collects @on handlers only from the App class body.
    async def on_message_view_action_requested(self, event: MessageView.ActionRequested) -> None:
        event.stop()
        view, action = event.view, event.action
        if action == "copy":
            self._copy(view.message.content, "Message copied.")
        elif action == "copy_code":
            self._copy_code(view)
        elif self.chat.busy:
            self.notify("Wait for the reply to finish, or stop it with Esc.", severity="warning")
        elif action == "regenerate":
            await self._regenerate(view)
        elif action == "edit":
            self._edit(view)
        elif action == "continue":
            await self._continue(view)
        elif action in BRANCH_ACTIONS:
            await self.branch_action(view, action)

    def _refused(self, refused: ChatRefused) -> None:
        self.notify(str(refused), severity=refused.severity)

    async def _regenerate(self, view: MessageView) -> None:
        try:
            reply = self.chat.regenerate(view.message)
        except ChatRefused as refused:
            self._refused(refused)
            return
        had_focus = view.has_focus
        await self.conversation.sync(self.session)  # the new version in the old one's place
        await self._show_reply(reply)
        new = self.conversation.view_of(reply.message)
        if had_focus and new is not None:
            new.focus()  # the user stays on the turn: r again, or left / right to compare

    def _edit(self, view: MessageView) -> None:
        try:
            later = self.chat.begin_edit(view.message)
        except ChatRefused as refused:
            self._refused(refused)
            return
        prompt = self.query_one(PromptInput)
        prompt.text = view.message.content
        prompt.border_title = (
            f"Editing: Enter sends a new version (this one and the {later} message(s) after it "
            "are kept) · Esc cancels"
            if later
            else "Editing: Enter sends a new version (this one is kept) · Esc cancels"
        )
        prompt.focus()
        prompt.move_cursor(prompt.document.end)

    def cancel_edit(self) -> bool:
        """Leave edit mode (Esc); True when there was an edit to cancel."""
        if not self.chat.cancel_edit():
            return False
        prompt = self.query_one(PromptInput)
        prompt.border_title = None
        prompt.clear()
        return True

    async def _continue(self, view: MessageView) -> None:
        try:
            reply = self.chat.continue_reply(view.message)
        except ChatRefused as refused:
            self._refused(refused)
            return
        await self._show_reply(reply, carried=view)

    def _copy(self, text: str, done: str) -> None:
        self.copy_to_clipboard(text)
        result = self.last_copy
        if result.ok:
            self.notify(f"{done} ({result.method})", timeout=3, markup=False)
        else:
            self.notify(f"Not copied: {result.method}", severity="warning", markup=False)

    def _copy_code(self, view: MessageView) -> None:
        blocks = clipboard.code_blocks(view.message.content)
        if not blocks:
            self.notify("No code block in this message.", severity="warning")
            return
        cursor = getattr(self, "_code_cursor", None)
        if cursor is None:
            cursor = self._code_cursor = {}
        key = id(view.message)
        index = cursor.get(key, -1) + 1
        index = 0 if index >= len(blocks) else index
        cursor[key] = index
        self._copy(blocks[index], f"Code block {index + 1}/{len(blocks)} copied.")
