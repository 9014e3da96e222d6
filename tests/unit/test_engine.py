"""The Transformers engine on tiny models the test builds: loading, streaming, stats, cancel."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from tui.engine.backend import EngineError, LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings

HELLO = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(scope="module")
def backend(tiny_model: Path) -> TransformersBackend:
    b = TransformersBackend()
    b.load(LoadSpec(model=str(tiny_model)))
    return b


def test_load_reports_what_was_loaded(backend: TransformersBackend, tiny_model: Path) -> None:
    info = backend.info
    assert info is not None
    assert info.name == "tiny-llama"
    assert info.device == "cpu" and info.dtype == "fp32"  # auto on a CPU machine
    assert info.context_length == 512
    assert info.parameters and info.parameters > 1000
    assert info.template_note is None


def test_prompt_uses_the_models_chat_template(backend: TransformersBackend) -> None:
    text = backend.render_prompt(HELLO)
    assert text == "<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n"
    assert backend.count_tokens(HELLO) == len(backend.tokenizer(text)["input_ids"])


def test_stream_yields_text_and_stats(backend: TransformersBackend) -> None:
    settings = GenerationSettings(max_new_tokens=12, do_sample=False)
    reply = backend.stream(HELLO, settings, threading.Event())
    text = "".join(reply)
    stats = reply.stats
    assert text
    assert stats.prompt_tokens == backend.count_tokens(HELLO)
    assert stats.new_tokens == 12
    assert stats.stop_reason == "length"
    assert stats.ttft_s is not None and stats.ttft_s > 0
    assert stats.decode_tps and stats.decode_tps > 0
    assert reply.error is None


def test_greedy_replies_are_repeatable(backend: TransformersBackend) -> None:
    settings = GenerationSettings(max_new_tokens=8, do_sample=False)
    first = "".join(backend.stream(HELLO, settings, threading.Event()))
    second = "".join(backend.stream(HELLO, settings, threading.Event()))
    assert first == second


def test_seed_makes_sampling_repeatable(backend: TransformersBackend) -> None:
    settings = GenerationSettings(max_new_tokens=8, do_sample=True, seed=7, temperature=1.0)
    first = "".join(backend.stream(HELLO, settings, threading.Event()))
    second = "".join(backend.stream(HELLO, settings, threading.Event()))
    assert first == second


def test_cancel_stops_within_half_a_second(backend: TransformersBackend) -> None:
    cancel = threading.Event()
    reply = backend.stream(HELLO, GenerationSettings(max_new_tokens=400), cancel)
    chunks = iter(reply)
    next(chunks)
    cancel.set()
    set_at = time.perf_counter()
    rest = list(chunks)
    assert time.perf_counter() - set_at < 0.5
    assert reply.stats.stop_reason == "cancelled"
    assert reply.stats.new_tokens < 400
    assert len(rest) < 400


def test_generation_error_ends_the_reply_with_a_message(
    backend: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(backend.model, "generate", boom)
    reply = backend.stream(HELLO, GenerationSettings(max_new_tokens=5), threading.Event())
    assert list(reply) == []
    assert reply.stats.stop_reason == "error"
    assert reply.error and "RuntimeError" in reply.error


def test_model_without_chat_template_gets_the_documented_fallback(
    tiny_model_no_template: Path,
) -> None:
    b = TransformersBackend()
    info = b.load(LoadSpec(model=str(tiny_model_no_template)))
    assert info.template_note and "no chat template" in info.template_note
    assert b.render_prompt(HELLO).endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ("/nonexistent/folder", "not a model folder"),
        ("missing.gguf", "No GGUF file"),
        ("not a model id at all", "neither a file"),
    ],
)
def test_bad_model_names_give_a_clear_message(model: str, needle: str) -> None:
    with pytest.raises(EngineError) as err:
        TransformersBackend().load(LoadSpec(model=model))
    assert needle in str(err.value)


def test_unknown_hub_id_offline_says_it_is_not_cached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(EngineError) as err:
        TransformersBackend().load(LoadSpec(model="someone/not-cached-model"))
    assert "not in the local Hugging Face cache" in str(err.value)


def _place_in_hf_cache(model_dir: Path, cache: Path, repo_id: str) -> None:
    """Lay out `model_dir` as the hub cache would after a download of `repo_id`."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for f in model_dir.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


def test_cached_model_loads_without_waiting_on_an_unreachable_hub(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HF_HUB_OFFLINE unset and a hub that accepts connections but never answers: a model in
    the cache still loads at once, because the cache is tried before the network."""
    cache = tmp_path / "hub"
    _place_in_hf_cache(tiny_model, cache, "tchat-tests/tiny")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts, never replies: any hub call would hang until its timeout
    try:
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        import huggingface_hub.constants as hub_constants

        monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
        started = time.perf_counter()
        info = TransformersBackend().load(LoadSpec(model="tchat-tests/tiny"))
        assert time.perf_counter() - started < 5
    finally:
        silent.close()
    assert info.id == "tchat-tests/tiny"
    assert info.revision == "0123456789abcdef0123456789abcdef01234567"
