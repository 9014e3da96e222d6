"""The keys for a reasoning model's thinking: the chat's switch (F7) and folding (ctrl+f for
every reply; `t` on a focused reply is the message's own key).

A mixin for the App, like message_actions.py. The switch belongs to the chat (saved with it,
handed to the template from the next reply: tui/chat/core.py `set_thinking`); where the
model cannot switch, the key says why instead of pretending.
"""

from __future__ import annotations

from tui.chat_host import ChatHost


class ThinkingActions(ChatHost):
    """F7 (thinking on/off for this chat) and ctrl+f (open/fold every reply's thinking)."""

    def action_toggle_thinking(self) -> None:
        fmt = self.chat.chat_format
        if self.model_info is None:
            self.notify("The model is still loading: its template decides the thinking.")
            return
        if fmt is None:
            self.notify(
                "This engine does not say whether its model can switch thinking.",
                severity="warning",
            )
            return
        if fmt.switch is None:
            self.notify(fmt.note or "This model's thinking cannot be switched.", timeout=6)
            return
        on = not fmt.thinking_on(self.session.settings.thinking)
        self.chat.set_thinking(None if on == fmt.thinking_on(None) else on)  # default: no choice
        how = "enable_thinking" if fmt.switch == "enable_thinking" else "/think · /no_think"
        self.notify(
            f"Thinking {'on' if on else 'off'} for this chat, from the next reply ({how}).",
            timeout=4,
        )
        self.count_context()

    def action_toggle_all_thinking(self) -> None:
        views = [v for v in self.conversation.views() if v.thinking is not None]
        if not views:
            self.notify("No reply in this chat has thinking to show.", timeout=3)
            return
        show = any(v.thinking.folded for v in views if v.thinking is not None)
        for view in views:
            if view.thinking is not None:
                view.thinking.toggle(show)
        self.notify("Thinking shown." if show else "Thinking folded.", timeout=2)
