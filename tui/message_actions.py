"""What the keys on a focused message do: regenerate, edit and resend, continue, delete, copy.

A mixin for the App, kept apart so app.py stays about wiring. The rules users see:
- **Regenerate** (r, or ctrl+r anywhere) replaces the last reply with a new one.
- **Edit** (e, on one of your messages) puts it in the prompt; sending replaces that message
  and drops every turn after it (the prompt's title says how many), Esc cancels.
- **Continue** (+ or g) carries on the last reply when it stopped early (length limit, Esc,
  or an interrupted save), appending to the same message.
- **Delete** (d or Delete) removes one message from the chat and the file.
- **Copy** (c) the whole message, or (y) its code blocks, one per press, through the
  terminal (OSC 52, wrapped for tmux and screen) so it works over SSH.
"""

from __future__ import annotations

from tui import clipboard
from tui.chat_host import ChatHost
from tui.widgets.message import MessageView
from tui.widgets.prompt import PromptInput

CONTINUABLE = ("length", "cancelled", "streaming")


class MessageActions(ChatHost):
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
        if index >= len(views) and step == 1:
            self.query_one(PromptInput).focus()  # down from the last message: back to typing
            return
        views[min(max(index, 0), len(views) - 1)].focus()

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
        elif self.generating or self.waiting_for_model:
            self.notify("Wait for the reply to finish, or stop it with Esc.", severity="warning")
        elif action == "regenerate":
            await self._regenerate(view)
        elif action == "edit":
            self._edit(view)
        elif action == "continue":
            await self._continue(view)
        elif action == "delete":
            await self._delete(view)

    def _is_last(self, view: MessageView) -> bool:
        return bool(self.session.messages) and self.session.messages[-1] is view.message

    async def _regenerate(self, view: MessageView) -> None:
        if self.generating or self.waiting_for_model:
            self.notify("A reply is still on its way: Esc stops it.", severity="warning")
            return
        if view.message.role != "assistant" or not self._is_last(view):
            self.notify(
                "Only the last reply can be regenerated. To redo an earlier turn, edit your "
                "message (e) and resend it.",
                severity="warning",
            )
            return
        self.session.messages.pop()
        await view.remove()
        await self._start_reply()

    def _edit(self, view: MessageView) -> None:
        if view.message.role != "user":
            self.notify("Only your own messages can be edited.", severity="warning")
            return
        index = self.session.messages.index(view.message)
        later = len(self.session.messages) - index - 1
        self.editing = view.message
        prompt = self.query_one(PromptInput)
        prompt.text = view.message.content
        prompt.border_title = (
            f"Editing: Enter replaces it and drops the {later} message(s) after it · Esc cancels"
            if later
            else "Editing: Enter replaces it · Esc cancels"
        )
        prompt.focus()
        prompt.move_cursor(prompt.document.end)

    def cancel_edit(self) -> bool:
        """Leave edit mode (Esc); True when there was an edit to cancel."""
        if self.editing is None:
            return False
        self.editing = None
        prompt = self.query_one(PromptInput)
        prompt.border_title = None
        prompt.clear()
        return True

    async def apply_edit(self) -> None:
        """Before sending an edited message: cut the chat back to just before it."""
        message, self.editing = self.editing, None
        self.query_one(PromptInput).border_title = None
        if message is None or message not in self.session.messages:
            return
        del self.session.messages[self.session.messages.index(message) :]
        await self.conversation.show(self.session)

    async def _continue(self, view: MessageView) -> None:
        stats = view.message.stats
        if view.message.role != "assistant" or not self._is_last(view):
            self.notify("Only the last reply can be continued.", severity="warning")
            return
        if stats is not None and stats.stop_reason not in CONTINUABLE:
            self.notify("This reply finished on its own; nothing to continue.")
            return
        await self._start_reply(carry_on=view)

    async def _delete(self, view: MessageView) -> None:
        if view.message in self.session.messages:
            self.session.messages.remove(view.message)
            self._save()
        await view.remove()
        self.query_one(PromptInput).focus()
        self.notify("Message deleted.", timeout=3)

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
