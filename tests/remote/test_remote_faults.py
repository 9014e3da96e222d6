"""The remote backend against a scripted server: every fault a user can meet ends in one clear
message, with the part of the reply that arrived kept, and nothing re-sent.

Each test reads the reply as the app does (iterate, then look at `stats` and `error`)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.helpers.fake_openai_server import FakeServer, chunk, reply_steps
from tui.engine.backend import EngineError, LoadSpec, Thinking
from tui.engine.endpoint import Endpoint, normalize_url
from tui.engine.remote.backend import RemoteBackend
from tui.store.session import GenerationSettings

MESSAGES = [{"role": "user", "content": "hello"}]


def connect(server: FakeServer, **options: object) -> RemoteBackend:
    backend = RemoteBackend()
    endpoint = Endpoint(url=normalize_url(server.url), **options)  # type: ignore[arg-type]
    backend.load(LoadSpec(endpoint=endpoint))
    return backend


def auth(headers: dict[str, str]) -> str | None:
    return {k.lower(): v for k, v in headers.items()}.get("authorization")


def drain(backend: RemoteBackend, cancel: threading.Event | None = None, **settings: object):
    cancel = cancel or threading.Event()
    reply = backend.stream(MESSAGES, GenerationSettings(**settings), cancel)  # type: ignore[arg-type]
    pieces = list(reply)
    return pieces, reply


def test_a_vllm_shaped_stream_is_read_with_counts_from_usage(fake_server: FakeServer) -> None:
    # Three chunks carry five tokens: the count must come from usage, not from the chunks.
    fake_server.chat = reply_steps(
        ["Hel", "lo the", "re!"], usage={"prompt_tokens": 9, "completion_tokens": 5}
    )
    backend = connect(fake_server)
    pieces, reply = drain(backend)
    assert "".join(pieces) == "Hello there!"
    assert reply.error is None
    assert reply.stats.stop_reason == "end_of_turn"
    assert (reply.stats.prompt_tokens, reply.stats.new_tokens) == (9, 5)
    assert reply.stats.ttft_s is not None and reply.stats.total_s >= reply.stats.ttft_s
    body = fake_server.bodies[-1]
    assert body["stream"] is True and body["model"] == "fake-model"
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert body["top_k"] == 50 and body["repetition_penalty"] == 1.1


def test_usage_in_the_finish_chunk_and_no_done_as_transformers_serve_sends(
    fake_server: FakeServer,
) -> None:
    fake_server.models = [
        {"id": "/models/x", "object": "model", "owned_by": "local", "status": {"value": "loaded"}}
    ]
    fake_server.chat = [
        ("chunk", chunk({"role": "assistant"})),
        ("text", "Hi"),
        ("text", ""),  # an empty delta is normal
        ("finish", "length", {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}),
    ]
    backend = connect(fake_server)
    assert backend.info is not None and backend.info.server.startswith("transformers serve")
    assert not backend.capabilities.continue_reply
    pieces, reply = drain(backend)
    assert pieces == ["Hi"] and reply.error is None
    assert reply.stats.stop_reason == "length" and reply.stats.new_tokens == 2
    # transformers serve refuses fields outside its schema: none are sent.
    body = fake_server.bodies[-1]
    assert not {"top_k", "repetition_penalty", "stream_options"} & set(body)


def test_reasoning_deltas_are_thinking_pieces_in_either_name(fake_server: FakeServer) -> None:
    fake_server.chat = [
        ("reasoning", "Let me think. "),
        ("chunk", chunk({"reasoning_content": "Still thinking."})),
        ("text", "Answer."),
        ("finish", "stop", None),
        ("usage", {"prompt_tokens": 3, "completion_tokens": 9}),
        ("done",),
    ]
    backend = connect(fake_server)
    pieces, reply = drain(backend)
    assert [type(p) is Thinking for p in pieces] == [True, True, False]
    assert "".join(pieces[:2]) == "Let me think. Still thinking." and pieces[2] == "Answer."


def test_llama_server_timings_count_the_tokens(fake_server: FakeServer) -> None:
    fake_server.models = [{"id": "m.gguf", "object": "model", "owned_by": "llamacpp"}]
    fake_server.pages["/props"] = (
        200,
        json.dumps({"default_generation_settings": {"n_ctx": 4096}}),
        "application/json",
    )
    fake_server.chat = [
        ("chunk", chunk({"content": "Hi there"}, timings={"predicted_n": 3, "prompt_n": 11})),
        ("chunk", chunk({}, "stop", timings={"predicted_n": 4, "prompt_n": 11})),
        ("done",),
    ]
    backend = connect(fake_server)
    assert backend.info is not None and backend.info.context_length == 4096
    _, reply = drain(backend)
    assert (reply.stats.new_tokens, reply.stats.prompt_tokens) == (4, 11)
    assert fake_server.bodies[-1]["repeat_penalty"] == 1.1


def test_a_stream_cut_mid_reply_keeps_what_arrived(fake_server: FakeServer) -> None:
    fake_server.chat = [("text", "The first"), ("text", " half"), ("cut",)]
    backend = connect(fake_server)
    pieces, reply = drain(backend)
    assert "".join(pieces) == "The first half"
    assert reply.stats.stop_reason == "error"
    assert reply.error is not None and "lost mid-reply" in reply.error
    assert "kept" in reply.error
    assert len(fake_server.bodies) == 1  # nothing re-sent


def test_a_stall_mid_reply_is_stopped_by_the_read_timeout(fake_server: FakeServer) -> None:
    fake_server.chat = [("text", "Some"), ("sleep", 5.0), ("text", "never")]
    backend = connect(fake_server, read_timeout_s=0.5)
    started = time.monotonic()
    pieces, reply = drain(backend)
    assert time.monotonic() - started < 3.0
    assert pieces == ["Some"]
    assert reply.error is not None and "sent nothing for 0.5 s" in reply.error
    assert "read timeout" in reply.error and reply.stats.stop_reason == "error"
    assert fake_server.disconnected.wait(3)  # the server saw the client go


def test_a_slow_first_token_waits_for_the_first_token_timeout(fake_server: FakeServer) -> None:
    fake_server.chat = [("sleep", 1.0), *reply_steps(["late", " but fine"])]
    backend = connect(fake_server, read_timeout_s=0.3, first_token_timeout_s=5.0)
    pieces, reply = drain(backend)
    assert "".join(pieces) == "late but fine" and reply.error is None
    assert reply.stats.ttft_s is not None and reply.stats.ttft_s >= 0.9


def test_no_first_token_at_all_is_a_clear_stall(fake_server: FakeServer) -> None:
    fake_server.chat = [("sleep", 5.0)]
    backend = connect(fake_server, first_token_timeout_s=0.5)
    pieces, reply = drain(backend)
    assert pieces == [] and reply.error is not None
    assert "sent no token for" in reply.error and "first_token_timeout" in reply.error


def test_escape_closes_the_connection_and_the_server_sees_it(fake_server: FakeServer) -> None:
    fake_server.chat = [("text", "one"), ("sleep", 10.0), ("text", "two")]
    backend = connect(fake_server)
    cancel = threading.Event()
    reply = backend.stream(MESSAGES, GenerationSettings(), cancel)
    got = []
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    for piece in reply:
        got.append(piece)
    assert time.monotonic() - started < 2.0
    assert got == ["one"] and reply.error is None
    assert reply.stats.stop_reason == "cancelled"
    assert fake_server.disconnected.wait(3)


def test_an_error_event_mid_stream_is_shown_with_the_partial_reply(fake_server: FakeServer) -> None:
    fake_server.chat = [("text", "Partial"), ("chunk", {"error": "CUDA out of memory"})]
    backend = connect(fake_server)
    pieces, reply = drain(backend)
    assert pieces == ["Partial"]
    assert reply.error is not None and "CUDA out of memory" in reply.error
    assert "stopped the reply with an error" in reply.error


def test_an_openai_shaped_error_event_mid_stream(fake_server: FakeServer) -> None:
    fake_server.chat = [
        ("text", "x"),
        ("chunk", {"error": {"message": "engine dead", "code": 500}}),
    ]
    backend = connect(fake_server)
    _, reply = drain(backend)
    assert reply.error is not None and "engine dead" in reply.error


@pytest.mark.parametrize(
    ("status", "body", "ctype", "expect"),
    [
        (401, '{"error": {"message": "Unauthorized"}}', "application/json", "OPENAI_API_KEY"),
        (403, '{"detail": "Forbidden"}', "application/json", "sent no key"),
        (
            422,
            '{"detail": [{"loc": ["body", "top_k"], "msg": "Extra inputs"}]}',
            "application/json",
            "top_k: Extra inputs",
        ),
        (429, "Too many requests, slow down", "text/plain", "too busy"),
        (500, "Internal Server Error", "text/plain", "internal error (500): Internal Server Error"),
        (
            400,
            '{"error": {"message": "This model\'s maximum context length is 2048 tokens. '
            'However, your prompt contains at least 2049 input tokens"}}',
            "application/json",
            "does not fit in the model's context",
        ),
    ],
)
def test_error_answers_become_one_clear_message(
    fake_server: FakeServer, status: int, body: str, ctype: str, expect: str
) -> None:
    backend = connect(fake_server)
    fake_server.chat = [("status", status, body, ctype)]
    pieces, reply = drain(backend)
    assert pieces == [] and reply.stats.stop_reason == "error"
    assert reply.error is not None and expect in reply.error, reply.error


def test_a_404_for_the_model_lists_the_served_ones(fake_server: FakeServer) -> None:
    backend = connect(fake_server)
    fake_server.chat = [
        (
            "status",
            404,
            '{"error": {"message": "The model `fake-model` does not exist."}}',
            "application/json",
        )
    ]
    _, reply = drain(backend)
    assert reply.error is not None and "It serves: fake-model" in reply.error


def test_asking_for_a_model_the_server_does_not_serve(fake_server: FakeServer) -> None:
    backend = RemoteBackend()
    spec = LoadSpec(model="llama-70b", endpoint=Endpoint(url=normalize_url(fake_server.url)))
    with pytest.raises(EngineError) as failed:
        backend.load(spec)
    assert "does not serve 'llama-70b'" in str(failed.value) and "fake-model" in str(failed.value)


def test_connection_refused_names_the_address() -> None:
    from tests.helpers.serving import free_port

    port = free_port()
    with pytest.raises(EngineError) as failed:
        RemoteBackend().load(LoadSpec(endpoint=Endpoint(url=f"http://127.0.0.1:{port}/v1")))
    assert f"connection refused at 127.0.0.1:{port}" in str(failed.value)
    assert "start the server" in str(failed.value)


def test_unknown_host_says_so() -> None:
    endpoint = Endpoint(url="http://no-such-host.invalid:8000/v1", connect_timeout_s=5)
    with pytest.raises(EngineError) as failed:
        RemoteBackend().load(LoadSpec(endpoint=endpoint))
    assert "unknown host 'no-such-host.invalid'" in str(failed.value)


def test_a_plain_text_500_on_connect(fake_server: FakeServer) -> None:
    fake_server.models_status = (500, "upstream exploded")
    with pytest.raises(EngineError) as failed:
        connect(fake_server)
    assert "internal error (500): upstream exploded" in str(failed.value)


def test_the_key_is_sent_but_never_shown(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-abcdef123456"
    monkeypatch.setenv("MY_KEY", secret)
    backend = connect(fake_server, api_key_env="MY_KEY")
    fake_server.chat = [
        ("status", 401, f'{{"error": {{"message": "bad key {secret}"}}}}', "application/json")
    ]
    _, reply = drain(backend)
    assert auth(fake_server.requests[-1][2]) == f"Bearer {secret}"
    assert reply.error is not None and secret not in reply.error and "$MY_KEY" in reply.error


def test_no_key_means_no_authorization_header(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-be-sent")
    backend = connect(fake_server)  # api_key_env None: the launch decides, here none
    drain(backend)
    assert all(auth(headers) is None for _, _, headers in fake_server.requests)


def test_a_key_over_plain_http_to_another_host_needs_an_opt_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_KEY", "sk-secret")
    endpoint = Endpoint(url="http://gpu-box.invalid:8000/v1", api_key_env="MY_KEY")
    with pytest.raises(EngineError) as failed:
        RemoteBackend().load(LoadSpec(endpoint=endpoint))
    text = str(failed.value)
    assert "plain http" in text and "--allow-http-key" in text and "sk-secret" not in text


def test_continue_uses_continue_final_message_where_the_server_takes_it(
    fake_server: FakeServer,
) -> None:
    backend = connect(fake_server)
    assert backend.capabilities.continue_reply
    fake_server.chat = reply_steps([" 4, 5"])
    messages = [*MESSAGES, {"role": "assistant", "content": "1, 2, 3,"}]
    reply = backend.stream(messages, GenerationSettings(), threading.Event(), continue_final=True)
    assert "".join(reply) == " 4, 5"
    body = fake_server.bodies[-1]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1] == {"role": "assistant", "content": "1, 2, 3,"}


def test_greedy_is_temperature_zero(fake_server: FakeServer) -> None:
    backend = connect(fake_server)
    drain(backend, do_sample=False)
    body = fake_server.bodies[-1]
    assert body["temperature"] == 0.0 and "top_p" not in body and "top_k" not in body
