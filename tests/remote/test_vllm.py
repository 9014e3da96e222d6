"""A real vLLM (its CPU build) on the default model: exact token counts from /tokenize, usage
in its own chunk, continuing a stopped reply, its /metrics in the gauges' terms, its context
check, and stopping. Run by `make test-engines` (TCHAT_TEST_VLLM=1, .venv-vllm)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.helpers import serving
from tui.engine.backend import EngineError, LoadSpec
from tui.engine.endpoint import Endpoint
from tui.engine.remote.backend import RemoteBackend
from tui.store.session import GenerationSettings

pytestmark = pytest.mark.model

QUESTION = [{"role": "user", "content": "Count from 1 to 10."}]
GREEDY = GenerationSettings(max_new_tokens=12, do_sample=False)


def connect(server: serving.ServerProcess, model: str = "") -> RemoteBackend:
    backend = RemoteBackend()
    backend.load(LoadSpec(model=model, endpoint=Endpoint(url=server.url)))
    return backend


def test_a_reply_with_exact_counts(vllm_server: serving.ServerProcess) -> None:
    backend = connect(vllm_server)
    info = backend.info
    assert info is not None and info.id == "smollm2" and info.context_length == 2048
    assert info.server is not None and info.server.startswith("vLLM 0.")
    assert backend.capabilities.exact_token_counts and backend.capabilities.continue_reply
    counted = backend.count_tokens(QUESTION)
    reply = backend.stream(QUESTION, GREEDY, threading.Event())
    text = "".join(reply)
    assert reply.error is None and text.strip()
    assert reply.stats.prompt_tokens == counted  # /tokenize agrees with the server's usage
    assert reply.stats.new_tokens == 12 and reply.stats.stop_reason == "length"


def test_continue_carries_on_the_same_reply(vllm_server: serving.ServerProcess) -> None:
    backend = connect(vllm_server)
    whole = "".join(backend.stream(QUESTION, GREEDY, threading.Event()))
    words = whole.split(" ")
    half = len(words) // 2
    part = " ".join(words[:half])  # cut between words: the same tokens as in the reply
    carried = [*QUESTION, {"role": "assistant", "content": part}]
    rest = "".join(backend.stream(carried, GREEDY, threading.Event(), continue_final=True))
    # Greedy: carrying on from half the reply goes on with the reply's next word, not a new
    # answer (which would start with a capital, a greeting, a new sentence).
    assert rest.lstrip().startswith(words[half].strip()), (whole, part, rest)


def test_metrics_are_read(vllm_server: serving.ServerProcess) -> None:
    backend = connect(vllm_server)
    "".join(backend.stream(QUESTION, GREEDY, threading.Event()))
    metrics = backend.server_metrics()
    assert metrics.available and metrics.server == "vLLM"
    assert metrics.kv_cache_usage is not None and 0 <= metrics.kv_cache_usage <= 1
    assert metrics.requests_running == 0 and metrics.generation_tokens_total
    assert metrics.ttft_count and metrics.itl_count


def test_a_model_it_does_not_serve(vllm_server: serving.ServerProcess) -> None:
    with pytest.raises(EngineError) as failed:
        connect(vllm_server, model="llama-70b")
    assert "serves smollm2" in str(failed.value)


def test_a_prompt_over_the_context_is_caught_before_sending(
    vllm_server: serving.ServerProcess,
) -> None:
    from tui.chat.context import fit_to_context

    backend = connect(vllm_server)
    long = [{"role": "user", "content": "word " * 3000}]
    with pytest.raises(EngineError) as failed:
        fit_to_context(long, backend.count_tokens, 2048, 100)
    assert "does not fit" in str(failed.value)
    # Sent anyway, vLLM's own 400 is one clear sentence too.
    reply = backend.stream(long, GREEDY, threading.Event())
    assert list(reply) == [] and reply.error is not None
    assert "does not fit in the model's context" in reply.error


def test_esc_stops_vllm_generating(vllm_server: serving.ServerProcess) -> None:
    backend = connect(vllm_server)
    cancel = threading.Event()
    story = [{"role": "user", "content": "Write a very long story about the sea."}]
    reply = backend.stream(story, GenerationSettings(max_new_tokens=1500), cancel)
    pieces = iter(reply)
    for _ in range(5):
        next(pieces)
    busy = serving.process_cpu(vllm_server.pid, 1.0)
    cancel.set()
    list(pieces)
    assert reply.stats.stop_reason == "cancelled"
    time.sleep(1.0)
    idle = serving.process_cpu(vllm_server.pid, 1.0)
    metrics = backend.server_metrics()
    assert metrics.requests_running == 0
    assert idle < max(0.3, busy * 0.3), f"vLLM CPU {busy:.2f} -> {idle:.2f} cores"
