"""The fast generation path (static cache + torch.compile): same replies, never in the way.

Correctness only: speed is `python -m bench fast_vs_plain`'s job, never a test's. On the CPU
the compiled step is an AOTInductor package kept in the test cache folder: the first run on a
checkout builds it (a minute or two on a small CPU, hence the generous timeouts on warming),
later runs load it in seconds.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tui.engine import aot_decode, cpu_steps, fast_path, step_store
from tui.engine.backend import LoadSpec
from tui.engine.fast_path import FastPath, decide
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings

HELLO = [{"role": "user", "content": "Hello there, how are you today?"}]
GREEDY = GenerationSettings(max_new_tokens=24, do_sample=False, repetition_penalty=1.0)
WARM_TIMEOUT_S = 600  # a cold inductor compile on a busy 2-core machine


@pytest.fixture(scope="module")
def fast_backend(tiny_model: Path) -> TransformersBackend:
    """A backend with the fast path forced on (auto leaves it off for a toy model)."""
    backend = TransformersBackend(fast="on")
    backend.load(LoadSpec(model=str(tiny_model)))
    return backend


def warm(backend: TransformersBackend) -> FastPath:
    """Warm the cache size the tests' replies use (the tiny model has just one, 512)."""
    path = backend.fast_path
    assert path is not None
    path.warm()
    assert path.wait(WARM_TIMEOUT_S), path.error
    return path


def reply_text(backend: TransformersBackend, settings: GenerationSettings = GREEDY) -> str:
    return "".join(backend.stream(HELLO, settings, threading.Event()))


class Spy:
    """Records what FastPath.generate_kwargs answered, to know which path a reply took."""

    def __init__(self, path: FastPath, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: list[dict[str, Any] | None] = []
        real = path.generate_kwargs

        def spy(prompt_tokens: int, max_new_tokens: int) -> dict[str, Any] | None:
            answer = real(prompt_tokens, max_new_tokens)
            self.answers.append(answer)
            return answer

        monkeypatch.setattr(path, "generate_kwargs", spy)


def test_greedy_reply_on_the_fast_path_equals_plain_generate(
    fast_backend: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torch._dynamo.utils import counters

    path = warm(fast_backend)
    spy = Spy(path, monkeypatch)
    path.enabled = False
    plain = reply_text(fast_backend)
    path.enabled = True
    compiled_before = counters["frames"]["total"]
    fast = reply_text(fast_backend)
    again = reply_text(fast_backend)
    assert spy.answers[0] is None  # disabled: plain generate
    assert spy.answers[1] is not None and "cache" in spy.answers[1]  # static cache, compiled
    assert fast == plain
    assert again == plain  # a second reply reuses the compiled graph with a fresh cache
    assert fast_backend.speed_path() == "compiled"  # what the gauges say of the reply
    # The warm-up compiled everything: a reply never compiles (which would stall it).
    assert counters["frames"]["total"] == compiled_before


def test_fast_reply_keeps_stats_and_stop_reasons(fast_backend: TransformersBackend) -> None:
    warm(fast_backend)
    reply = fast_backend.stream(HELLO, GREEDY, threading.Event())
    text = "".join(reply)
    assert text and reply.error is None
    assert reply.stats.new_tokens == GREEDY.max_new_tokens
    assert reply.stats.stop_reason == "length"
    assert reply.stats.decode_tps and reply.stats.decode_tps > 0


def test_cancel_works_on_the_fast_path(fast_backend: TransformersBackend) -> None:
    warm(fast_backend)
    cancel = threading.Event()
    reply = fast_backend.stream(HELLO, GenerationSettings(max_new_tokens=300), cancel)

    def press_esc_at_the_first_token() -> None:
        # Not at the first text: the streamer holds text back until a word ends, and this
        # tiny model can write all 300 tokens (in half a second) without a space.
        deadline = time.monotonic() + 30
        while reply.stats.new_tokens < 1 and time.monotonic() < deadline:
            time.sleep(0.0005)
        cancel.set()

    threading.Thread(target=press_esc_at_the_first_token, daemon=True).start()
    list(reply)
    assert reply.stats.stop_reason == "cancelled"
    assert reply.stats.new_tokens < 300


def test_sampling_with_a_seed_is_repeatable_on_the_fast_path(
    fast_backend: TransformersBackend,
) -> None:
    warm(fast_backend)
    settings = GenerationSettings(max_new_tokens=12, do_sample=True, seed=3, temperature=1.0)
    assert reply_text(fast_backend, settings) == reply_text(fast_backend, settings)


def test_a_reply_too_long_for_any_cache_bucket_uses_plain_generate(
    fast_backend: TransformersBackend,
) -> None:
    path = warm(fast_backend)
    limit = path.buckets[-1]
    assert path.generate_kwargs(prompt_tokens=limit, max_new_tokens=1) is None
    assert path.generate_kwargs(prompt_tokens=10, max_new_tokens=20) is not None


def test_a_compile_never_runs_beside_a_reply_and_replies_never_wait_for_it(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing compiles at load; the first reply goes the plain way and its cache size is
    compiled once it is over; a reply during that compile (held here) goes the plain way too.
    (A first launch: no compiled step on disk to preload.)"""
    gate = threading.Event()
    real_warm = FastPath._warm
    started: list[int] = []

    def held_warm(self: FastPath, bucket: int, build: bool = True) -> None:
        started.append(bucket)
        gate.wait(WARM_TIMEOUT_S)
        real_warm(self, bucket, build)

    monkeypatch.setattr(FastPath, "_warm", held_warm)
    monkeypatch.setattr(FastPath, "preload", lambda self: None)
    backend = TransformersBackend(fast="on")
    backend.load(LoadSpec(model=str(tiny_model)))
    path = backend.fast_path
    assert path is not None and path.state == "idle" and not started
    spy = Spy(path, monkeypatch)
    try:
        reply = backend.stream(HELLO, GREEDY, threading.Event())
        for _ in reply:
            assert not started  # nothing compiles while the reply runs
        assert spy.answers == [None] and backend.speed_path() == ""
        assert path.state == "warming" and started == [512]  # the size it lacked, now
        assert reply_text(backend)  # answered while the compile is still held
        assert spy.answers == [None, None]
        assert backend.speed_path() == "compiling"
    finally:
        gate.set()
    assert path.wait(WARM_TIMEOUT_S), path.error
    assert path.state == "ready"
    assert reply_text(backend)
    assert spy.answers[-1] is not None
    assert started == [512]  # warm now: nothing more to compile


def test_a_failed_compile_turns_the_fast_path_off_and_replies_go_on(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> Any:
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(cpu_steps.CpuSteps, "ensure", broken)
    monkeypatch.setattr(FastPath, "preload", lambda self: None)
    backend = TransformersBackend(fast="on")
    backend.load(LoadSpec(model=str(tiny_model)))
    path = backend.fast_path
    assert path is not None
    path.warm()
    assert not path.wait(60)
    assert path.state == "failed" and "no compiler here" in (path.error or "")
    assert path.generate_kwargs(10, 20) is None
    assert reply_text(backend)


def test_auto_on_the_cpu_is_on_unless_tchat_fast_says_off(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite runs with TCHAT_FAST=off (conftest): a real model's CPU compile would take a
    # core for minutes at every launch. Without it, "auto" turns the path on on this CPU.
    auto = TransformersBackend()  # fast="auto" is the default
    auto.load(LoadSpec(model=str(tiny_model)))
    assert auto.fast_path is None and "off" in auto.fast_note
    monkeypatch.delenv(fast_path.ENV_VAR)
    monkeypatch.setattr(fast_path, "_have_cxx", lambda: True)
    assert decide("auto", auto.model).use
    assert "compiled" in decide("auto", auto.model).reason
    monkeypatch.setenv(fast_path.ENV_VAR, "on")
    assert decide("auto", auto.model).use
    assert not decide("off", auto.model).use  # an explicit mode beats the environment
    monkeypatch.setenv(fast_path.ENV_VAR, "off")
    assert decide("on", auto.model).use


def test_auto_decision_by_device_and_size(monkeypatch: pytest.MonkeyPatch) -> None:
    class Param:
        def __init__(self, n: int) -> None:
            self.n = n

        def numel(self) -> int:
            return self.n

        def element_size(self) -> int:
            return 4

    class Device:
        def __init__(self, kind: str) -> None:
            self.type = kind

    class Model:
        hf_quantizer = None

        def __init__(self, params: int, device: str) -> None:
            self.device = Device(device)
            self._params = [Param(params)]

        def parameters(self) -> list[Param]:
            return self._params

    class Memory:
        available = 24 << 30

    monkeypatch.delenv(fast_path.ENV_VAR)
    monkeypatch.setattr("psutil.virtual_memory", lambda: Memory())
    monkeypatch.setattr(aot_decode, "supported", lambda _model: None)  # no config here
    monkeypatch.setattr(fast_path, "_have_cxx", lambda: True)
    assert decide("auto", Model(135_000_000, "cpu")).use
    # fp32 7B: 28 GB of weights, and a packed copy of them would not fit in 24 GiB.
    too_big = decide("auto", Model(7_000_000_000, "cpu"))
    assert not too_big.use and "RAM" in too_big.reason
    assert decide("on", Model(135_000_000, "cpu")).use
    assert decide("auto", Model(7_000_000_000, "cuda")).use
    monkeypatch.setattr(fast_path, "_have_cxx", lambda: False)
    assert not decide("auto", Model(135_000_000, "cpu")).use
    assert "C++ compiler" in decide("on", Model(135_000_000, "cpu")).reason
    with pytest.raises(ValueError):
        decide("fast", Model(1, "cpu"))


def test_bitsandbytes_and_cpu_int8_models_are_never_compiled() -> None:
    class Quantizer:
        is_compileable = False

    class Model:
        hf_quantizer = Quantizer()

    class Int8Model:
        tchat_int8 = True

    assert not decide("on", Model()).use
    assert not decide("on", Int8Model()).use


def test_8bit_on_the_cpu_uses_torch_int8_and_answers(tiny_model: Path) -> None:
    from torch.ao.nn.quantized.dynamic import Linear as Int8Linear

    backend = TransformersBackend(fast="on")
    backend.load(LoadSpec(model=str(tiny_model), quantize="8bit", device="cpu"))
    assert backend.fast_path is None and "int8" in backend.fast_note
    assert isinstance(backend.model.lm_head, Int8Linear)
    assert reply_text(backend)


def test_buckets_grow_by_powers_of_two_up_to_the_context_length() -> None:
    assert fast_path._buckets(512) == (512,)
    assert fast_path._buckets(8192) == (512, 1024, 2048, 4096, 8192)
    assert fast_path._buckets(3000) == (512, 1024, 2048, 3000)


def test_unknown_fast_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        TransformersBackend(fast="turbo")


def test_a_compile_switches_threads_often_and_restores_the_interval_after(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compile in this process (no LoadSpec to hand a child process) holds the GIL for
    minutes: a reply beside it crawled at 0.4 tok/s with Python's default 5 ms switches."""
    import sys

    seen: list[float] = []

    def spying_build(*_args: object, **_kwargs: object) -> float:
        seen.append(sys.getswitchinterval())
        raise RuntimeError("enough: the interval was seen")

    monkeypatch.setattr(aot_decode, "build", spying_build)
    monkeypatch.setattr(step_store, "ready", lambda _key: False)
    before = sys.getswitchinterval()
    backend = TransformersBackend(fast="off")
    backend.load(LoadSpec(model=str(tiny_model)))
    path = FastPath(backend.model, backend.tokenizer)  # no spec: builds here
    path.warm()
    path.wait(WARM_TIMEOUT_S)
    assert seen[0] == pytest.approx(fast_path.COMPILE_SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == before


def test_replies_use_the_smallest_warm_cache_that_holds_them_and_long_cpu_chats_go_plain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Model:
        class config:  # noqa: N801 - stands in for a transformers config
            max_position_embeddings = 8192

        class device:  # noqa: N801
            type = "cpu"

    monkeypatch.setattr(FastPath, "_kwargs", lambda self, bucket: {"bucket": bucket})
    path = FastPath(Model(), None)
    assert path.buckets == (512, 1024, 2048)  # bigger static caches decode slower than plain
    assert path.generate_kwargs(39, 512) is None  # nothing warm: plain, and after it...
    assert path._wanted == 1024  # ...the size it needed is compiled
    path._ready.update({1024, 2048})
    assert path.generate_kwargs(39, 512) == {"bucket": 1024}
    assert path.generate_kwargs(39, 64) == {"bucket": 1024}  # a bigger warm one serves
    assert path.generate_kwargs(1200, 512) == {"bucket": 2048}
    assert path.generate_kwargs(3000, 512) is None and path._wanted is None  # plain for good
