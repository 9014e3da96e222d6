"""Cutting a streaming reply into Markdown segments never changes what it means."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui.widgets.segments import find_cut, in_fence

PARA = "A paragraph of plain words that goes on for a while.\n\n"


def test_no_cut_before_the_segment_is_long_enough() -> None:
    assert find_cut("", PARA * 3, min_chars=1000) is None


def test_cut_at_a_blank_line_once_long_enough() -> None:
    segment = PARA * 30
    cut = find_cut(segment, "Next paragraph.\n\nAnd more.", min_chars=1000)
    assert cut == 0  # the segment already ends with a blank line: the next block starts anew


def test_no_cut_inside_a_code_fence() -> None:
    segment = PARA * 30 + "```python\nx = 1\n\n"
    assert in_fence(segment)
    assert find_cut(segment, "y = 2\n\nz = 3\n", min_chars=1000) is None
    closed = segment + "y = 2\n```\n\n"
    assert not in_fence(closed)
    assert find_cut(closed, "After the code.", min_chars=1000) == 0


def test_no_cut_before_an_indented_continuation() -> None:
    segment = PARA * 30 + "- item one\n\n"
    assert find_cut(segment, "    still item one\n", min_chars=1000) is None


def test_waits_for_the_next_block_to_arrive() -> None:
    assert find_cut(PARA * 30, "", min_chars=1000) is None
    assert find_cut(PARA * 10, PARA, min_chars=1000) is None


@given(st.lists(st.sampled_from([PARA, "```\ncode\n\nmore\n```\n\n", "- a\n\n  b\n\n", "x\n"])))
def test_a_cut_is_always_at_a_blank_line_outside_fences(blocks: list[str]) -> None:
    text = "".join(blocks)
    segment, rest = "", text
    while rest:
        step = rest[:37]
        rest = rest[37:]
        cut = find_cut(segment, step, min_chars=40)
        if cut is None:
            segment += step
            continue
        before = segment + step[:cut]
        assert before.endswith("\n\n") and not in_fence(before)
        assert not step[cut].isspace()
        segment = step[cut:]
