"""Token alternatives from the engines: the local engine's recorder on a real (tiny)
Transformers model, and the OpenAI-style `logprobs` entries a server sends, in one shape."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

from tui.engine.backend import LoadSpec
from tui.engine.tokens import TokenStep, step_from_openai, text_of
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings


@pytest.fixture(scope="module")
def backend(tiny_model: Path) -> TransformersBackend:
    b = TransformersBackend(fast="off")
    b.load(LoadSpec(model=str(tiny_model)))
    return b


def _reply(b: TransformersBackend, tokens: int = 12, sample: bool = False):  # noqa: ANN202
    settings = GenerationSettings(max_new_tokens=tokens, do_sample=sample, seed=3)
    reply = b.stream([{"role": "user", "content": "hi"}], settings, threading.Event())
    text = "".join(reply)
    return reply, text


def test_nothing_is_recorded_until_asked(backend: TransformersBackend) -> None:
    backend.keep_alternatives(0)
    reply, _ = _reply(backend)
    assert reply.tokens is None


@pytest.mark.parametrize("sample", [False, True])
def test_every_token_gets_its_probability_and_the_likeliest_alternatives(
    backend: TransformersBackend, sample: bool
) -> None:
    backend.keep_alternatives(5)
    try:
        reply, text = _reply(backend, sample=sample)
    finally:
        backend.keep_alternatives(0)
    steps = reply.tokens
    assert steps is not None and len(steps) == reply.stats.new_tokens
    assert text_of(steps) == text  # the pieces spell what was streamed
    for step in steps:
        assert len(step.alternatives) == 5
        probs = [a.probability for a in step.alternatives]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 1e-6
        assert step.chosen.logprob <= 0 and step.chosen.token_id is not None
        if not sample:  # greedy: the pick is the likeliest (after the repetition penalty)
            assert step.chosen == step.alternatives[0]


def test_a_server_entry_reads_into_the_same_shape() -> None:
    entry = {
        "token": " Paris",
        "logprob": -0.02,
        "bytes": [32, 80],
        "top_logprobs": [
            {"token": " Lyon", "logprob": -4.1},
            {"token": " Paris", "logprob": -0.02},
            {"token": " Nice", "logprob": None},
        ],
    }
    step = step_from_openai(entry)
    assert isinstance(step, TokenStep) and step.chosen.text == " Paris"
    assert math.isclose(step.chosen.probability, math.exp(-0.02))
    assert [a.text for a in step.alternatives] == [" Paris", " Lyon", " Nice"]
    assert step.alternatives[-1].probability == 0.0  # junk reads as "never"
    assert not step.unlikely
    assert step_from_openai({}).chosen.text == "" and step_from_openai({}).unlikely
