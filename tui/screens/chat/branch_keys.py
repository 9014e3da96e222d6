"""What the branch keys on a focused message do: switch versions, delete, fork, and open the
token alternatives.

A part of the chat screen, beside message_keys.py (which hands it these keys); the rules are
the chat core's (tui/chat/branching.py), this module shows what it did:
- **left / right** (or h / l) show the previous / next version of the turn ("‹ 2/3 ›"), with
  the turns that followed that version; the conversation follows the chosen branch.
- **d** deletes the message: alone when it has no other version, as always; else this version
  with the turns after it, once you say y.
- **D** deletes the turn in every version and everything after it (asks y/n).
- **f** forks: a new chat with a copy of the path shown up to this message.
- **a** shows the token alternatives of a reply (tui/screens/token_inspector.py); picking
  one branches the reply at that token and the model carries on from it.
"""

from __future__ import annotations

from tui.chat import ChatRefused
from tui.engine.backend import ModelInfo
from tui.engine.tokens import TokenChoice
from tui.screens.chat.part import Part
from tui.store.session import Message
from tui.widgets.message_view import MessageView

BRANCH_ACTIONS = (
    "previous_version",
    "next_version",
    "delete",
    "delete_turn",
    "fork",
    "alternatives",
)
# How many alternatives the local engine keeps per token once asked for them.
ALTERNATIVES = 8


class BranchKeys(Part):
    """What the branch keys of `MessageView` do (handed over by MessageKeys)."""

    _alternatives_asked = False  # `a` asked for token probabilities in this run

    def apply_alternatives(self, info: ModelInfo) -> None:
        """A model is loaded (perhaps on another engine): record token probabilities when they
        were asked for, the config file says so, or (unset there) the model runs on the CPU,
        where the recorder costs nothing measurable (bench/token_alternatives.py)."""
        screen = self.screen
        choice = screen.config.token_alternatives
        on_cpu = info.device == "cpu" and self.backend.capabilities.local_hardware
        screen.alternatives_on = self._alternatives_asked or bool(
            choice if choice is not None else on_cpu
        )
        self.backend.keep_alternatives(ALTERNATIVES if screen.alternatives_on else 0)

    async def branch_action(self, view: MessageView, action: str) -> None:
        try:
            if action in ("previous_version", "next_version"):
                await self._switch(view, -1 if action == "previous_version" else 1)
            elif action == "delete":
                self._ask_delete(view, whole_turn=False)
            elif action == "delete_turn":
                self._ask_delete(view, whole_turn=True)
            elif action == "fork":
                await self._fork(view)
            elif action == "alternatives":
                self._alternatives(view)
        except ChatRefused as refused:
            self.app.notify(str(refused), severity=refused.severity)

    async def _focus(self, message: Message | None) -> None:
        view = self.conversation.view_of(message) if message is not None else None
        if view is not None:
            view.focus()
            # Once the new views are laid out: the conversation would otherwise stay
            # anchored to its end, away from the message the user is on.
            self.screen.call_after_refresh(view.scroll_visible, animate=False)
        else:
            self.prompt.focus()

    async def _switch(self, view: MessageView, by: int) -> None:
        shown = self.chat.switch_version(view.message, by)
        if shown is None:
            _, count = self.chat.versions(view.message)
            where = "first" if by < 0 else "last"
            text = (
                f"This is the {where} version."
                if count > 1
                else "This message has no other version."
            )
            self.app.notify(text, timeout=2)
            return
        await self.conversation.sync(self.session)
        self.screen.set_history()
        self.screen.replies.count_context()
        await self._focus(shown)

    def _ask_delete(self, view: MessageView, whole_turn: bool) -> None:
        from tui.screens.confirm import ConfirmScreen

        message = view.message
        count, versions = self.chat.deletion(message, whole_turn)
        if count == 1 and versions == 1 and not whole_turn:  # a lone message, as always
            self.screen.call_later(self._delete_now, message, False)
            return
        if whole_turn:
            question = (
                f"Delete this turn in all {versions} versions, and everything after it?"
                if versions > 1
                else "Delete this message and everything after it?"
            )
        elif count == 1:
            question = "Delete this version?"
        else:
            question = "Delete this version and the turns that followed it?"
        detail = f"{count} message(s) will be deleted from the chat and its file."
        if not whole_turn:
            detail += " The other versions stay."

        def answered(yes: bool | None) -> None:
            if yes:
                self.screen.call_later(self._delete_now, message, whole_turn)

        self.app.push_screen(ConfirmScreen(question, detail, yes="delete"), answered)

    async def _delete_now(self, message: Message, whole_turn: bool) -> None:
        try:
            index = next(i for i, m in enumerate(self.session.messages) if m is message)
            removed = (self.chat.delete_turn if whole_turn else self.chat.delete)(message)
        except (ChatRefused, StopIteration):
            return
        await self.conversation.sync(self.session)
        self.screen.set_history()
        self.screen.replies.count_context()
        after = self.session.messages[index] if index < len(self.session.messages) else None
        await self._focus(after)
        self.app.notify(
            "Message deleted." if removed == 1 else f"{removed} messages deleted.", timeout=3
        )

    async def _fork(self, view: MessageView) -> None:
        forked = self.chat.fork(view.message)
        self.screen.save_now()  # the chat forked from stays as it is, saved
        await self.screen.open(forked)
        self.screen.replies.count_context()
        self.chat.save()
        self.prompt.focus()
        self.app.notify(
            f"Forked: a new chat with the {len(forked.messages)} message(s) up to there. "
            "The original is kept (F4 lists both).",
            timeout=5,
        )

    def _alternatives(self, view: MessageView) -> None:
        from tui.screens.token_inspector import TokenInspector

        message = view.message
        if message.role != "assistant":
            self.app.notify("Token alternatives are shown for replies.", timeout=3)
            return
        steps = self.chat.trace(message)
        if not steps:
            self.app.notify(self._no_trace_note(), timeout=8)
            return

        def picked(result: tuple[int, TokenChoice] | None) -> None:
            if result is not None:
                self.screen.call_later(self._branch_at_token, message, *result)

        self.app.push_screen(TokenInspector(steps), picked)

    def _no_trace_note(self) -> str:
        if not self.backend.capabilities.token_alternatives:
            return "This engine does not report token probabilities."
        was, self.screen.alternatives_on = self.screen.alternatives_on, True
        self._alternatives_asked = True
        self.backend.keep_alternatives(ALTERNATIVES)  # again: the engine may have changed
        if not was:
            return (
                "Token probabilities were not recorded for this reply. From the next reply "
                "on they are (r regenerates this one with them)."
            )
        return "Token probabilities were not recorded for this reply (r regenerates it)."

    async def _branch_at_token(self, message: Message, index: int, choice: TokenChoice) -> None:
        try:
            reply = self.chat.branch_at_token(message, index, choice)
        except ChatRefused as refused:
            self.app.notify(str(refused), severity=refused.severity)
            return
        await self.conversation.sync(self.session)
        if reply is None:
            await self._focus(self.session.messages[-1])
            self.app.notify("A new version that ends at the token picked.", timeout=3)
            return
        await self.screen.replies.show(reply, carried=self.conversation.view_of(reply.message))
        await self._focus(reply.message)  # on the new version, as it is written
