"""The pump hands a reply's text to the UI in batches, spaced by what batches cost the UI.

What a user notices: every character arrives, in order, even when the reply fails mid-way;
text comes a few times a second, not once per token; and on a slow machine (where each
update costs the UI thread more) the updates are spaced out so that drawing them does not eat
into decoding speed, while on a fast one they come often enough to look continuous.
"""

from __future__ import annotations

import time

import pytest

from tui.engine.backend import Reply
from tui.engine.pump import MAX_INTERVAL_S, MIN_INTERVAL_S, Pacer, pump
from tui.store.session import ReplyStats


def slow_reply(words: list[str], delay: float, fail_at: int | None = None) -> Reply:
    stats = ReplyStats()

    def chunks():  # noqa: ANN202
        for i, word in enumerate(words):
            if fail_at is not None and i == fail_at:
                raise RuntimeError("boom")
            time.sleep(delay)
            stats.new_tokens += 1
            yield word

    return Reply(chunks=chunks(), stats=stats)


def test_every_word_arrives_in_order_in_fewer_batches_than_words() -> None:
    words = [f"w{i} " for i in range(60)]
    batches: list[str] = []
    text = pump(slow_reply(words, 0.005), lambda t, *_: batches.append(t), Pacer.fixed(0.05))
    assert text == "".join(words) == "".join(batches)
    assert 2 <= len(batches) < len(words) / 3


def test_a_reply_that_fails_midway_still_hands_over_what_it_produced() -> None:
    batches: list[str] = []
    with pytest.raises(RuntimeError):
        pump(slow_reply(["a ", "b ", "c "], 0.0, fail_at=2), lambda t, *_: batches.append(t))
    assert "".join(batches) == "a b "


def test_the_pacer_spaces_batches_by_what_they_cost_the_ui() -> None:
    pacer = Pacer(budget=0.02)
    for _ in range(30):
        pacer.note(0.006)  # 6 ms of UI time per batch: 2% of the time is one batch per 0.3 s
    assert pacer.interval == pytest.approx(0.3, rel=0.01)
    for _ in range(30):
        pacer.note(0.0005)  # a fast machine: as often as still looks useful, no more
    assert pacer.interval == MIN_INTERVAL_S
    for _ in range(30):
        pacer.note(0.5)  # a stalled UI: never so rarely that text arrives in lumps
    assert pacer.interval == MAX_INTERVAL_S


def test_one_expensive_batch_does_not_throw_the_pace_off() -> None:
    pacer = Pacer(budget=0.02)
    for _ in range(30):
        pacer.note(0.004)
    settled = pacer.interval
    pacer.note(0.1)  # e.g. a code block mounted, or the user scrolled
    assert pacer.interval < MAX_INTERVAL_S
    for _ in range(10):
        pacer.note(0.004)
    assert pacer.interval == pytest.approx(settled, rel=0.05)


def test_the_pump_reads_the_pacers_interval_as_it_changes() -> None:
    pacer = Pacer.fixed(0.02)
    batches: list[str] = []

    def emit(text: str, *_: object) -> None:
        batches.append(text)
        pacer.interval = 10.0  # the UI found batches dear: the next one waits (here: the end)

    words = [f"w{i} " for i in range(40)]
    text = pump(slow_reply(words, 0.005), emit, pacer)
    assert text == "".join(words)
    assert len(batches) == 2  # the first batch, then only the final flush
