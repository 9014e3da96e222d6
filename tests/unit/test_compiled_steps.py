"""The CPU's compiled decode step, kept on disk: built once, loaded by every later launch.

What a user notices: the second launch decodes compiled without compiling again (the package
is found and loaded, no build runs), with the same greedy text as plain `generate`; a package
is never used for other weights, another thread count or another cache size; a failed build
only turns the fast path off; a build in flight shows its progress; the thread count is
measured once per machine and the user's own setting wins. The first build of the tiny
model takes a minute or two on a small CPU (AOTInductor's C++ build); later runs on the same
checkout find it in the test cache.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tui.engine import aot_decode, cpu_int4, cpu_steps, cpu_threads, fast_path, step_store
from tui.engine.backend import LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings

HELLO = [{"role": "user", "content": "Hello there, how are you today?"}]
GREEDY = GenerationSettings(max_new_tokens=24, do_sample=False, repetition_penalty=1.0)
BUILD_TIMEOUT_S = 900  # a cold AOTInductor build on a busy 2-core machine


def reply(backend: TransformersBackend) -> str:
    return "".join(backend.stream(HELLO, GREEDY, threading.Event()))


def loaded(model: Path, quantize: str | None = None) -> TransformersBackend:
    backend = TransformersBackend(fast="on")
    backend.load(LoadSpec(model=str(model), device="cpu", quantize=quantize))
    return backend


def compiled(backend: TransformersBackend) -> fast_path.FastPath:
    """The path with its 512-token step ready: built (in a child process) or found."""
    path = backend.fast_path
    assert path is not None and path.steps is not None
    path.warm(512)
    assert path.wait(BUILD_TIMEOUT_S), path.error
    return path


@pytest.mark.parametrize("quantize", [None, "4bit"])
def test_a_second_launch_decodes_compiled_without_compiling(
    tiny_model: Path, quantize: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if quantize and not cpu_int4.available():
        pytest.skip("torch without CPU int4 ops")
    first = loaded(tiny_model, quantize)
    compiled(first)
    first.fast_path.enabled = False
    plain = reply(first)
    first.fast_path.enabled = True
    assert reply(first) == plain and first.speed_path() == "compiled"

    # The next launch: a fresh backend on the same model. Nothing may build now.
    def no_build(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a build started although the package is on disk")

    monkeypatch.setattr(cpu_steps.CpuSteps, "_build_in_child", no_build)
    monkeypatch.setattr(cpu_steps.CpuSteps, "_build_here", no_build)
    second = loaded(tiny_model, quantize)
    again = second.fast_path
    assert again is not None and again.steps is not None
    assert again.preloading is not None  # started at load, in the background
    again.preloading.join(120)
    assert 512 in again.steps.from_disk and again.state == "ready"
    assert again.steps.built_s.get(512, 0) > 0  # how long it once took, from its record
    assert reply(second) == plain and second.speed_path() == "compiled"


def test_the_key_changes_with_what_a_package_depends_on(tiny_model: Path) -> None:
    import torch

    backend = TransformersBackend(fast="off")
    backend.load(LoadSpec(model=str(tiny_model), device="cpu"))
    model = backend.model
    base = step_store.key_for(model, "float32", 512, 1)
    assert base.digest == step_store.key_for(model, "float32", 512, 1).digest
    others = [
        step_store.key_for(model, "float32", 1024, 1),
        step_store.key_for(model, "float32", 512, 2),
        step_store.key_for(model, "int4", 512, 1),
    ]
    assert len({k.digest for k in others} | {base.digest}) == 4
    with torch.no_grad():  # a fine-tune under the same name: other weights, another package
        model.model.layers[1].mlp.up_proj.weight.add_(
            0.01 * torch.randn_like(model.model.layers[1].mlp.up_proj.weight)
        )
    assert step_store.key_for(model, "float32", 512, 1).digest != base.digest


def test_a_failed_build_turns_the_fast_path_off_and_replies_go_on(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = TransformersBackend(fast="off")
    backend.load(LoadSpec(model=str(tiny_model), device="cpu"))
    path = fast_path.FastPath(backend.model, backend.tokenizer)  # no spec: builds in-process
    backend.fast_path = path
    monkeypatch.setattr(step_store, "ready", lambda _key: False)

    def broken(*_args: object, **_kwargs: object) -> float:
        raise RuntimeError("c++ compiler exploded")

    monkeypatch.setattr(aot_decode, "build", broken)
    path.warm(512)
    path.wait(60)
    assert path.state == "failed" and "exploded" in (path.error or "")
    assert path.status() == "compile failed: plain replies"
    assert reply(backend) and backend.speed_path() == "compile failed"


def test_a_build_in_flight_shows_its_progress(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = TransformersBackend(fast="off")
    backend.load(LoadSpec(model=str(tiny_model), device="cpu"))
    path = fast_path.FastPath(backend.model, backend.tokenizer)
    halfway, finish = threading.Event(), threading.Event()
    monkeypatch.setattr(step_store, "ready", lambda _key: False)

    def slow_build(_model: object, _bucket: int, _target: Path, report) -> float:  # noqa: ANN001
        report(0.5, "autotuning matmuls")
        halfway.set()
        finish.wait(30)
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr(aot_decode, "build", slow_build)
    path.warm(512)
    assert halfway.wait(30)
    assert path.state == "warming"
    assert path.status().startswith("compiling 50% · autotuning matmuls · ")
    finish.set()
    path.wait(30)


def test_old_packages_are_pruned_least_recently_used_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setattr(step_store, "folder", lambda: tmp_path)
    for n, name in enumerate(["old", "mid", "new"]):
        (tmp_path / f"{name}.so").write_bytes(b"x" * 100)
        (tmp_path / f"{name}.json").write_text("{}")
        os.utime(tmp_path / f"{name}.so", (1000 + n, 1000 + n))
    removed = step_store.prune(keep=tmp_path / "old.so", budget=150)
    assert [p.name for p in removed] == ["mid.so"]  # "old" is the one in use: kept
    assert not (tmp_path / "mid.json").exists() and (tmp_path / "new.so").exists()


def test_threads_are_measured_once_per_machine_and_yours_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(cpu_threads, "cache_file", lambda: tmp_path / "threads.json")
    monkeypatch.setattr(cpu_threads, "all_cores", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(cpu_threads.ENV_VAR, raising=False)
    before = torch.get_num_threads()
    timed: list[int] = []

    def step_s(_model: object, threads: int) -> float:
        timed.append(threads)
        return {1: 0.010, 4: 0.0095}[threads]  # all cores barely faster: one thread wins

    monkeypatch.setattr(cpu_threads, "_step_s", step_s)
    try:
        choice = cpu_threads.measure(object())
        assert choice.threads == 1 and choice.source == "measured"
        assert sorted(set(timed)) == [1, 4]
        saved = json.loads((tmp_path / "threads.json").read_text())
        assert list(saved["machines"].values())[0]["threads"] == 1
        assert cpu_threads.current().text() == "1 thread (measured)"
        monkeypatch.setenv(cpu_threads.ENV_VAR, "3")
        assert cpu_threads.current().text() == "3 threads (yours)"
        timed.clear()
        assert cpu_threads.measure(object()).threads == 3 and not timed  # never measured over
    finally:
        torch.set_num_threads(before)


def test_a_tiny_models_thread_timing_is_used_but_not_kept_for_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite's toy models (2 ms steps) once set the machine's choice for the default
    model (30 ms steps): their timing serves their own process only."""
    import torch

    monkeypatch.setattr(cpu_threads, "cache_file", lambda: tmp_path / "threads.json")
    monkeypatch.setattr(cpu_threads, "all_cores", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(cpu_threads.ENV_VAR, raising=False)
    monkeypatch.setattr(cpu_threads, "_step_s", lambda _m, n: {1: 0.002, 4: 0.0019}[n])
    before = torch.get_num_threads()
    try:
        assert cpu_threads.measure(object()).threads == 1
        assert not (tmp_path / "threads.json").exists()
        assert cpu_threads.current().text() == "1 thread (measured)"  # this process uses it
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
