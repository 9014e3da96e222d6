"""The backend seam: load a model, stream a reply, cancel it, report figures.

The UI and the chat core depend on this and nothing in torch. Each backend declares what it can
do beyond loading and streaming in `capabilities`, and the UI asks that declaration, never
`hasattr`; the base class gives every optional method a default that says the engine cannot.
Backends are found by name in `tui/engine/registry.py` and imported only when chosen. All
methods may block: the app calls them from thread workers.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from tui.engine.chat_format import ChatFormat
from tui.engine.options import LoadOption
from tui.engine.tokens import TokenStep
from tui.errors import HintedError
from tui.store.session import GenerationSettings, ReplyStats

if TYPE_CHECKING:
    from tui.engine.endpoint import Endpoint
    from tui.hardware.server_metrics import ServerMetrics

# progress(message, fraction or None) while loading: shown in the status line.
ProgressFn = Callable[[str, "float | None"], object]


class EngineError(HintedError):
    """A failure the user can act on. `hint` says what to try; the app shows both."""


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
    # A model served by an OpenAI-compatible server (endpoint.py): `model` is then the served
    # model's name ("" the only or first one), and the remote backend loads it.
    endpoint: Endpoint | None = None


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
    # What the chat template does about thinking, system prompts and history (chat_format.py);
    # None where the engine cannot tell (a remote server: it separates the reasoning itself).
    chat_format: ChatFormat | None = None
    # The model's own sampling defaults (its generation_config.json), by GenerationSettings
    # name: a new chat takes them unless the user set those values (tui/chat/sampling.py).
    generation_defaults: dict[str, Any] = field(default_factory=dict)
    # A remote engine: its registry name, its URL (never a credential), the server ("vLLM
    # 0.32.0"), and what it does with the chat's settings that they do not say.
    backend: str | None = None
    endpoint: str | None = None
    server: str | None = None
    server_note: str | None = None


class Thinking(str):
    """A piece of a reply's reasoning, not its answer, where the engine already knows which is
    which (a server's `delta.reasoning` / `reasoning_content`). Plain `str` chunks are answer
    text, or text in which the chat core's reasoning parser finds the thinking by its tags."""

    __slots__ = ()


class Counted(str):
    """A piece of reply text that says how many tokens the reply had when it was decoded
    (`tokens`). The live `stats.new_tokens` runs ahead of the text a consumer has read (the
    streamer queues text); where thinking ends, the chat core counts by this instead."""

    tokens: int = 0

    @classmethod
    def of(cls, text: str, tokens: int) -> Counted:
        counted = cls(text)
        counted.tokens = tokens
        return counted


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
    # Capability `token_alternatives`, once asked (keep_alternatives): one step per generated
    # token, in order, complete when iteration ends (tokens.py). None: not recorded.
    tokens: list[TokenStep] | None = None

    def __iter__(self) -> Iterator[str]:
        return self.chunks

    def close(self) -> None:
        """End the reply early (after setting its cancel event): a generator is closed, so
        the engine's thread notices the cancel and is joined. Safe to call twice."""
        close = getattr(self.chunks, "close", None)  # a plain iterator has nothing to close
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - best effort while stopping
                pass


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond load, stream and count_tokens. The UI shows a feature only
    where its backend declares it."""

    drafts: bool = False  # set_draft(): swap the assisted-generation draft, model kept
    continue_reply: bool = False  # stream(continue_final=True) carries on a stopped reply
    exact_token_counts: bool = False  # count_tokens() is the model's tokenizer, no estimate
    prompt_text: bool = False  # render_prompt() and token_ids(), for the prompt inspector
    local_hardware: bool = True  # runs on this machine: its gauges show the engine's hardware
    compiled_path: bool = False  # speed_path() says when replies run compiled
    # keep_alternatives(): Reply.tokens holds each token's probability and the likeliest
    # alternatives (tokens.py), for the token inspector
    token_alternatives: bool = False
    # load() takes Hugging Face hub ids and reads them from the local HF cache: the app
    # downloads one that is not there first, with progress (tui/models/download.py).
    hub_models: bool = False


class Backend(ABC):
    """A chat model the app can load and stream from."""

    info: ModelInfo | None = None
    # A class default; a backend whose abilities depend on what it connects to (a remote
    # server) sets its own on the instance when it loads.
    capabilities: Capabilities = Capabilities()
    # How it can load a model (options.py): the CLI flags and picker rows are made from these.
    load_options: ClassVar[tuple[LoadOption, ...]] = ()

    @classmethod
    def create(cls, fast: str = "auto") -> Backend:
        """The backend a launch asks for by name (registry.py); `fast` is --fast's choice,
        for backends that have a compiled path."""
        return cls()

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

    def set_draft(
        self,
        draft: str | None,
        progress: ProgressFn | None = None,
        *,
        trust_remote_code: bool = False,
        attn_implementation: str | None = None,
    ) -> ModelInfo:
        """Attach a draft model, "prompt-lookup", or None to the loaded model (capability
        `drafts`)."""
        raise EngineError("This engine has no assisted generation.", "Pick no draft model.")

    def render_prompt(self, messages: list[dict[str, str]]) -> str:
        """The exact text the model receives (capability `prompt_text`)."""
        raise EngineError("This engine does not show its prompt text.")

    def token_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """The prompt's token ids (capability `prompt_text`)."""
        raise EngineError("This engine does not show its token ids.")

    def use_thinking(self, on: bool | None) -> None:
        """The open chat's thinking switch (None: the model's default), for every prompt from
        now on: streamed, counted, rendered. Engines that cannot switch ignore it."""
        return None

    def keep_alternatives(self, top: int) -> None:
        """From the next reply on, record each token's probability and its `top` likeliest
        alternatives in `Reply.tokens` (0: stop recording); capability `token_alternatives`.
        Engines that cannot ignore it."""
        return None

    def speed_path(self) -> str:
        """A word or two on how the latest reply is being generated ("compiled", or
        "compiling": plain while the fast path compiles), for the gauges; empty when there is
        nothing to say."""
        return ""

    def engine_status(self) -> str:
        """A line on the engine between replies, for the gauges: e.g. a compile's progress and
        the CPU threads in use ("compiling 40%: autotuning matmuls · 1 thread (measured)").
        Cheap (read about once a second); empty when there is nothing to say."""
        return ""

    def can_load(self, spec: LoadSpec) -> bool:
        """Whether this backend loads `spec`; the app makes the one that does (registry.py)
        when the user switches between a local model and a served one."""
        return spec.endpoint is None

    def server_metrics(self) -> ServerMetrics | None:
        """The serving engine's own figures (its /metrics), for the gauges; None for an
        engine that runs here (the gauges show this machine's hardware instead). Blocking."""
        return None

    def unload(self) -> None:
        """Release the model and its memory."""
        self.info = None
