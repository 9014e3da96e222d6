"""The chat core: one open chat (its session, prompt building and context fitting, the reply
in flight, and the user's edits), driven by the full-screen app and the one-shot mode alike.

No Textual here, and no torch: the backend seam (`tui.engine.backend`) does the model work.
"""

from tui.chat.core import (
    THINKING_BUDGET_NOTE,
    Chat,
    ChatRefused,
    model_ref,
    ran_out_while_thinking,
)
from tui.chat.reply import ReplyInFlight

__all__ = [
    "THINKING_BUDGET_NOTE",
    "Chat",
    "ChatRefused",
    "ReplyInFlight",
    "model_ref",
    "ran_out_while_thinking",
]
