"""Where a downloaded file goes in the Hugging Face cache, so that Transformers finds it offline.

The layout is huggingface_hub's own: `models--owner--name/blobs/<etag>` holds the bytes,
`snapshots/<commit>/<path>` is a relative symlink to the blob, `refs/main` names the commit.
`from_pretrained("owner/name", local_files_only=True)` then loads it with no network, and
`hf cache ls` / `scan_cache_dir` list it, exactly as if `hf download` had fetched it. A
transfer in progress lives in `blobs/<etag>.incomplete` (the name the cache scanner reports as
an interrupted download) and is renamed into place only once its size and hash are right.
Two processes fetching the same blob take the lock huggingface_hub takes for it
(`.locks/models--owner--name/<etag>.lock`), so tchat and `hf download` never write one file at
once.

Also: the free disk space where the cache lives, and whether a cached repo holds a loadable
model already (no network). Blocking file I/O: call from a worker thread.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def repo_folder(cache: Path, repo_id: str) -> Path:
    return cache / ("models--" + repo_id.replace("/", "--"))


def blob_path(cache: Path, repo_id: str, etag: str) -> Path:
    return repo_folder(cache, repo_id) / "blobs" / etag


def partial_path(cache: Path, repo_id: str, etag: str) -> Path:
    return blob_path(cache, repo_id, etag).with_name(etag + ".incomplete")


def pointer_path(cache: Path, repo_id: str, commit: str, filename: str) -> Path:
    return repo_folder(cache, repo_id) / "snapshots" / commit / filename


def lock_path(cache: Path, repo_id: str, etag: str) -> Path:
    return cache / ".locks" / repo_folder(cache, repo_id).name / f"{etag}.lock"


def partial_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def link(blob: Path, pointer: Path) -> None:
    """Make `pointer` (a snapshot entry) point at `blob`, relatively, as huggingface_hub does;
    a copy where the file system has no symlinks."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.exists() or pointer.is_symlink():
        pointer.unlink()
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
    except OSError:
        shutil.copyfile(blob, pointer)


def write_ref(cache: Path, repo_id: str, revision: str, commit: str) -> None:
    """refs/<revision> -> commit (not for a revision that is itself the commit)."""
    if revision == commit:
        return
    ref = repo_folder(cache, repo_id) / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    tmp = ref.with_name(ref.name + ".tmp")
    tmp.write_text(commit, encoding="utf-8")
    os.replace(tmp, ref)


def free_space(path: Path) -> int:
    """Free bytes on the file system `path` is (or will be) on: the nearest folder that
    exists, since the cache may not have been made yet."""
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return 0


def _ref_snapshot(cache: Path, repo_id: str, revision: str) -> Path | None:
    folder = repo_folder(cache, repo_id)
    try:
        commit = (folder / "refs" / revision).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    snapshot = folder / "snapshots" / commit
    return snapshot if snapshot.is_dir() else None


def complete_snapshot(cache: Path, repo_id: str, revision: str = "main") -> Path | None:
    """The snapshot `revision` names if it holds a loadable model: a config.json and every
    weight file its index names (or at least one weights file where there is no index).
    None means a download is needed (nothing cached, or a partial one). No network."""
    snapshot = _ref_snapshot(cache, repo_id, revision)
    if snapshot is None or not (snapshot / "config.json").is_file():
        return None
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        path = snapshot / index
        if path.is_file():
            try:
                weight_map = json.loads(path.read_text(encoding="utf-8")).get("weight_map") or {}
            except (OSError, ValueError, AttributeError):
                return None
            shards = set(weight_map.values())
            return snapshot if shards and all((snapshot / s).is_file() for s in shards) else None
    for pattern in ("*.safetensors", "*.bin"):
        if any(p.is_file() for p in snapshot.glob(pattern)):
            return snapshot
    return None
