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
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tui.chat import prompt as prompts
from tui.chat.branching import BranchActions
from tui.chat.context import fit_to_context
from tui.chat.reasoning import make_parser, split_reply
from tui.chat.refused import ChatRefused
from tui.chat.reply import ChatMessage, ReplyInFlight
from tui.chat.sampling import Sampling
from tui.engine.backend import Backend, ModelInfo, Reply, Thinking
from tui.engine.chat_format import ChatFormat
from tui.engine.tokens import TokenStep
from tui.store import tree
from tui.store.session import GenerationSettings, Message, ModelRef, ReplyStats, Session

__all__ = ["CONTINUABLE", "Chat", "ChatRefused", "model_ref"]

# A reply that stopped early can be carried on: length limit, Esc, an interrupted save, or a
# failure part-way (a server that went away mid-reply: carry on once it is back).
CONTINUABLE = ("length", "cancelled", "streaming", "error")


def ran_out_while_thinking(message: Message) -> bool:
    """The reply used up max_new_tokens (which covers thinking and answer) before its answer
    began: worth saying, and `+` continues it."""
    stats = message.stats
    return (
        stats is not None
        and stats.stop_reason == "length"
        and bool(message.thinking)
        and not message.content.strip()
    )


THINKING_BUDGET_NOTE = (
    "Out of tokens while thinking: max_new_tokens covers the thinking and the answer. "
    "Press + on the reply to continue it, or raise Max new tokens (F5)."
)


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


class Chat(BranchActions):
    """A session being chatted in, with the backend that answers it.

    `save(session)` is how the chat is persisted (the app's autosaver, or the one-shot mode's
    synchronous store); `planned_model()` names the model about to be loaded, recorded on
    messages written before one is. `config_settings` is the config file's [generation]: with
    the model's own defaults, it gives the settings this chat did not choose (sampling.py)."""

    def __init__(
        self,
        session: Session,
        backend: Backend,
        save: Callable[[Session], object],
        planned_model: Callable[[], str] = lambda: "default",
        config_settings: dict[str, Any] | None = None,
    ) -> None:
        tree.pin_settings(session)  # before anything changes the session's settings
        self.session = session
        self.backend = backend
        self.traces: dict[str, list[TokenStep]] = {}  # token alternatives (branching.py)
        self._save = save
        self._planned_model = planned_model
        self.sampling = Sampling(session, config_settings)
        self._model_info: ModelInfo | None = None
        backend.use_thinking(session.settings.thinking)
        self.reply: ReplyInFlight | None = None
        self.editing: Message | None = None  # a user message being rewritten
        self.deleted = False  # deleted in the session browser: never saved again

    # ---- state ---------------------------------------------------------------------------

    @property
    def model_info(self) -> ModelInfo | None:
        return self._model_info

    @model_info.setter
    def model_info(self, info: ModelInfo | None) -> None:
        """The model answering this chat: its own defaults fill what the chat did not set."""
        changed = info is not None and info is not self._model_info
        self._model_info = info
        if changed and info is not None:
            self.sampling.use_model(info.generation_defaults)
            self.backend.use_thinking(self.session.settings.thinking)

    @property
    def chat_format(self) -> ChatFormat | None:
        return self._model_info.chat_format if self._model_info else None

    def choose_settings(self, settings: GenerationSettings) -> None:
        """The user's settings for this chat (F5); see sampling.py for what becomes its own."""
        self.sampling.choose(settings)
        self.backend.use_thinking(self.session.settings.thinking)

    def set_thinking(self, on: bool | None) -> None:
        """The chat's thinking switch (None: the model's default), from the next prompt on."""
        self.session.settings.thinking = on
        if self.session.settings_chosen is not None:
            chosen = set(self.session.settings_chosen) - {"thinking"}
            self.session.settings_chosen = sorted(
                chosen | ({"thinking"} if on is not None else set())
            )
        self.backend.use_thinking(on)
        self.save()

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
        """Add the user's message (after an edit, as a new version of the edited one: the old
        one and what followed it stay as a branch, tree.py) and save. Returns (the message,
        whether the path shown changed before it)."""
        self._refuse_while_busy()
        rewound = False
        edited, self.editing = self.editing, None
        if edited is not None and any(m is edited for m in self.session.messages):
            tree.cut(self.session, tree.index_of(self.session, edited))
            rewound = True
        user = Message("user", text)
        self.session.messages.append(user)
        self.session.ensure_title()
        self.save()  # what the user typed is on disk before any generation starts
        return user, rewound

    def begin_edit(self, message: Message) -> int:
        """Start rewriting one of the user's messages; returns how many messages follow it
        (sending makes a new version: they stay with the old one)."""
        if message.role != "user":
            raise ChatRefused("Only your own messages can be edited.")
        self.editing = message
        return len(self.session.messages) - self.session.messages.index(message) - 1

    def cancel_edit(self) -> bool:
        """Leave edit mode; True when there was an edit to cancel."""
        was, self.editing = self.editing is not None, None
        return was

    def regenerate(self, message: Message) -> ReplyInFlight:
        """A new version of reply `message` (with the settings and model in use now); the old
        one and the turns after it stay as a branch (tree.py)."""
        self._refuse_while_busy()
        if message.role != "assistant":
            raise ChatRefused("Only replies can be regenerated: edit your message (e) instead.")
        tree.cut(self.session, tree.index_of(self.session, message))
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

    # ---- the reply -----------------------------------------------------------------------

    def start_reply(self, carry_on: Message | None = None) -> ReplyInFlight:
        """Ask for a reply to the chat so far (or carry on `carry_on`); it waits for the model
        until `launch` starts it."""
        if carry_on is None:
            message = Message("assistant", "", stats=ReplyStats(stop_reason="streaming"))
            message.model = self.model_ref()
            self.reply = ReplyInFlight(message, self.prompt_messages())
            self.session.messages.append(message)
        else:
            stats = carry_on.stats or ReplyStats()
            carry_on.stats = ReplyStats(stop_reason="streaming")
            carry_on.error = None
            self.reply = ReplyInFlight(
                carry_on,
                self._carried_prompt(carry_on),
                carry_on=True,
                tokens_before=stats.new_tokens,
                thinking_before=(stats.thinking_tokens or 0, stats.thinking_s or 0.0),
            )
        return self.reply

    def prompt_messages(self) -> list[ChatMessage]:
        """The chat so far as the model's template takes it (earlier thinking where the
        template reads it, prompt.py)."""
        return prompts.history(self.session, self.chat_format)

    def _carried_prompt(self, message: Message) -> list[ChatMessage]:
        fmt = self.chat_format
        return [*prompts.history(self.session, fmt, upto=message), prompts.carried(message, fmt)]

    def launch(self) -> ReplyInFlight:
        """The model is ready: the waiting reply starts (it gets its cancel event)."""
        assert self.reply is not None, "no reply is waiting"
        reply = self.reply
        reply.message.model = self.model_ref()
        reply.message.settings = replace(self.session.settings)  # what wrote this reply
        # Built again now the model is known: its template decides how thinking is sent.
        if reply.carry_on:
            reply.prompt = self._carried_prompt(reply.message)
        else:
            reply.prompt = prompts.history(self.session, self.chat_format, upto=reply.message)
        reply.cancel = threading.Event()
        return reply

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
        self.backend.use_thinking(settings.thinking)
        started = time.perf_counter()
        stream = self.backend.stream(messages, settings, reply.cancel, reply.carry_on)
        reply.stream = stream  # its token steps, if the backend records them (finish)
        message = reply.message
        tail = ""
        fmt = self.chat_format
        if not reply.carry_on and fmt is not None and fmt.reasoning == "tags":
            # Does the prompt open <think> (DeepSeek-R1)? Its rendered tail says; only asked
            # of templates that think, so other models pay no second render.
            try:
                tail = self.backend.render_prompt(messages)[-200:]
            except Exception:  # noqa: BLE001 - then the reply is read as starting outside
                tail = ""
        reply.parser = make_parser(
            fmt,
            tail,
            carried_thinking=reply.carry_on and bool(message.thinking) and not message.content,
            carried_answer=reply.carry_on and bool(message.content),
        )
        stream.chunks = split_reply(stream.chunks, reply.parser, stream.stats, started)
        return stream, dropped

    def withdraw(self) -> None:
        """Take back a new reply that could not start (its prompt does not fit the context):
        nothing was written, so no empty reply stays in the chat."""
        reply, self.reply = self.reply, None
        if reply is not None and not reply.carry_on and self.is_last(reply.message):
            self.session.messages.pop()
            tree.extend(self.session)  # a regenerated reply's old version is shown again

    def add_text(self, text: str) -> None:
        """A piece of the reply: its answer, or (a `Thinking`) its thinking."""
        if self.reply is None:
            return
        message = self.reply.message
        if isinstance(text, Thinking):
            message.thinking = (message.thinking or "") + text
        else:
            message.content += text

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
            tokens, seconds = reply.thinking_before
            if tokens or stats.thinking_tokens:
                stats.thinking_tokens = tokens + (stats.thinking_tokens or 0)
                stats.thinking_s = seconds + (stats.thinking_s or 0.0)
        reply.message.stats = stats
        reply.message.error = error
        self.keep_trace(reply, reply.stream.tokens if reply.stream is not None else None)
        self.save()
        return reply.message

    def prompt_to_inspect(self, draft: str = "") -> list[ChatMessage]:
        """What the next prompt holds: the reply in flight's, else the chat plus the draft."""
        if self.reply is not None:
            return list(self.reply.prompt)
        messages = self.prompt_messages()
        if draft.strip():
            messages.append({"role": "user", "content": draft})
        return messages
