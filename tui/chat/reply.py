"""The reply in flight: one small object instead of a handful of fields on the app.

It exists from the moment a reply is asked for (its message is already in the session, marked
"streaming", so a crash keeps what has arrived) until its end is recorded. While the model is
still loading it waits (`cancel` is None); once generation starts it has a cancel event.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tui.store.session import Message

ChatMessage = dict[str, str]


@dataclass
class ReplyInFlight:
    """A reply being written into `message`, from the chat as it stood when it was asked."""

    message: Message
    prompt: list[ChatMessage]  # the chat template's messages, before context fitting
    carry_on: bool = False  # continues a stopped reply: the model goes on from its text
    tokens_before: int = 0  # a continued reply's earlier tokens, added to its count at the end
    cancel: threading.Event | None = None  # None while it waits for the model to load

    @property
    def started(self) -> bool:
        """Generation has started (it is not waiting for the model)."""
        return self.cancel is not None
