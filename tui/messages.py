"""Messages the workers post to the app: past tense, plain data, safe to send from a thread.

`post_message` is thread-safe, so worker threads use it instead of touching widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.engine.backend import Backend, ModelInfo
from tui.store.session import ReplyStats


@dataclass
class ModelLoadProgressed(Message):
    """Loading moved on: `text` for the status line, `fraction` when known."""

    text: str
    fraction: float | None = None


@dataclass
class ModelLoaded(Message):
    info: ModelInfo
    # The engine that loaded it, when the load switched engines (a served model, and back).
    backend: Backend | None = None


@dataclass
class ModelLoadFailed(Message):
    error: str
    hint: str = ""


@dataclass
class ReplyStarted(Message):
    """Generation began on a prompt of `prompt_tokens` tokens."""

    prompt_tokens: int


@dataclass
class ReplyChunked(Message):
    """A batch of reply text, with the token count and timings so far."""

    text: str  # a `Thinking` when it is the reply's thinking
    new_tokens: int
    elapsed_s: float
    ttft_s: float | None
    thinking_tokens: int = 0  # how many of new_tokens were thinking


@dataclass
class ReplyFinished(Message):
    stats: ReplyStats
    error: str | None = None


@dataclass
class SessionSaved(Message):
    """Written to `path`; `copy_reason` is set when it went to a copy (see FORMAT.md)."""

    path: str
    copy_reason: str | None = None
    copied_from: str | None = None  # the id the chat had before it went to a copy


@dataclass
class SessionSaveFailed(Message):
    error: str
