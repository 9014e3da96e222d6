"""A real `transformers serve` on the default model: chat through it as a user does, stop a
reply and watch the server stop working, kill it mid-reply, start it again and go on.

The server is greedy whatever the temperature (SmolLM2's generation config does not sample), so
its replies are deterministic, which the tests use."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.helpers import serving
from tui.engine.backend import LoadSpec
from tui.engine.endpoint import Endpoint
from tui.engine.remote.backend import RemoteBackend
from tui.store.session import GenerationSettings

pytestmark = pytest.mark.model

QUESTION = [{"role": "user", "content": "Name three colours."}]


def connect(url: str, **options: object) -> RemoteBackend:
    backend = RemoteBackend()
    backend.load(LoadSpec(endpoint=Endpoint(url=url, **options)))  # type: ignore[arg-type]
    return backend


def test_a_reply_from_transformers_serve(transformers_server: serving.ServerProcess) -> None:
    backend = connect(transformers_server.url)
    info = backend.info
    assert info is not None and info.backend == "remote"
    assert info.server == f"transformers serve at 127.0.0.1:{transformers_server.port}"
    assert info.context_length == 8192  # from the model's config here: the server does not say
    assert info.server_note is not None and "decodes greedily" in info.server_note
    caps = backend.capabilities
    assert not caps.local_hardware and not caps.continue_reply and not caps.exact_token_counts
    replies = []
    for _ in range(2):
        reply = backend.stream(QUESTION, GenerationSettings(max_new_tokens=6), threading.Event())
        replies.append("".join(reply))
        assert reply.error is None, reply.error
        stats = reply.stats
        assert stats.stop_reason in ("length", "end_of_turn")
        assert stats.new_tokens == 6 or stats.stop_reason == "end_of_turn"
        assert stats.prompt_tokens > 20  # the server's count, its template's system prompt too
        assert stats.ttft_s is not None and stats.decode_tps is not None
    assert replies[0] == replies[1] and replies[0].strip()  # greedy: the same reply twice
    assert backend.server_metrics().reason == "transformers serve publishes no /metrics"


def test_a_continue_is_refused_with_a_reason(transformers_server: serving.ServerProcess) -> None:
    from tui.engine.backend import EngineError

    backend = connect(transformers_server.url)
    messages = [*QUESTION, {"role": "assistant", "content": "Red,"}]
    with pytest.raises(EngineError) as refused:
        backend.stream(messages, GenerationSettings(), threading.Event(), continue_final=True)
    assert "cannot carry on" in str(refused.value) and "Regenerate" in str(refused.value)


def test_esc_stops_the_server_generating(transformers_server: serving.ServerProcess) -> None:
    """The server's CPU use drops once the stream is closed: it stopped, not just us."""
    backend = connect(transformers_server.url)
    cancel = threading.Event()
    long = [{"role": "user", "content": "Write a very long story about the sea."}]
    reply = backend.stream(long, GenerationSettings(max_new_tokens=2000), cancel)
    pieces = iter(reply)
    for _ in range(3):
        next(pieces)  # it is generating
    busy = serving.process_cpu(transformers_server.pid, 1.0)
    cancel.set()
    rest = list(pieces)
    assert reply.stats.stop_reason == "cancelled" and reply.error is None
    assert len(rest) < 50
    time.sleep(1.0)
    idle = serving.process_cpu(transformers_server.pid, 1.0)
    assert idle < max(0.25, busy * 0.3), f"server CPU {busy:.2f} -> {idle:.2f} cores"


def test_killed_mid_reply_then_restarted(default_model_dir: Path, tmp_path: Path) -> None:
    server = serving.transformers_serve(default_model_dir, tmp_path / "serve.log")
    try:
        backend = connect(server.url)
        cancel = threading.Event()
        long = [{"role": "user", "content": "Write a long story about a lighthouse."}]
        reply = backend.stream(long, GenerationSettings(max_new_tokens=2000), cancel)
        got = []
        for piece in reply:
            got.append(piece)
            if len(got) == 5:
                server.kill()
        assert len(got) >= 5  # what arrived is there
        assert reply.stats.stop_reason == "error"
        assert reply.error is not None and "lost mid-reply" in reply.error, reply.error
        # While it is down: one clear sentence, nothing sent.
        down = backend.stream(QUESTION, GenerationSettings(max_new_tokens=5), threading.Event())
        assert list(down) == [] and down.error is not None
        assert "connection refused" in down.error
        # Started again on the same port: the next reply works without reconnecting.
        server = serving.transformers_serve(
            default_model_dir, tmp_path / "serve2.log", port=server.port
        )
        again = backend.stream(QUESTION, GenerationSettings(max_new_tokens=5), threading.Event())
        assert "".join(again).strip() and again.error is None
    finally:
        server.stop()
