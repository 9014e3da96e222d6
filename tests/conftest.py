"""Test-wide set-up: every test runs with private XDG folders and no network.

The converted default model is cached in `.test-cache/` at the repo root (git-ignored) so the
15-30 s GGUF conversion happens once per checkout, not once per test run, and never touches
the user's own cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_CACHE = REPO / ".test-cache"

# Set before anything imports huggingface_hub: tests never download.
os.environ["XDG_CACHE_HOME"] = str(TEST_CACHE)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.pop("TCHAT_SESSIONS_DIR", None)
os.environ.pop("TCHAT_KEEP_ALIVE", None)  # a kept engine is started only by a test about it
# The fast path's "auto" compiles on the CPU too: a minute or two of a core at every launch
# of a real model. Tests that are about it ask for it (fast="on"); the rest run plain.
os.environ["TCHAT_FAST"] = "off"


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config and sessions in a fresh folder per test; the model cache stays shared."""
    home = tmp_path / "home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.delenv("TCHAT_SESSIONS_DIR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    import sys

    threads = sys.modules.get("tui.engine.cpu_threads")
    if threads is not None:  # a thread count one test measured is not the next test's
        monkeypatch.setattr(threads, "_chosen", None)
    return home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.tiny_models import build_model

    return build_model(tmp_path_factory.mktemp("tiny") / "tiny-llama")


@pytest.fixture(scope="session")
def tiny_model_no_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.tiny_models import build_model

    return build_model(tmp_path_factory.mktemp("tiny") / "tiny-base", chat_template=None)


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The real default model, converted once into the test cache."""
    from tui.models import default_model

    return default_model.ensure_converted()
