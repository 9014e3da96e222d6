"""Generation faults: a reply that fails shows why, keeps what was written, and the chat goes on.

Guards the README's "Out of memory while loading or generating ... The partial reply is kept":

- on the real engine (the tiny Transformers model), `model.generate` streams a few tokens and
  then raises torch.OutOfMemoryError, MemoryError or a CUDA-style RuntimeError: the reply says
  so in the conversation (and in the file), keeps the partial text, and the next message gets
  a normal reply from the same loaded model;
- on any backend, an exception thrown out of the reply's iterator mid-stream, or out of
  `stream()` before the first token, ends the reply with the error and the app goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.robustness.helpers import Notes, load_all, send, wait_replies, wait_until
from tui.config import Config
from tui.engine.backend import EngineError, Reply
from tui.engine.fake import FakeBackend
from tui.store import ReplyStats
from tui.widgets.message_view import MessageView

PARTIAL = "partial answer "


def _oom() -> BaseException:
    import torch

    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


FAULTS = {
    "cuda oom": (_oom, "Out of memory while generating"),
    "host oom": (lambda: MemoryError(), "Out of memory while generating"),
    "cuda error": (
        lambda: RuntimeError("CUDA error: device-side assert triggered"),
        "Generation failed: RuntimeError: CUDA error",
    ),
}


@pytest.mark.parametrize("fault", FAULTS, ids=FAULTS.keys())
async def test_a_fault_inside_generate_keeps_the_partial_reply_and_the_next_message_works(
    tiny_model: Path, make_app, sessions_dir: Path, fault: str
) -> None:
    import torch

    from tui.engine.transformers_backend import TransformersBackend

    make_error, expected = FAULTS[fault]
    backend = TransformersBackend()
    config = Config(generation={"max_new_tokens": 6, "do_sample": False})
    app = make_app(backend, config=config, model=str(tiny_model))
    notes = Notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, timeout=60)
        real_generate = backend.model.generate

        def generate_then_fail(**kwargs: Any) -> None:
            """What a real OOM looks like from outside: some tokens, then the exception."""
            streamer = kwargs["streamer"]
            streamer.put(kwargs["input_ids"].cpu())  # the prompt, which the streamer skips
            for token in backend.tokenizer.encode(PARTIAL, add_special_tokens=False):
                streamer.put(torch.tensor([token]))
            raise make_error()

        backend.model.generate = generate_then_fail
        await send(pilot, "first")
        await wait_replies(pilot, 1, timeout=30)
        failed = app.chat_screen.session.messages[1]
        assert failed.stats.stop_reason == "error"
        assert failed.error and failed.error.startswith(expected)
        assert failed.content == PARTIAL  # what was streamed before the fault is kept
        view = app.query(MessageView)[1]
        assert expected in str(view.meta.render())  # the user sees why, in the conversation
        assert notes.titled("Generation stopped")

        backend.model.generate = real_generate  # memory freed: the next turn must work
        await send(pilot, "second")
        await wait_replies(pilot, 2, timeout=60)
        ok = app.chat_screen.session.messages[3]
        assert ok.stats.stop_reason in ("length", "end_of_turn") and ok.error is None
        # The failed generate thread ended (it held the engine's lock; the reply above
        # shows the lock was released too).
        assert not [t for t in threading.enumerate() if t.name == "tchat-generate"]
    [saved] = load_all(sessions_dir)
    assert saved.messages[1].content == PARTIAL and saved.messages[1].error == failed.error
    assert saved.messages[3].stats.stop_reason in ("length", "end_of_turn")


class BrokenStreamBackend(FakeBackend):
    """`stream()` works, but the reply's iterator raises after a few chunks; or `stream()`
    itself raises before any token (`fail_in_stream`)."""

    def __init__(self, fail_in_stream: BaseException | None = None) -> None:
        super().__init__()
        self.broken = True
        self.fail_in_stream = fail_in_stream

    def stream(self, messages, settings, cancel, continue_final=False):  # noqa: ANN001, ANN201
        if not self.broken:
            return super().stream(messages, settings, cancel, continue_final)
        if self.fail_in_stream is not None:
            raise self.fail_in_stream

        def chunks() -> Iterator[str]:
            yield from ("one ", "two ", "three ")
            raise RuntimeError("driver reset")

        return Reply(chunks=chunks(), stats=ReplyStats(prompt_tokens=3, new_tokens=3))


async def test_an_exception_out_of_the_reply_iterator_keeps_the_text_so_far(
    make_app, sessions_dir: Path
) -> None:
    backend = BrokenStreamBackend()
    app = make_app(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "go")
        await wait_replies(pilot, 1)
        failed = app.chat_screen.session.messages[1]
        assert failed.stats.stop_reason == "error"
        assert failed.error == "RuntimeError: driver reset"
        assert failed.content == "one two three "


@pytest.mark.parametrize(
    "error",
    [EngineError("No model is loaded yet.", "Wait for it."), RuntimeError("tokenizer exploded")],
    ids=["engine error", "unexpected error"],
)
async def test_a_reply_that_fails_before_its_first_token_is_reported_and_the_chat_goes_on(
    make_app, sessions_dir: Path, error: BaseException
) -> None:
    backend = BrokenStreamBackend(fail_in_stream=error)
    app = make_app(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "go")
        await wait_replies(pilot, 1)
        failed = app.chat_screen.session.messages[1]
        assert failed.stats.stop_reason == "error" and failed.content == ""
        assert str(error).splitlines()[0] in (failed.error or "")
        assert not app.chat_screen.generating  # not stuck "generating": Enter sends again
        backend.broken = False
        await send(pilot, "again")
        await wait_replies(pilot, 2)
        assert app.chat_screen.session.messages[3].stats.stop_reason == "end_of_turn"
    assert [m.content for m in load_all(sessions_dir)[0].messages][::2] == ["go", "again"]
