"""The context-window policy: oldest whole turns go first; system prompt and last turn stay."""

from __future__ import annotations

import pytest

from tui.chat.context import dropped_note, fit_to_context
from tui.engine.backend import EngineError

SYSTEM = {"role": "system", "content": "sys"}


def turn(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]


def chat(turns: int, system: bool = True) -> list[dict[str, str]]:
    messages = [SYSTEM] if system else []
    for i in range(turns):
        messages += turn(i)
    return messages + [{"role": "user", "content": "last question"}]


class Counter:
    """10 tokens per message, and a log of how often the (slow) counter was called."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, messages: list[dict[str, str]]) -> int:
        self.calls += 1
        return 10 * len(messages)


def test_a_chat_that_fits_is_sent_whole_with_one_count() -> None:
    count = Counter()
    kept, dropped = fit_to_context(chat(3), count, limit=200, reserve=50)
    assert kept == chat(3) and dropped == 0
    assert count.calls == 1


def test_oldest_turns_are_dropped_whole_keeping_system_and_last_question() -> None:
    messages = chat(5)  # 1 + 10 + 1 = 12 messages = 120 tokens
    kept, dropped = fit_to_context(messages, Counter(), limit=100, reserve=30)  # room for 7
    assert kept[0] == SYSTEM
    assert kept[-1]["content"] == "last question"
    assert kept == [SYSTEM, *turn(3), *turn(4), messages[-1]]
    assert dropped == 6
    assert kept[1]["role"] == "user"  # never starts with an orphaned reply


def test_bisection_keeps_the_counting_cheap_for_long_chats() -> None:
    count = Counter()
    kept, dropped = fit_to_context(chat(500), count, limit=400, reserve=0)
    assert len(kept) <= 40 and dropped == len(chat(500)) - len(kept)
    assert count.calls <= 12


def test_without_a_system_prompt_dropping_starts_at_the_first_message() -> None:
    kept, dropped = fit_to_context(chat(3, system=False), Counter(), limit=30, reserve=0)
    assert kept == [*turn(2), {"role": "user", "content": "last question"}] and dropped == 4


def test_when_even_the_last_message_does_not_fit_a_clear_error_is_raised() -> None:
    with pytest.raises(EngineError) as err:
        fit_to_context(chat(2), Counter(), limit=40, reserve=25)
    text = str(err.value)
    assert "does not fit" in text and "25 kept for the reply" in text
    assert "max_new_tokens" in text
    with pytest.raises(EngineError):
        fit_to_context([SYSTEM, {"role": "user", "content": "x"}], Counter(), 15, 0)


def test_unknown_context_length_sends_everything() -> None:
    kept, dropped = fit_to_context(chat(50), Counter(), limit=None, reserve=512)
    assert kept == chat(50) and dropped == 0


def test_the_note_says_how_many_and_that_they_are_still_saved() -> None:
    assert dropped_note(0) == ""
    assert "the 4 oldest messages were left out" in dropped_note(4)
    assert "saved chat" in dropped_note(1) and "message was" in dropped_note(1)
