"""Which models the user can pick: the bundled default, the Hugging Face cache, model folders.

The picker lists everything already on this machine, so choosing a model never means
remembering an id. `list_models` gathers the bundled default, every causal LM in the HF cache,
and folders / .gguf files in the configured `model_dirs`; `describe` does the same for one
typed id or path. Each entry carries `ModelFacts` read from headers only (see `facts`),
so listing 50 models takes a fraction of a second. Pure blocking I/O: run it in a thread worker.
Nothing here touches the network: a typed hub id that is not cached is described as unknown.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tui.models import default_model
from tui.models.errors import CatalogError, FactsError
from tui.models.facts import ModelFacts, format_params
from tui.models.folder_facts import facts_from_folder
from tui.models.gguf_header import facts_from_gguf, gguf_display_name, is_secondary_shard
from tui.models.units import format_bytes

# "remote": a model an endpoint serves (tui/widgets/endpoint_models.py), listed after these.
SourceKind = Literal["bundled", "hf-cache", "folder", "gguf", "typed", "remote"]
KIND_ORDER: dict[str, int] = {
    "bundled": 0,
    "hf-cache": 1,
    "folder": 2,
    "gguf": 3,
    "typed": 4,
    "remote": 5,
}


@dataclass(frozen=True)
class CatalogEntry:
    """One model the picker can show. `id` is what to pass as `LoadSpec.model`.

    An entry with `error` set is still listed (a broken folder, the default model not
    installed) so the user sees why it cannot be chosen instead of it silently vanishing.
    """

    id: str
    name: str
    kind: SourceKind
    path: Path | None
    facts: ModelFacts = field(default_factory=ModelFacts)
    revision: str | None = None  # the HF cache snapshot's commit
    error: str | None = None
    hint: str = ""

    @property
    def loadable(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line for the list: "135M · fp32 · ctx 8192 · 538 MB · chat template"."""
        f = self.facts
        parts = [format_params(f)]
        if f.dtype:
            parts.append(f.dtype)
        if f.context_length:
            parts.append(f"ctx {f.context_length}")
        if f.size_on_disk is not None:
            parts.append(format_bytes(f.size_on_disk))
        if f.has_chat_template is False:
            parts.append("no chat template")
        elif f.has_chat_template:
            parts.append("chat template")
        return " · ".join(parts)


@dataclass(frozen=True)
class Catalog:
    """The result of one listing: entries (bundled first, then by source and name), models
    left out because they are not causal LMs (id, reason), and problems worth a notice."""

    entries: list[CatalogEntry]
    hidden: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def find(self, model_id: str) -> CatalogEntry | None:
        return next((e for e in self.entries if e.id == model_id), None)


# -- where the HF cache is ---------------------------------------------------------------------


def hub_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The HF hub cache as huggingface_hub would resolve it *now*.

    huggingface_hub 2.x reads HF_HUB_CACHE / HF_HOME once, when `huggingface_hub.constants` is
    imported, and `scan_cache_dir()` with no argument uses that frozen value. Tests (and a user
    who sets HF_HOME in the config) change the environment later, so the path is resolved here
    with the same precedence at call time and passed explicitly: HF_HUB_CACHE, then the legacy
    HUGGINGFACE_HUB_CACHE, then $HF_HOME/hub, then $XDG_CACHE_HOME/huggingface/hub, then
    ~/.cache/huggingface/hub.
    """
    env = os.environ if env is None else env

    def expand(value: str) -> Path:
        return Path(os.path.expandvars(os.path.expanduser(value)))

    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(key):
            return expand(env[key])
    if env.get("HF_HOME"):
        return expand(env["HF_HOME"]) / "hub"
    xdg = env.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return expand(xdg) / "huggingface" / "hub"


# -- building entries --------------------------------------------------------------------------


def _folder_entry(
    folder: Path,
    kind: SourceKind,
    model_id: str,
    name: str,
    *,
    revision: str | None = None,
    size_on_disk: int | None = None,
) -> CatalogEntry:
    try:
        facts = facts_from_folder(folder, size_on_disk=size_on_disk)
    except FactsError as exc:
        return CatalogEntry(
            model_id,
            name,
            kind,
            folder,
            revision=revision,
            error=str(exc),
            hint="Fix or re-download the model; its config.json must be valid JSON.",
        )
    return CatalogEntry(model_id, name, kind, folder, facts, revision=revision)


def _gguf_entry(path: Path, kind: SourceKind, model_id: str | None = None) -> CatalogEntry:
    model_id = model_id or str(path.resolve())
    name = gguf_display_name(path)
    try:
        facts = facts_from_gguf(path)
    except FactsError as exc:
        return CatalogEntry(model_id, name, kind, path, error=str(exc))
    return CatalogEntry(model_id, name, kind, path, facts)


def bundled_entry() -> CatalogEntry:
    """The default model. Facts come from the converted safetensors folder when it exists
    (that is what loads, and its header is quicker to read), else from the GGUF metadata."""
    mid, name = default_model.DEFAULT_MODEL_ID, default_model.DEFAULT_MODEL_NAME
    folder = default_model.cached_folder()
    if folder is not None:
        return _folder_entry(folder, "bundled", mid, name)
    try:
        gguf = default_model.gguf_path()
    except CatalogError as exc:
        return CatalogEntry(mid, name, "bundled", None, error=exc.message, hint=exc.hint)
    entry = _gguf_entry(gguf, "bundled", mid)
    return CatalogEntry(mid, name, "bundled", gguf, entry.facts, error=entry.error)


def _hidden_reason(entry: CatalogEntry) -> str | None:
    """Why a readable model is left out of the list (None: keep it)."""
    if entry.error is None and not entry.facts.is_causal_lm:
        return entry.facts.not_causal_reason or "not a causal language model"
    return None


def _scan_hub_cache(cache: Path, out: _Collector) -> None:
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound
    except ImportError:
        out.warnings.append("huggingface_hub is not installed: the HF cache is not listed")
        return
    try:
        info = scan_cache_dir(cache)
    except CacheNotFound:
        return  # no cache yet: nothing downloaded, not a problem
    except (OSError, ValueError) as exc:
        out.warnings.append(f"cannot scan the Hugging Face cache at {cache}: {exc}")
        return
    if info.warnings:
        out.warnings.append(f"{len(info.warnings)} damaged repo(s) in the HF cache were skipped")
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        # The snapshot `main` points at is what from_pretrained(repo_id) loads offline;
        # without a main ref, the newest snapshot.
        revisions = sorted(repo.revisions, key=lambda r: ("main" in r.refs, r.last_modified))
        rev = revisions[-1]
        snapshot = Path(rev.snapshot_path)
        if (snapshot / "config.json").exists():
            out.add(
                _folder_entry(
                    snapshot,
                    "hf-cache",
                    repo.repo_id,
                    repo.repo_id,
                    revision=rev.commit_hash,
                    size_on_disk=rev.size_on_disk,
                )
            )
            continue
        # A GGUF repo (no config.json): each quantization file is its own choice.
        ggufs = sorted(p for p in snapshot.rglob("*.gguf") if not is_secondary_shard(p))
        for path in ggufs:
            entry = _gguf_entry(path, "hf-cache")
            out.add(
                CatalogEntry(
                    entry.id,
                    f"{repo.repo_id}/{entry.name}",
                    "hf-cache",
                    path,
                    entry.facts,
                    revision=rev.commit_hash,
                    error=entry.error,
                )
            )
        if not ggufs:
            out.hidden.append((repo.repo_id, "no config.json or .gguf file"))


def _scan_model_dir(root: Path, out: _Collector) -> None:
    """One level deep: model folders and .gguf files in `root`, plus .gguf files inside its
    sub-folders (the usual layout after downloading a GGUF repo by hand)."""
    if not root.is_dir():
        out.warnings.append(f"model dir {root} does not exist")
        return
    if (root / "config.json").is_file():
        out.add(_folder_entry(root, "folder", str(root.resolve()), root.name))
    try:
        children = sorted(root.iterdir())
    except OSError as exc:
        out.warnings.append(f"cannot read model dir {root}: {exc.strerror or exc}")
        return
    for child in children:
        if child.name.startswith("."):
            continue
        if child.is_dir():
            if (child / "config.json").is_file():
                out.add(_folder_entry(child, "folder", str(child.resolve()), child.name))
                continue
            for path in sorted(child.glob("*.gguf")):
                if not is_secondary_shard(path):
                    out.add(_gguf_entry(path, "gguf"))
        elif child.suffix.lower() == ".gguf" and not is_secondary_shard(child):
            out.add(_gguf_entry(child, "gguf"))


@dataclass
class _Collector:
    """Accumulates entries, dropping non-causal models and paths already listed."""

    entries: list[CatalogEntry] = field(default_factory=list)
    hidden: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seen: set[Path] = field(default_factory=set)

    def add(self, entry: CatalogEntry) -> None:
        reason = _hidden_reason(entry)
        if reason:
            self.hidden.append((entry.id, reason))
            return
        if entry.path is not None:
            key = entry.path.resolve()
            if key in self.seen:
                return
            self.seen.add(key)
        self.entries.append(entry)


def list_models(
    model_dirs: Iterable[str | Path] = (),
    *,
    hub_cache: Path | None = None,
    include_bundled: bool = True,
    include_hub_cache: bool = True,
) -> Catalog:
    """Every causal LM on this machine: bundled default, HF cache, `model_dirs` (config
    `model_dirs` plus `--model-dir`). `hub_cache` defaults to `hub_cache_dir()` resolved now.
    Never raises for a bad model: it becomes an entry with `error`, or a catalog warning."""
    started = time.perf_counter()
    out = _Collector()
    if include_bundled:
        out.add(bundled_entry())
    if include_hub_cache:
        _scan_hub_cache(hub_cache or hub_cache_dir(), out)
    for d in model_dirs:
        _scan_model_dir(Path(d).expanduser(), out)
    entries = sorted(out.entries, key=lambda e: (KIND_ORDER[e.kind], e.name.lower()))
    return Catalog(entries, out.hidden, out.warnings, time.perf_counter() - started)


# -- one typed entry ---------------------------------------------------------------------------


def _cached_snapshot(cache: Path, repo_id: str) -> tuple[Path, str] | None:
    """(snapshot folder, commit) of a cached hub repo: refs/main if present, else the newest."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    try:
        commit = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
        if (repo / "snapshots" / commit).is_dir():
            return repo / "snapshots" / commit, commit
    except OSError:
        pass
    try:
        snaps = [p for p in (repo / "snapshots").iterdir() if p.is_dir()]
    except OSError:
        return None
    if not snaps:
        return None
    newest = max(snaps, key=lambda p: p.stat().st_mtime)
    return newest, newest.name


def describe(text: str, *, hub_cache: Path | None = None) -> CatalogEntry:
    """Describe what the user typed in the picker: the default's names, a .gguf path, a model
    folder, or a hub id. Found things get their real kind (bundled/folder/gguf/hf-cache); a hub
    id that is not cached is kind "typed" with unknown facts (it will be downloaded on load).
    Non-causal models are returned too, with `error` saying why they cannot be chatted with."""
    model = text.strip()
    if default_model.is_default(model):
        return bundled_entry()
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            return CatalogEntry(model, path.name, "gguf", path, error=f"no GGUF file at {path}")
        return _not_causal_as_error(_gguf_entry(path, "gguf"))
    if path.is_dir():
        return _not_causal_as_error(_folder_entry(path, "folder", str(path.resolve()), path.name))
    if path.exists() or model.startswith((".", "/", "~")):
        return CatalogEntry(model, path.name, "folder", path, error=f"{path} is not a model folder")
    if not model or model.count("/") > 1 or " " in model:
        return CatalogEntry(
            model,
            model,
            "typed",
            None,
            error=f"'{model}' is neither a file, a folder nor a Hugging Face id",
        )
    found = _cached_snapshot(hub_cache or hub_cache_dir(), model)
    if found is not None:
        snapshot, commit = found
        return _not_causal_as_error(
            _folder_entry(snapshot, "hf-cache", model, model, revision=commit)
        )
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    return CatalogEntry(
        model,
        model,
        "typed",
        None,
        error=f"{model} is not in the local cache and HF_HUB_OFFLINE is set" if offline else None,
        hint="Not downloaded yet: Enter asks the hub what it would fetch (files, size, free "
        "disk, memory fit) and downloads it once you confirm.",
    )


def _not_causal_as_error(entry: CatalogEntry) -> CatalogEntry:
    reason = _hidden_reason(entry)
    if reason is None:
        return entry
    return CatalogEntry(
        entry.id,
        entry.name,
        entry.kind,
        entry.path,
        entry.facts,
        entry.revision,
        error=reason,
        hint="tchat chats with causal language models (…ForCausalLM) only.",
    )


def merge_model_dirs(*groups: Sequence[str | Path] | None) -> list[Path]:
    """Config `model_dirs` + `--model-dir` values, expanded, in order, without duplicates."""
    seen: set[Path] = set()
    result: list[Path] = []
    for group in groups:
        for d in group or ():
            p = Path(d).expanduser()
            if p not in seen:
                seen.add(p)
                result.append(p)
    return result
