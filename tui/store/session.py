"""The session model: what a chat is, independent of how it is shown or stored.

Plain dataclasses so the engine, the UI and the persistence layer share one vocabulary.
Conversion to and from plain dicts lives in `codec.py`; files live in `files.py`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone

FORMAT_VERSION = 3

Role = str  # "system" | "user" | "assistant"
ROLES = ("system", "user", "assistant")

# Why a reply ended. "streaming" marks a reply saved while it was still being written: after a
# crash, the file says so instead of pretending the reply was complete.
STOP_REASONS = ("end_of_turn", "length", "cancelled", "error", "streaming")
STOP_LABELS = {
    "cancelled": "stopped by you",
    "length": "stopped at the length limit",
    "error": "failed",
    "streaming": "interrupted (saved while streaming)",
}


def now_iso() -> str:
    """UTC time to the second with an explicit offset, e.g. 2026-11-25T20:45:53+00:00."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def new_session_id() -> str:
    """Sortable by creation time, short, and safe as a file name: 20261125-204553-3f9a1c."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass
class GenerationSettings:
    """Sampling settings for one session; saved with it so a resumed chat behaves the same."""

    max_new_tokens: int = 512
    do_sample: bool = True
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.1
    seed: int | None = None
    # A reasoning model's thinking switch, handed to its chat template: None is the model's
    # own default (most think unless told not to).
    thinking: bool | None = None


@dataclass
class ModelRef:
    """Which model (and how it was loaded) produced a session or a reply."""

    id: str = ""
    revision: str | None = None
    dtype: str | None = None
    quantization: str | None = None
    device: str | None = None
    # Format 2: the engine that served it. None is the local Transformers engine; a remote
    # one records its server's URL (never a key or other credential).
    backend: str | None = None
    endpoint: str | None = None


@dataclass
class ReplyStats:
    """Figures for one assistant reply, shown in the status line and kept in the session."""

    prompt_tokens: int = 0
    new_tokens: int = 0
    ttft_s: float | None = None  # time to first token: prompt processing + first decode step
    decode_tps: float | None = None  # tokens/s after the first token
    total_s: float = 0.0
    stop_reason: str = "end_of_turn"
    # Assisted generation only: the share of drafted tokens the model accepted (0..1).
    accepted_rate: float | None = None
    # Reasoning models: how many of `new_tokens` were thinking, and how long it took.
    thinking_tokens: int | None = None
    thinking_s: float | None = None

    def describe(self) -> str:
        """One line for people: 'stopped by you · 42 tokens · 13.9 tok/s · first token 0.20 s'.
        The conversation and the Markdown export both use it."""
        bits = [f"{self.new_tokens} tokens"]
        if self.thinking_tokens:
            answer = max(self.new_tokens - self.thinking_tokens, 0)
            bits = [f"{self.thinking_tokens} thinking + {answer} answer tokens"]
        if self.decode_tps:
            bits.append(f"{self.decode_tps:.1f} tok/s")
        if self.ttft_s is not None:
            bits.append(f"first token {self.ttft_s:.2f} s")
        if self.accepted_rate is not None:
            bits.append(f"draft accepted {self.accepted_rate:.0%}")
        if self.stop_reason in STOP_LABELS:
            bits.insert(0, STOP_LABELS[self.stop_reason])
        return " · ".join(bits)


@dataclass
class Message:
    """One turn. Assistant messages carry the stats and model that produced them."""

    role: Role
    content: str
    created: str = field(default_factory=now_iso)
    stats: ReplyStats | None = None
    model: ModelRef | None = None
    error: str | None = None  # set when generation failed; the partial content stays
    # Format 2: a reasoning model's thinking, kept apart from the answer in `content`.
    thinking: str | None = None
    # Format 3, the chat as a tree (tree.py): an id where a branch refers to the message ("" in
    # a linear chat), the parent of a message off the path shown (None: a first message; on
    # the path a message follows the one before it), and the settings a reply was written with
    # (None: the session's).
    id: str = ""
    parent: str | None = None
    settings: GenerationSettings | None = None

    @property
    def stopped(self) -> bool:
        return self.stats is not None and self.stats.stop_reason == "cancelled"


@dataclass
class Session:
    """A whole chat: the unit that is saved, listed, resumed."""

    id: str = field(default_factory=new_session_id)
    title: str = ""
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)
    model: ModelRef = field(default_factory=ModelRef)
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    system_prompt: str = ""
    messages: list[Message] = field(default_factory=list)  # the path shown, oldest first
    format_version: int = FORMAT_VERSION
    # The settings this chat chose itself (F5); the others follow the model's own defaults and
    # the config file (tui/chat/sampling.py). None: every setting is kept as it is (a file
    # from before this was recorded, a session built with settings in code); a new chat in
    # the app or `-p` starts with [].
    settings_chosen: list[str] | None = None
    # Format 3: every message not on the path shown (other versions and the turns after them),
    # each naming its parent; the most recently shown last (tree.py).
    branches: list[Message] = field(default_factory=list)

    def chat_messages(self) -> list[dict[str, str]]:
        """The conversation as the `messages` list a chat template takes, system prompt first."""
        out: list[dict[str, str]] = []
        if self.system_prompt:
            out.append({"role": "system", "content": self.system_prompt})
        for m in self.messages:
            if m.role == "system" or not m.content and m.role == "assistant":
                continue
            out.append({"role": m.role, "content": m.content})
        return out

    def touch(self) -> None:
        self.updated = now_iso()

    def ensure_title(self) -> None:
        """Title from the first user message, like peers do, until the user renames it."""
        if self.title:
            return
        for m in self.messages:
            if m.role == "user" and m.content.strip():
                line = " ".join(m.content.split())
                self.title = line[:60] + ("…" if len(line) > 60 else "")
                return
