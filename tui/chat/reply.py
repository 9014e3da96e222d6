"""The reply in flight: one small object instead of a handful of fields on the app.

It exists from the moment a reply is asked for (its message is already in the session, marked
"streaming", so a crash keeps what has arrived) until its end is recorded. While the model is
still loading it waits (`cancel` is None); once generation starts it has a cancel event.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tui.chat.reasoning import Parser
from tui.engine.backend import Reply
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
    # A continued reply's earlier thinking (tokens, seconds), added to its figures at the end.
    thinking_before: tuple[int, float] = (0, 0.0)
    parser: Parser | None = None  # splits thinking from answer (reasoning.py), once started
    stream: Reply | None = None  # the backend's stream, once open (its token steps, if any)

    @property
    def started(self) -> bool:
        """Generation has started (it is not waiting for the model)."""
        return self.cancel is not None
