"""Remote-engine tests: a scripted server of the tests' own for faults, real servers for the
rest (`transformers serve` always; vLLM's CPU build where .venv-vllm exists and
TCHAT_TEST_VLLM=1, which `make test-engines` sets). Every server is on 127.0.0.1 and is stopped
by the fixture that started it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import serving
from tests.helpers.fake_openai_server import FakeServer


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def transformers_server(
    default_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serving.ServerProcess]:
    """`transformers serve` on the default model, shared by the tests that only read from it."""
    pytest.importorskip("fastapi", reason="the serving extra is not installed (make setup-dev)")
    log = tmp_path_factory.mktemp("serve") / "transformers-serve.log"
    server = serving.transformers_serve(default_model_dir, log)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def vllm_server(
    default_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serving.ServerProcess]:
    if os.environ.get("TCHAT_TEST_VLLM") != "1":
        pytest.skip("vLLM tests run with make test-engines (TCHAT_TEST_VLLM=1)")
    running = os.environ.get("TCHAT_VLLM_URL")  # a vLLM already up (its pid in TCHAT_VLLM_PID)
    if running:
        yield serving.running_server(running, int(os.environ.get("TCHAT_VLLM_PID", "0")))
        return
    if not serving.have_vllm():
        pytest.skip("no .venv-vllm: make setup-vllm")
    log = tmp_path_factory.mktemp("vllm") / "vllm.log"
    server = serving.vllm_serve(default_model_dir, log)
    try:
        yield server
    finally:
        server.stop()
