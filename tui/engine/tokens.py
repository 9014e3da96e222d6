"""What the model might have said instead: each generated token with its probability and the
most likely alternatives at that step. The data shape every backend fills the same way.

A backend that can (capability `token_alternatives`) fills `Reply.tokens` with one
`TokenStep` per generated token, in order, once asked to with `Backend.keep_alternatives(n)`:
the local engine records them as it generates (token_probs.py); a remote OpenAI-compatible
server returns them when a request says `logprobs: true, top_logprobs: n`, one entry of
`choices[0].logprobs.content` per token, which `step_from_openai` turns into a step.

Probabilities are the model's own at each step (natural log in `logprob`): for the local
engine after the repetition penalty, before temperature, top-k and top-p; a server reports
its own. No torch here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Below this probability a token is marked as unlikely in the token inspector.
UNLIKELY = 0.1


@dataclass(frozen=True)
class TokenChoice:
    """One token: its text as it reads in the reply, and its log probability."""

    text: str
    logprob: float
    token_id: int | None = None  # the local engine's id; None from a server
    special: bool = False  # an end-of-turn or other special token (its text is its name)

    @property
    def probability(self) -> float:
        return math.exp(self.logprob) if self.logprob > -700 else 0.0


@dataclass(frozen=True)
class TokenStep:
    """A generated token and the likeliest tokens at that step, most likely first (the chosen
    token is among them unless it was less likely than all of them)."""

    chosen: TokenChoice
    alternatives: tuple[TokenChoice, ...] = ()

    @property
    def unlikely(self) -> bool:
        return self.chosen.probability < UNLIKELY


def _logprob(value: Any) -> float:
    """A server's logprob as a finite float (-inf, null and junk read as "never")."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return -1e9
    return x if math.isfinite(x) else -1e9


def step_from_openai(entry: dict[str, Any]) -> TokenStep:
    """One entry of an OpenAI-style `choices[0].logprobs.content` list, e.g.
    `{"token": " Paris", "logprob": -0.02, "top_logprobs": [{"token": " Paris",
    "logprob": -0.02}, {"token": " Lyon", "logprob": -4.1}]}` (vLLM, SGLang, llama-server)."""
    chosen = TokenChoice(str(entry.get("token", "")), _logprob(entry.get("logprob")))
    top = entry.get("top_logprobs") or []
    alternatives = tuple(
        TokenChoice(str(t.get("token", "")), _logprob(t.get("logprob")))
        for t in top
        if isinstance(t, dict)
    )
    return TokenStep(chosen, tuple(sorted(alternatives, key=lambda c: -c.logprob)))


def text_of(steps: list[TokenStep]) -> str:
    """The reply text the steps spell (special tokens read as nothing)."""
    return "".join(s.chosen.text for s in steps if not s.chosen.special)
