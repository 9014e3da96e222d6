"""What to send when a chat outgrows the model's context window.

Policy (the README quotes it):

- The prompt sent to the model is the system prompt plus the conversation. When its length in
  tokens plus the room kept for the reply (`max_new_tokens`) would exceed the model's context
  length, the **oldest turns are left out of the prompt**, a whole turn at a time (a user
  message together with the replies that followed it), until it fits.
- The **system prompt is always kept**, and so is the **last user message** (the one being
  answered) with anything after it.
- If even the system prompt plus the last message do not fit, nothing is sent: an `EngineError`
  says how many tokens were needed and what to shorten.
- Nothing is deleted: the saved session keeps every message; only this one prompt is shorter.
  The app tells the user how many messages were left out.

Token counts come from the caller (`Backend.count_tokens`, which applies the chat template),
so the check is exact for the model in use. Counting is the slow part (one template render and
tokenization per call), so the cut is found by bisection: about log2(turns) counts, not one per
dropped turn. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tui.engine.backend import EngineError

ChatMessage = dict[str, str]


def _turns(messages: Sequence[ChatMessage]) -> list[list[ChatMessage]]:
    """Split into turns, each starting at a user message; anything before the first user
    message (an assistant greeting) rides with the first turn."""
    turns: list[list[ChatMessage]] = []
    for m in messages:
        if m["role"] == "user" or not turns:
            turns.append([m])
        else:
            turns[-1].append(m)
    return turns


def fit_to_context(
    messages: Sequence[ChatMessage],
    count_tokens: Callable[[list[ChatMessage]], int],
    limit: int | None,
    reserve: int = 0,
) -> tuple[list[ChatMessage], int]:
    """`messages` cut to fit `limit` tokens with `reserve` left for the reply.

    Returns (the messages to send, how many messages were left out). `limit` None (unknown
    context length) sends everything. Raises EngineError when the system prompt and the last
    turn alone do not fit.
    """
    messages = list(messages)
    if not limit or limit <= 0:
        return messages, 0
    budget = limit - max(reserve, 0)

    def fits(candidate: list[ChatMessage]) -> bool:
        return count_tokens(candidate) <= budget

    if fits(messages):
        return messages, 0
    head = messages[:1] if messages and messages[0]["role"] == "system" else []
    turns = _turns(messages[len(head) :])
    if len(turns) <= 1:
        raise _too_long(count_tokens(messages), reserve, limit)

    def keep_from(k: int) -> list[ChatMessage]:
        return head + [m for turn in turns[k:] for m in turn]

    last = len(turns) - 1
    if not fits(keep_from(last)):
        raise _too_long(count_tokens(keep_from(last)), reserve, limit)
    # Invariant: keeping turns[lo:] does not fit, keeping turns[hi:] does.
    lo, hi = 0, last
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(keep_from(mid)):
            hi = mid
        else:
            lo = mid
    kept = keep_from(hi)
    return kept, len(messages) - len(kept)


def _too_long(tokens: int, reserve: int, limit: int) -> EngineError:
    return EngineError(
        f"The last message does not fit in the model's context: {tokens:,} tokens of prompt "
        f"+ {reserve:,} kept for the reply > {limit:,}.",
        "Shorten the message or the system prompt, or lower max_new_tokens in the settings.",
    )


def dropped_note(dropped: int) -> str:
    """What the app shows when older messages were left out of a prompt."""
    if dropped <= 0:
        return ""
    noun = "message was" if dropped == 1 else "messages were"
    return (
        f"The chat is longer than the model's context: the {dropped} oldest {noun} left out "
        "of this prompt (they stay in the saved chat)."
    )
