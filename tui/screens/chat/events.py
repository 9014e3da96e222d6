"""What the chat screen's workers report: Textual messages, past tense, plain data, safe to
post from a thread.

`post_message` is thread-safe, so worker threads use it instead of touching widgets. Named
events, not messages, so "message" keeps meaning a turn of the chat (`tui.store.session`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from tui.engine.backend import Backend, LoadSpec, ModelInfo
from tui.store.session import ReplyStats

if TYPE_CHECKING:
    from tui.models.download import DownloadPlan
    from tui.models.download_progress import DownloadProgress
    from tui.widgets.model_estimate import Target


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


@dataclass
class ReplyHandled(Message):
    """The screen has shown, recorded and saved a reply's end (benches wait on this)."""

    stats: ReplyStats


@dataclass
class DownloadPlanned(Message):
    plan: DownloadPlan
    spec: LoadSpec
    target: Target
    chosen: str | None


@dataclass
class DownloadProgressed(Message):
    progress: DownloadProgress


@dataclass
class DownloadEnded(Message):
    """The download is over: `outcome` "done", "cancelled" or "failed" (with error, hint)."""

    spec: LoadSpec
    outcome: str
    error: str = ""
    hint: str = ""
