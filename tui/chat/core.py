"""One open chat: its session, the prompt it builds, the reply in flight, and the edits a user
makes (send, regenerate, edit-and-resend, continue, delete). No Textual.

The full-screen app and the one-shot mode (`tchat -p`) both drive a `Chat`, so the rules live
here once: what the user typed is saved before any generation starts, a reply's message is in
the session from its first moment (marked "streaming", so a crash keeps what arrived), a
continued reply counts all its tokens, a deleted chat is never written again. The UI shows
what the chat did; when the chat refuses an action it raises `ChatRefused` with the sentence
to show.

Blocking work (counting tokens, starting the backend's stream) happens in `open_stream`, which
the app calls from a worker thread; everything else is quick and runs on the caller's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

from tui.chat.context import fit_to_context
from tui.chat.reply import ChatMessage, ReplyInFlight
from tui.engine.backend import Backend, ModelInfo, Reply
from tui.store.session import Message, ModelRef, ReplyStats, Session

# A reply that stopped early can be carried on: length limit, Esc, or an interrupted save.
CONTINUABLE = ("length", "cancelled", "streaming")


class ChatRefused(Exception):
    """An action the chat cannot take now; the text says why, for the user. `severity` is
    "warning" for a refusal, "information" when there is simply nothing to do."""

    def __init__(
        self, message: str, severity: Literal["information", "warning"] = "warning"
    ) -> None:
        super().__init__(message)
        self.severity = severity


def model_ref(info: ModelInfo) -> ModelRef:
    """How a session records the model that was loaded (a served one: its backend and the
    server's URL, which never holds a credential)."""
    return ModelRef(
        id=info.id,
        revision=info.revision,
        dtype=info.dtype or None,
        quantization=info.quantization,
        device=info.device,
        backend=info.backend,
        endpoint=info.endpoint,
    )


class Chat:
    """A session being chatted in, with the backend that answers it.

    `save(session)` is how the chat is persisted (the app's autosaver, or the one-shot mode's
    synchronous store); `planned_model()` names the model about to be loaded, recorded on
    messages written before one is."""

    def __init__(
        self,
        session: Session,
        backend: Backend,
        save: Callable[[Session], object],
        planned_model: Callable[[], str] = lambda: "default",
    ) -> None:
        self.session = session
        self.backend = backend
        self._save = save
        self._planned_model = planned_model
        self.model_info: ModelInfo | None = None
        self.reply: ReplyInFlight | None = None
        self.editing: Message | None = None  # a user message being rewritten
        self.deleted = False  # deleted in the session browser: never saved again

    # ---- state ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A reply is asked for (generating, or waiting for the model)."""
        return self.reply is not None

    @property
    def generating(self) -> bool:
        return self.reply is not None and self.reply.started

    def model_ref(self) -> ModelRef:
        if self.model_info is None:
            return ModelRef(id=self._planned_model() or "default")
        return model_ref(self.model_info)

    def is_last(self, message: Message) -> bool:
        return bool(self.session.messages) and self.session.messages[-1] is message

    # ---- saving --------------------------------------------------------------------------

    def save(self, saver: Callable[[Session], object] | None = None) -> object:
        """Hand the session to the saver (`saver` for this once: a synchronous save on the way
        out); an empty chat is not worth a file, a deleted one must stay deleted."""
        if not self.session.messages or self.deleted:
            return None
        self.session.model = self.model_ref()
        self.session.touch()
        return (saver or self._save)(self.session)

    def mark_interrupted(self) -> None:
        """Before a save on the way out: a reply still streaming was stopped by the exit."""
        if self.reply is not None and self.reply.message.stats:
            if self.reply.message.stats.stop_reason == "streaming":
                self.reply.message.stats.stop_reason = "cancelled"

    # ---- the user's actions --------------------------------------------------------------

    def _refuse_while_busy(self) -> None:
        if self.busy:
            raise ChatRefused("A reply is still on its way: Esc stops it.")

    def send(self, text: str) -> tuple[Message, bool]:
        """Add the user's message (after an edit, in place of the edited one and what followed
        it) and save. Returns (the message, whether earlier turns were cut by an edit)."""
        self._refuse_while_busy()
        rewound = False
        edited, self.editing = self.editing, None
        if edited is not None and edited in self.session.messages:
            del self.session.messages[self.session.messages.index(edited) :]
            rewound = True
        user = Message("user", text)
        self.session.messages.append(user)
        self.session.ensure_title()
        self.save()  # what the user typed is on disk before any generation starts
        return user, rewound

    def begin_edit(self, message: Message) -> int:
        """Start rewriting one of the user's messages; returns how many messages follow it
        (sending drops them)."""
        if message.role != "user":
            raise ChatRefused("Only your own messages can be edited.")
        self.editing = message
        return len(self.session.messages) - self.session.messages.index(message) - 1

    def cancel_edit(self) -> bool:
        """Leave edit mode; True when there was an edit to cancel."""
        was, self.editing = self.editing is not None, None
        return was

    def regenerate(self, message: Message) -> ReplyInFlight:
        """Replace the last reply with a new one (the old message leaves the session)."""
        self._refuse_while_busy()
        if message.role != "assistant" or not self.is_last(message):
            raise ChatRefused(
                "Only the last reply can be regenerated. To redo an earlier turn, edit your "
                "message (e) and resend it."
            )
        self.session.messages.pop()
        return self.start_reply()

    def continue_reply(self, message: Message) -> ReplyInFlight:
        """Carry on the last reply where it stopped early."""
        self._refuse_while_busy()
        if message.role != "assistant" or not self.is_last(message):
            raise ChatRefused("Only the last reply can be continued.")
        if message.stats is not None and message.stats.stop_reason not in CONTINUABLE:
            raise ChatRefused(
                "This reply finished on its own; nothing to continue.", severity="information"
            )
        if not self.backend.capabilities.continue_reply:  # e.g. transformers serve
            raise ChatRefused(
                "This engine cannot carry on a stopped reply (it always starts a new one): "
                "regenerate it (r) instead."
            )
        return self.start_reply(carry_on=message)

    def delete(self, message: Message) -> None:
        """Remove one message from the chat and its file."""
        self._refuse_while_busy()
        if message in self.session.messages:
            self.session.messages.remove(message)
            self.save()

    # ---- the reply -----------------------------------------------------------------------

    def start_reply(self, carry_on: Message | None = None) -> ReplyInFlight:
        """Ask for a reply to the chat so far (or carry on `carry_on`); it waits for the model
        until `launch` starts it."""
        prompt = self.session.chat_messages()
        if carry_on is None:
            message = Message("assistant", "", stats=ReplyStats(stop_reason="streaming"))
            message.model = self.model_ref()
            self.session.messages.append(message)
            self.reply = ReplyInFlight(message, prompt)
        else:
            before = carry_on.stats.new_tokens if carry_on.stats else 0
            carry_on.stats = ReplyStats(stop_reason="streaming")
            carry_on.error = None
            self.reply = ReplyInFlight(carry_on, prompt, carry_on=True, tokens_before=before)
        return self.reply

    def launch(self) -> ReplyInFlight:
        """The model is ready: the waiting reply starts (it gets its cancel event)."""
        assert self.reply is not None, "no reply is waiting"
        self.reply.message.model = self.model_ref()
        self.reply.cancel = threading.Event()
        return self.reply

    def open_stream(self, reply: ReplyInFlight) -> tuple[Reply, int]:
        """Blocking (a worker thread): fit the prompt to the context and start the backend's
        stream. Returns (the stream, how many messages were left out). Raises EngineError."""
        assert reply.cancel is not None, "launch() the reply first"
        info = self.model_info
        settings = self.session.settings
        messages, dropped = fit_to_context(
            reply.prompt,
            self.backend.count_tokens,
            info.context_length if info else None,
            settings.max_new_tokens,
        )
        stream = self.backend.stream(messages, settings, reply.cancel, reply.carry_on)
        return stream, dropped

    def withdraw(self) -> None:
        """Take back a new reply that could not start (its prompt does not fit the context):
        nothing was written, so no empty reply stays in the chat."""
        reply, self.reply = self.reply, None
        if reply is not None and not reply.carry_on and reply.message in self.session.messages:
            self.session.messages.remove(reply.message)

    def add_text(self, text: str) -> None:
        if self.reply is not None:
            self.reply.message.content += text

    def stop(self) -> str | None:
        """Esc: "stopping" (generation told to stop), "dropped" (a reply that was still
        waiting for the model is given up; the caller ends it), or None (nothing to stop)."""
        if self.reply is None:
            return None
        if self.reply.cancel is not None:
            self.reply.cancel.set()
            return "stopping"
        return "dropped"

    def finish(self, stats: ReplyStats, error: str | None) -> Message | None:
        """Record how the reply ended and save. Returns its message (None if none was open)."""
        reply, self.reply = self.reply, None
        if reply is None:
            return None
        if reply.carry_on:
            stats.new_tokens += reply.tokens_before  # the reply counts all its tokens
        reply.message.stats = stats
        reply.message.error = error
        self.save()
        return reply.message

    def prompt_to_inspect(self, draft: str = "") -> list[ChatMessage]:
        """What the next prompt holds: the reply in flight's, else the chat plus the draft."""
        if self.reply is not None:
            return list(self.reply.prompt)
        messages = self.session.chat_messages()
        if draft.strip():
            messages.append({"role": "user", "content": draft})
        return messages
