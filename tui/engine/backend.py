"""The interface the UI talks to: load a model, stream a reply, cancel it, report figures.

The UI depends on this and nothing in torch. Tests swap in `FakeBackend`; the real one is
`TransformersBackend`; a remote (OpenAI-compatible) backend can arrive later behind the same
methods. All methods may block: the app calls them from thread workers.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tui.store.session import GenerationSettings, ReplyStats

# progress(message, fraction or None) while loading: shown in the status line.
ProgressFn = Callable[[str, "float | None"], object]


class EngineError(Exception):
    """A failure the user can act on. `hint` says what to try; the app shows both."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


@dataclass(frozen=True)
class LoadSpec:
    """What to load and how. `model` is an HF id, a local folder, a .gguf file, or "" (default)."""

    model: str = ""
    dtype: str = "auto"  # auto | bf16 | fp16 | fp32
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    quantize: str | None = None  # None | "8bit" | "4bit"
    trust_remote_code: bool = False
    attn_implementation: str | None = None  # None (auto) | "sdpa" | "eager" | ...
    # Assisted generation: a draft model (id or path, as `model`) or "prompt-lookup".
    draft: str | None = None


@dataclass
class ModelInfo:
    """What actually got loaded, for the status line and the session file."""

    id: str
    name: str
    device: str
    dtype: str
    quantization: str | None = None
    revision: str | None = None
    context_length: int | None = None
    parameters: int | None = None
    template_note: str | None = None  # set when a fallback chat template is in use
    quantization_note: str | None = None  # e.g. layers 4-bit kept unquantized on this CPU
    draft: str | None = None  # the draft model's name, or "prompt lookup"
    draft_note: str | None = None  # e.g. the MoE warning for assisted generation
    load_s: float = 0.0


@dataclass
class Reply:
    """A reply being generated: iterate for text deltas; `stats` is final once iteration ends.

    The iterator ends on end of turn, length limit, cancellation or error; on error
    `stats.stop_reason == "error"` and `error` holds the message. The text produced so far is
    always kept by the caller, so nothing is lost.
    """

    chunks: Iterator[str]
    stats: ReplyStats = field(default_factory=ReplyStats)
    error: str | None = None

    def __iter__(self) -> Iterator[str]:
        return self.chunks


class Backend(ABC):
    """A chat model the app can load and stream from."""

    info: ModelInfo | None = None

    @abstractmethod
    def load(self, spec: LoadSpec, progress: ProgressFn | None = None) -> ModelInfo:
        """Load (blocking). Raises EngineError with a hint for anything the user can fix."""

    @abstractmethod
    def stream(
        self,
        messages: list[dict[str, str]],
        settings: GenerationSettings,
        cancel: threading.Event,
        continue_final: bool = False,
    ) -> Reply:
        """Start a reply to `messages` (chat-template format). Setting `cancel` stops it
        between tokens; the reply then ends with stop_reason "cancelled". With
        `continue_final`, the last message is an unfinished assistant reply to carry on."""

    @abstractmethod
    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        """Prompt length in tokens once the chat template is applied."""

    def speed_path(self) -> str:
        """A word or two on how the latest reply is being generated ("compiled", or
        "compiling": plain while the fast path compiles), for the gauges; empty when there is
        nothing to say."""
        return ""

    def unload(self) -> None:
        """Release the model and its memory."""
        self.info = None
