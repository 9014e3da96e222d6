"""The reasoning parser (tui/chat/reasoning.py): a reply's thinking and its answer come apart
the same way however the stream happens to be cut, for every shape models write.

What a user notices: the thinking lands in its block and never in the answer, the answer
carries no tags or channel names, and nothing depends on where the engine's chunks fall
(a tag split between two chunks, one character at a time, anywhere)."""

from __future__ import annotations

import itertools

import pytest

from tui.chat.reasoning import (
    HarmonyParser,
    Parser,
    TagParser,
    make_parser,
    prompt_opens_thinking,
)
from tui.engine.backend import Thinking
from tui.engine.chat_format import ChatFormat


def run(parser: Parser, chunks: list[str]) -> tuple[str, str, bool]:
    """(thinking, answer, still thinking at the end) from feeding `chunks`."""
    thinking, answer = [], []
    pieces = [p for c in chunks for p in parser.feed(c)] + parser.finish()
    for piece in pieces:
        (thinking if isinstance(piece, Thinking) else answer).append(piece)
    return "".join(thinking), "".join(answer), parser.thinking


HARMONY = ChatFormat(reasoning="harmony")

# (name, how the parser is made, the stream, thinking, answer)
SAMPLES = [
    (
        "qwen3",
        lambda: TagParser(),
        "<think>\nThe user greets me. I should greet back.\n</think>\n\nHello! How can I help?",
        "The user greets me. I should greet back.",
        "Hello! How can I help?",
    ),
    (
        "deepseek-r1 (the prompt opened <think>)",
        lambda: make_parser(None, "<｜Assistant｜><think>\n"),
        "Okay, the user says hi. I'll answer briefly.\n</think>\n\nHi there!",
        "Okay, the user says hi. I'll answer briefly.",
        "Hi there!",
    ),
    (
        "qwen3 with thinking off (empty block)",
        lambda: TagParser(),
        "<think>\n\n</think>\n\nHi, no thinking here.",
        "",
        "Hi, no thinking here.",
    ),
    (
        "leading blank lines before <think>",
        lambda: TagParser(),
        "\n\n<think>plan: a, b</think>\n\n**Answer**: a < b",
        "plan: a, b",
        "**Answer**: a < b",
    ),
    (
        "no thinking: tags later in the answer stay text",
        lambda: TagParser(),
        "A plain answer that mentions <think> and </think> literally, and <b>html</b>.",
        "",
        "A plain answer that mentions <think> and </think> literally, and <b>html</b>.",
    ),
    (
        "a less-than sign at the start is text",
        lambda: TagParser(),
        "<3 thanks!",
        "",
        "<3 thanks!",
    ),
    (
        "ran out of tokens inside the thinking",
        lambda: TagParser(),
        "<think>\nStill weighing it up, between </thi",
        "Still weighing it up, between </thi",
        "",
    ),
    (
        "gpt-oss harmony",
        lambda: make_parser(HARMONY),
        "<|channel|>analysis<|message|>User says hi. Respond politely.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Hello! **Nice** to meet you.<|return|>",
        "User says hi. Respond politely.",
        "Hello! **Nice** to meet you.",
    ),
    (
        "gpt-oss tool call (commentary, folded, never run)",
        lambda: make_parser(HARMONY),
        "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant"
        '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city":'
        '"Paris"}<|call|>',
        "Need the weather.\n\nTool call to functions.get_weather (not run: tchat runs no "
        'tools):\n{"city":"Paris"}',
        "",
    ),
    (
        "gpt-oss two analysis messages, then the answer",
        lambda: make_parser(HARMONY),
        "<|channel|>analysis<|message|>First.<|end|><|start|>assistant<|channel|>analysis"
        "<|message|>Second.<|end|><|start|>assistant<|channel|>final<|message|>Done."
        "<|return|>",
        "First.\n\nSecond.",
        "Done.",
    ),
    (
        "harmony text without any header is the answer",
        lambda: make_parser(HARMONY),
        "Just words.",
        "",
        "Just words.",
    ),
]


def _splits(text: str) -> list[list[str]]:
    """The whole text, every cut into two, and one character at a time."""
    cuts = [[text[:i], text[i:]] for i in range(1, len(text))]
    return [[text], *cuts, list(text)]


@pytest.mark.parametrize(
    ("make", "stream", "thinking", "answer"),
    [s[1:] for s in SAMPLES],
    ids=[s[0] for s in SAMPLES],
)
def test_each_sample_parses_the_same_split_at_every_position(
    make, stream: str, thinking: str, answer: str
) -> None:
    for chunks in _splits(stream):
        got = run(make(), chunks)
        assert got[:2] == (thinking, answer), chunks


@pytest.mark.parametrize(
    ("make", "stream", "thinking", "answer"),
    [s[1:] for s in SAMPLES if len(s[2]) < 90],
    ids=[s[0] for s in SAMPLES if len(s[2]) < 90],
)
def test_short_samples_parse_the_same_cut_in_three_anywhere(
    make, stream: str, thinking: str, answer: str
) -> None:
    for i, j in itertools.combinations(range(1, len(stream)), 2):
        assert run(make(), [stream[:i], stream[i:j], stream[j:]])[:2] == (thinking, answer)


def test_a_reply_that_ends_inside_its_thinking_says_so() -> None:
    assert run(TagParser(), ["<think>\nhmm, "])[2] is True
    assert run(TagParser(), ["<think>a</think>b"])[2] is False
    harmony = make_parser(HARMONY)
    assert run(harmony, ["<|channel|>analysis<|message|>still going"])[2] is True


def test_thinking_already_split_by_a_server_passes_through() -> None:
    chunks = [Thinking("The user "), Thinking("wants a haiku."), "\n\n", "Leaves fall", " softly"]
    thinking, answer, _ = run(TagParser(), chunks)
    assert (thinking, answer) == ("The user wants a haiku.", "Leaves fall softly")


def test_an_answer_passes_through_untouched_once_it_has_started() -> None:
    parser = TagParser()
    assert parser.feed("Hello") == ["Hello"]
    assert parser.feed("</think> <think>") == ["</think> <think>"]
    assert parser.state == "answer"


def test_a_continued_reply_starts_where_it_stopped() -> None:
    assert run(make_parser(None, carried_thinking=True), ["more.</think>Answer"])[:2] == (
        "more.",
        "Answer",
    )
    assert run(make_parser(None, carried_answer=True), ["<think>x</think>"])[:2] == (
        "",
        "<think>x</think>",
    )
    harmony = make_parser(HARMONY, carried_thinking=True)
    assert isinstance(harmony, HarmonyParser)
    assert run(harmony, [" on.<|end|><|start|>assistant<|channel|>final<|message|>Hi"])[:2] == (
        " on.",
        "Hi",
    )


def test_the_prompt_tail_says_whether_the_reply_starts_inside_thinking() -> None:
    assert prompt_opens_thinking("<｜User｜>hi<｜Assistant｜><think>\n")
    assert not prompt_opens_thinking("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert not prompt_opens_thinking("<|im_start|>assistant\n")
