"""What the keys on a focused message do: regenerate, edit and resend, continue, copy; and the
thinking keys (F7 switches it for the chat, ctrl+f opens or folds every reply's).

A part of the chat screen; the rules themselves are the chat core's (tui/chat/core.py), this
module shows what it did. The rules users see:
- **Regenerate** (r on a reply, or ctrl+r anywhere for the last one) writes a new version of
  it; the old one stays, with the turns that followed it (branch_keys.py switches back).
- **Edit** (e, on one of your messages) puts it in the prompt; sending makes a new version of
  that message and answers it, the old one and its later turns kept; Esc cancels.
- **Continue** (+ or g) carries on the last reply when it stopped early (length limit, Esc,
  or an interrupted save), appending to the same message.
- **Delete** (d or Delete), versions, fork and token alternatives: branch_keys.py.
- **Thinking** (F7): on or off for this chat, handed to the template from the next reply
  (`Chat.set_thinking`); where the model cannot switch, the key says why instead of
  pretending. ctrl+f opens or folds every reply's thinking (`t` on a reply: its own).
- **Copy** (c) the whole message, or (y) its code blocks, one per press, through the
  terminal (OSC 52, wrapped for tmux and screen) so it works over SSH.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from tui import clipboard
from tui.chat import ChatRefused
from tui.screens.chat.branch_keys import BRANCH_ACTIONS
from tui.screens.chat.part import Part
from tui.widgets.message_view import MessageView

if TYPE_CHECKING:
    from tui.screens.chat.screen import ChatScreen


class MessageKeys(Part):
    """What `MessageView.ActionRequested` asks for, and the focus moves between messages."""

    def __init__(self, screen: ChatScreen) -> None:
        super().__init__(screen)
        self._code_cursor: dict[int, int] = {}  # message -> the code block copied last

    def focus_message(self, step: int) -> None:
        """Move focus `step` messages down (negative: up); past the last, back to the prompt."""
        views = self.conversation.views()
        if not views:
            return
        focused = self.screen.focused
        if isinstance(focused, MessageView) and focused in views:
            index = views.index(focused) + step
        else:
            index = len(views) - 1 if step < 0 else 0
        if index >= len(views) and step > 1 and self.conversation.later_count:
            # End: the end of the chat, not of what is shown
            self.screen.call_later(self._focus_end)
            return
        if index >= len(views) and step == 1:
            if self.conversation.later_count:  # a branch's later turns, not mounted yet
                self.screen.call_later(self._focus_later, len(views))
                return
            self.prompt.focus()  # down from the last message: back to typing
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

    def regenerate_last(self) -> None:
        """ctrl+r: regenerate the last reply."""
        views = [v for v in self.conversation.views() if v.message.role == "assistant"]
        if views:
            self.screen.call_later(self._refusable, self._regenerate(views[-1]))

    async def requested(self, view: MessageView, action: str) -> None:
        """A key on a focused message (`MessageView.ActionRequested`)."""
        if not any(m is view.message for m in self.session.messages):
            # Keys pressed in a burst queue up with the view they were pressed on: once the
            # first has switched the version shown (or deleted it), the rest are stale.
            return
        if action == "copy":
            self.copy(view.message.content, "Message copied.")
        elif action == "copy_code":
            self.copy_code(view)
        elif self.chat.busy:
            self.app.notify(
                "Wait for the reply to finish, or stop it with Esc.", severity="warning"
            )
        elif action == "regenerate":
            await self._refusable(self._regenerate(view))
        elif action == "edit":
            await self._refusable(self._edit(view))
        elif action == "continue":
            await self._refusable(self._continue(view))
        elif action in BRANCH_ACTIONS:
            await self.screen.branch_keys.branch_action(view, action)

    async def _refusable(self, act: Awaitable[None]) -> None:
        """Run a key's action; what the chat core refuses is said, with its severity."""
        try:
            await act
        except ChatRefused as refused:
            self.app.notify(str(refused), severity=refused.severity)

    async def _regenerate(self, view: MessageView) -> None:
        reply = self.chat.regenerate(view.message)
        had_focus = view.has_focus
        await self.conversation.sync(self.session)  # the new version in the old one's place
        await self.screen.replies.show(reply)
        new = self.conversation.view_of(reply.message)
        if had_focus and new is not None:
            new.focus()  # the user stays on the turn: r again, or left / right to compare

    async def _edit(self, view: MessageView) -> None:
        later = self.chat.begin_edit(view.message)
        prompt = self.prompt
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
        prompt = self.prompt
        prompt.border_title = None
        prompt.clear()
        return True

    async def _continue(self, view: MessageView) -> None:
        reply = self.chat.continue_reply(view.message)
        await self.screen.replies.show(reply, carried=view)

    def copy(self, text: str, done: str) -> None:
        result = clipboard.copy_in_app(self.screen.app, text)
        if result.ok:
            self.app.notify(f"{done} ({result.method})", timeout=3, markup=False)
        else:
            self.app.notify(f"Not copied: {result.method}", severity="warning", markup=False)

    def copy_code(self, view: MessageView) -> None:
        blocks = clipboard.code_blocks(view.message.content)
        if not blocks:
            self.app.notify("No code block in this message.", severity="warning")
            return
        cursor = self._code_cursor
        key = id(view.message)
        index = cursor.get(key, -1) + 1
        index = 0 if index >= len(blocks) else index
        cursor[key] = index
        self.copy(blocks[index], f"Code block {index + 1}/{len(blocks)} copied.")

    # ---- thinking ------------------------------------------------------------------------

    def toggle_thinking(self) -> None:
        fmt = self.chat.chat_format
        if self.screen.model_info is None:
            self.app.notify("The model is still loading: its template decides the thinking.")
            return
        if fmt is None:
            self.app.notify(
                "This engine does not say whether its model can switch thinking.",
                severity="warning",
            )
            return
        if fmt.switch is None:
            self.app.notify(fmt.note or "This model's thinking cannot be switched.", timeout=6)
            return
        on = not fmt.thinking_on(self.session.settings.thinking)
        self.chat.set_thinking(None if on == fmt.thinking_on(None) else on)  # default: no choice
        how = "enable_thinking" if fmt.switch == "enable_thinking" else "/think · /no_think"
        self.app.notify(
            f"Thinking {'on' if on else 'off'} for this chat, from the next reply ({how}).",
            timeout=4,
        )
        self.screen.replies.count_context()

    def toggle_all_thinking(self) -> None:
        views = [v for v in self.conversation.views() if v.thinking is not None]
        if not views:
            self.app.notify("No reply in this chat has thinking to show.", timeout=3)
            return
        show = any(v.thinking.folded for v in views if v.thinking is not None)
        for view in views:
            if view.thinking is not None:
                view.thinking.toggle(show)
        self.app.notify("Thinking shown." if show else "Thinking folded.", timeout=2)
