"""The chat core: one open chat (its session, prompt building and context fitting, the reply
in flight, and the user's edits), driven by the full-screen app and the one-shot mode alike.

No Textual here, and no torch: the backend seam (`tui.engine.backend`) does the model work.
"""

from tui.chat.core import Chat, ChatRefused, model_ref
from tui.chat.reply import ReplyInFlight

__all__ = ["Chat", "ChatRefused", "ReplyInFlight", "model_ref"]
