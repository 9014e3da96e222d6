"""Getting a model from the Hugging Face hub: plan it, check the disk, fetch it, resumably.

The first thing a user on a fresh GPU box does is ask for a model that is not there yet,
often 16 GB of it. So a download is two steps the user sees. `plan_download` asks the hub what
the repo holds and keeps only what loading needs (`hub_files`: configs, tokenizer, one weight
format), with each file's size and what is already on disk, the free space in the cache folder,
and the model's facts for the memory estimate; nothing is written. The user confirms, then
`fetch` streams the files into the HF cache (`hub_cache_files`) one by one, reporting
`DownloadProgress` several times a second, and stops within a chunk when `cancel` is set: the
partial file stays, and the next `fetch` of the same plan asks the hub for the rest only. A
transfer cut mid-way is resumed at once, a few times, before giving up with what it has.

`needs_download` answers "is this a hub id that is not fully cached?" without the network, so a
cached model still loads in seconds with no connection. No Textual, no torch; huggingface_hub
is imported inside the functions (by `hub_http`). Blocking: call from a worker thread.
"""

from __future__ import annotations

import errno
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tui.models import default_model, dtypes, hub_http
from tui.models.catalog import hub_cache_dir
from tui.models.config_facts import facts_from_config
from tui.models.download_progress import DownloadProgress, RateMeter, progress_line
from tui.models.facts import ModelFacts
from tui.models.hub_cache_files import (
    blob_path,
    complete_snapshot,
    free_space,
    link,
    lock_path,
    partial_path,
    partial_size,
    pointer_path,
    write_ref,
)
from tui.models.hub_files import SelectionError, index_to_read, select_files
from tui.models.hub_http import DownloadCancelled, DownloadError, RemoteFile
from tui.models.units import format_bytes

__all__ = [
    "DownloadCancelled",
    "DownloadError",
    "DownloadPlan",
    "PlannedFile",
    "fetch",
    "hub_id",
    "needs_download",
    "plan_download",
]

# Left free after the download: a disk filled to the last byte breaks everything else on it.
DISK_RESERVE_BYTES = 100_000_000
CHUNK_BYTES = None  # as the network delivers them (up to 64 KiB): a cancel is seen at once
REPORT_EVERY_S = 0.2  # progress records at most this often (and at every file's end)
CUT_RETRIES = 3  # tries in a row without a new byte before a cut transfer is given up
RETRY_WAIT_S = 0.5
HASH_BLOCK = 8 * 1024 * 1024

ProgressFn = Callable[[DownloadProgress], object]


@dataclass(frozen=True)
class PlannedFile:
    """One file to have: `have` bytes are on disk already (all of it when cached, a partial
    file's size when a try was cut or cancelled)."""

    name: str
    size: int
    etag: str
    sha256: str | None = None
    have: int = 0

    @property
    def complete(self) -> bool:
        return self.have >= self.size


@dataclass(frozen=True)
class DownloadPlan:
    """What a download of `repo_id` would fetch and where, before anything is fetched."""

    repo_id: str
    revision: str
    commit: str
    cache: Path
    files: tuple[PlannedFile, ...]
    weights_format: str
    facts: ModelFacts
    free_bytes: int
    skipped: tuple[str, ...] = ()
    gated: bool = False

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def have_bytes(self) -> int:
        return sum(min(f.have, f.size) for f in self.files)

    @property
    def needed_bytes(self) -> int:
        """Bytes still to come: what the disk must have room for."""
        return self.total_bytes - self.have_bytes

    @property
    def disk_ok(self) -> bool:
        return self.free_bytes >= self.needed_bytes + DISK_RESERVE_BYTES

    @property
    def snapshot(self) -> Path:
        return pointer_path(self.cache, self.repo_id, self.commit, "")

    def disk_problem(self) -> str | None:
        """Why the disk is too small, in words; None when it is big enough."""
        if self.disk_ok:
            return None
        return (
            f"Not enough disk space: {self.repo_id} needs {format_bytes(self.needed_bytes)} more "
            f"(and {format_bytes(DISK_RESERVE_BYTES)} to spare), and {self.cache} has "
            f"{format_bytes(self.free_bytes)} free."
        )

    def summary(self) -> list[str]:
        """The plan in a few plain lines: for the -p mode and the confirmation dialog."""
        weights = [f for f in self.files if _is_weights(f.name)]
        lines = [
            f"{self.repo_id}: {len(self.files)} files, {format_bytes(self.total_bytes)} "
            f"({len(weights)} {self.weights_format} weight file"
            f"{'s' if len(weights) != 1 else ''})",
        ]
        if self.have_bytes:
            lines.append(
                f"already here: {format_bytes(self.have_bytes)}; to download: "
                f"{format_bytes(self.needed_bytes)}"
            )
        lines.append(f"disk: {format_bytes(self.free_bytes)} free in {self.cache}")
        if self.skipped:
            lines.append(f"left out: {_left_out(self.skipped)}")
        return lines


def _is_weights(name: str) -> bool:
    return name.lower().endswith((".safetensors", ".bin", ".gguf"))


def _left_out(names: tuple[str, ...]) -> str:
    """ "original/ (3 files), pytorch_model.bin, README.md and 2 more": what was not taken."""
    folders: dict[str, int] = {}
    files: list[str] = []
    for name in names:
        if "/" in name:
            top = name.split("/", 1)[0] + "/"
            folders[top] = folders.get(top, 0) + 1
        else:
            files.append(name)
    parts = [f"{k} ({v} file{'s' if v != 1 else ''})" for k, v in folders.items()]
    parts += sorted(files, key=lambda n: (not _is_weights(n), n))
    shown = parts[:5]
    more = f" and {len(parts) - 5} more" if len(parts) > 5 else ""
    return ", ".join(shown) + more


# -- is a download needed? -----------------------------------------------------------------------


def hub_id(model: str) -> str | None:
    """`model` if it names a hub repo ("owner/name") rather than the default, a folder or a
    .gguf file; else None."""
    model = model.strip()
    if not model or default_model.is_default(model) or model.count("/") != 1 or " " in model:
        return None
    if model.startswith((".", "/", "~")) or model.lower().endswith(".gguf"):
        return None
    if Path(model).expanduser().exists():
        return None
    return model


def needs_download(model: str, cache: Path | None = None) -> bool:
    """True for a hub id whose `main` snapshot is not fully in the cache. No network."""
    repo = hub_id(model)
    if repo is None:
        return False
    return complete_snapshot(cache or hub_cache_dir(), repo) is None


# -- planning ------------------------------------------------------------------------------------


def plan_download(
    repo_id: str,
    revision: str = "main",
    *,
    cache: Path | None = None,
    gguf_file: str | None = None,
) -> DownloadPlan:
    """Ask the hub what `repo_id` holds and choose what to fetch. Raises `DownloadError`
    (offline, unreachable, gated, unknown repo, nothing loadable) before anything is written."""
    cache = cache or hub_cache_dir()
    listing = hub_http.list_repo(repo_id, revision)
    sizes = {name: f.size for name, f in listing.files.items()}
    index = index_to_read(sizes)
    weight_map = None
    if index is not None:
        weight_map = _json(repo_id, listing.commit, index).get("weight_map")
    try:
        chosen = select_files(
            sizes, weight_map if isinstance(weight_map, dict) else None, gguf_file
        )
    except SelectionError as exc:
        raise DownloadError(
            f"{repo_id} cannot be loaded by tchat: {exc}.",
            "Give a .gguf file's path once it is downloaded (hf download), or another repo.",
        ) from None
    # Read first, before the user confirms: a gated repo says so now, not after the prompt.
    config = _json(repo_id, listing.commit, "config.json") if "config.json" in chosen.files else {}
    facts = _facts(listing, config, chosen.files, chosen.weights_format)
    files = tuple(
        _planned(cache, repo_id, listing.commit, listing.files[name])
        for name in sorted(chosen.files, key=lambda n: (_is_weights(n), n))
    )
    return DownloadPlan(
        repo_id=repo_id,
        revision=revision,
        commit=listing.commit,
        cache=cache,
        files=files,
        weights_format=chosen.weights_format,
        facts=facts,
        free_bytes=free_space(cache),
        skipped=chosen.skipped,
        gated=listing.gated,
    )


def _json(repo_id: str, commit: str, filename: str) -> dict[str, Any]:
    try:
        data = json.loads(hub_http.read_small(repo_id, commit, filename))
    except ValueError:
        raise DownloadError(f"{filename} of {repo_id} is not valid JSON.") from None
    return data if isinstance(data, dict) else {}


def _planned(cache: Path, repo_id: str, commit: str, remote: RemoteFile) -> PlannedFile:
    blob = blob_path(cache, repo_id, remote.etag)
    pointer = pointer_path(cache, repo_id, commit, remote.name)
    if pointer.is_file() or (blob.is_file() and blob.stat().st_size == remote.size):
        have = remote.size
    else:
        have = min(partial_size(partial_path(cache, repo_id, remote.etag)), remote.size)
    return PlannedFile(remote.name, remote.size, remote.etag, remote.sha256, have)


def _facts(
    listing: hub_http.RepoListing,
    config: dict[str, Any],
    files: dict[str, int],
    weights_format: str,
) -> ModelFacts:
    """What the estimate needs, from the hub's metadata and config.json: the same figures the
    picker reads from a cached folder's headers."""
    facts = facts_from_config(config) if config else ModelFacts()
    weights = sum(size for name, size in files.items() if _is_weights(name))
    changes: dict[str, Any] = {
        "size_on_disk": sum(files.values()),
        "weights_format": weights_format,
        "has_chat_template": _has_template(files) or None,
    }
    packed = facts.quantization is not None and not facts.quantization.startswith("fp8")
    if listing.parameters and not packed:
        changes["parameters"] = sum(listing.parameters.values())
        changes["param_source"] = "safetensors"
        main = max(listing.parameters, key=lambda k: listing.parameters[k])
        changes["dtype"] = dtypes.short_dtype(main) or facts.dtype
        if facts.moe is None:
            changes["active_parameters"] = changes["parameters"]
    elif facts.parameters is None and weights and facts.dtype:
        row = dtypes.lookup(facts.dtype)
        if row is not None:  # no header and no shape: the weights' size says it
            changes["parameters"] = int(weights / row.bytes_per_param)
            changes["param_source"] = "size"
    return replace(facts, **changes)


def _has_template(files: dict[str, int]) -> bool:
    return any(
        n in ("chat_template.jinja", "chat_template.json")
        or n.startswith("additional_chat_templates/")
        for n in files
    )


# -- fetching ------------------------------------------------------------------------------------


class _Tally:
    """Counts bytes and files over the whole download and hands out progress records, at
    most every REPORT_EVERY_S (always at a file's end and a phase change)."""

    def __init__(self, plan: DownloadPlan, report: ProgressFn) -> None:
        self.plan = plan
        self.report = report
        self.files_done = sum(1 for f in plan.files if f.complete)
        self.bytes_done = plan.have_bytes
        self.resumed = plan.have_bytes
        self.meter = RateMeter()
        self.current = ""
        self._last = 0.0

    def moved(self, n: int) -> None:
        self.bytes_done += n
        self.meter.add(n)
        self.emit()

    def emit(self, phase: str = "downloading", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < REPORT_EVERY_S:
            return
        self._last = now
        remaining = self.plan.total_bytes - self.bytes_done
        self.report(
            DownloadProgress(
                repo_id=self.plan.repo_id,
                files_done=self.files_done,
                files_total=len(self.plan.files),
                bytes_done=self.bytes_done,
                bytes_total=self.plan.total_bytes,
                current=self.current,
                rate=self.meter.rate(),
                eta_s=self.meter.eta(remaining),
                phase=phase,
                resumed_bytes=self.resumed,
            )
        )


def fetch(plan: DownloadPlan, report: ProgressFn, cancel: threading.Event) -> Path:
    """Fetch every file of `plan` not yet complete into the HF cache; return the snapshot
    folder. Raises `DownloadCancelled` when `cancel` is set (within one chunk), `DownloadError`
    for anything the user must act on; partial files are kept either way."""
    hub_http.refuse_if_offline(plan.repo_id)
    now_free = free_space(plan.cache)
    checked = replace(plan, free_bytes=now_free)
    problem = checked.disk_problem()
    if problem:
        raise DownloadError(
            problem, "Free some space (hf cache rm, or remove old models), then try again."
        )
    tally = _Tally(plan, report)
    tally.meter.start()
    tally.emit(force=True)
    for planned in plan.files:
        if cancel.is_set():
            raise DownloadCancelled()
        if planned.complete:
            if _place_if_cached(plan, planned):
                continue
            tally.files_done -= 1  # counted as here at the start, gone since: fetched again
        tally.current = planned.name
        _fetch_file(plan, planned, tally, cancel)
        tally.files_done += 1
        tally.emit(force=True)
    write_ref(plan.cache, plan.repo_id, plan.revision, plan.commit)
    tally.current = ""
    tally.emit("done", force=True)
    return plan.snapshot


def _place_if_cached(plan: DownloadPlan, planned: PlannedFile) -> bool:
    """A complete file: make sure its snapshot entry exists. False if it vanished meanwhile."""
    pointer = pointer_path(plan.cache, plan.repo_id, plan.commit, planned.name)
    if pointer.is_file():
        return True
    blob = blob_path(plan.cache, plan.repo_id, planned.etag)
    if blob.is_file():
        link(blob, pointer)
        return True
    return False


def _fetch_file(
    plan: DownloadPlan, planned: PlannedFile, tally: _Tally, cancel: threading.Event
) -> None:
    from filelock import FileLock, Timeout

    lock = lock_path(plan.cache, plan.repo_id, planned.etag)
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock), timeout=1.0):
            _transfer(plan, planned, tally, cancel)
    except Timeout:
        raise DownloadError(
            f"Another download of {planned.name} ({plan.repo_id}) is running: another tchat, "
            "or hf download.",
            "Wait for it to finish, or stop it, then try again.",
        ) from None


def _hasher(planned: PlannedFile) -> Any:
    """What the blob's name promises: sha256 for LFS files, git's blob sha1 for small ones."""
    if planned.sha256:
        return hashlib.sha256()
    if len(planned.etag) == 40 and all(c in "0123456789abcdef" for c in planned.etag):
        sha1 = hashlib.sha1(usedforsecurity=False)
        sha1.update(f"blob {planned.size}\0".encode())
        return sha1
    return None


class _Part:
    """The `.incomplete` file of one blob and the running hash of its bytes, kept in step:
    every byte appended is hashed, so the finished file is checked without a second read."""

    def __init__(self, path: Path, planned: PlannedFile) -> None:
        self.path = path
        self.planned = planned
        self.size = partial_size(path)
        if self.size > planned.size:  # not this file's bytes: start over
            self.reset()
        self.hasher = _hasher(planned)

    def reset(self) -> None:
        self.path.write_bytes(b"")
        self.size = 0
        self.hasher = _hasher(self.planned)

    def hash_existing(self, tally: _Tally, cancel: threading.Event) -> None:
        if self.hasher is None or not self.size:
            return
        tally.emit("verifying", force=True)
        with open(self.path, "rb") as fh:
            left = self.size
            while left > 0:
                if cancel.is_set():
                    raise DownloadCancelled()
                block = fh.read(min(HASH_BLOCK, left))
                if not block:
                    break
                self.hasher.update(block)
                left -= len(block)

    @property
    def hash_ok(self) -> bool:
        if self.hasher is None:
            return True
        return self.hasher.hexdigest() == (self.planned.sha256 or self.planned.etag)


def _transfer(
    plan: DownloadPlan, planned: PlannedFile, tally: _Tally, cancel: threading.Event
) -> None:
    blob = blob_path(plan.cache, plan.repo_id, planned.etag)
    pointer = pointer_path(plan.cache, plan.repo_id, plan.commit, planned.name)
    counted = min(planned.have, planned.size)  # what the tally already counts as done
    if blob.is_file() and blob.stat().st_size == planned.size:
        link(blob, pointer)  # another process fetched it while we waited for the lock
        tally.bytes_done += planned.size - counted
        return
    partial = partial_path(plan.cache, plan.repo_id, planned.etag)
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        part = _Part(partial, planned)
        tally.bytes_done += part.size - counted
        part.hash_existing(tally, cancel)
        stalled = 0
        while part.size < planned.size:
            before = part.size
            try:
                _stream(plan, part, tally, cancel)
            except (DownloadCancelled, DownloadError, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - the HTTP client's errors
                if not (hub_http.is_transfer_cut(exc) or hub_http.is_unreachable(exc)):
                    raise hub_http.explain(exc, plan.repo_id) from None
                stalled = _retry_or_give_up(plan, part, before, stalled, exc, tally, cancel)
        if planned.size == 0:
            part.reset()
    except OSError as exc:
        raise _disk_error(plan, planned, exc, tally) from None
    if part.size != planned.size or not part.hash_ok:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"{planned.name} of {plan.repo_id} arrived damaged (its size or hash is wrong): "
            "the partial file was deleted.",
            "Try again: this file is downloaded afresh.",
        )
    partial.replace(blob)
    link(blob, pointer)


def _disk_error(
    plan: DownloadPlan, planned: PlannedFile, exc: OSError, tally: _Tally
) -> DownloadError:
    kept = f"{format_bytes(tally.bytes_done)} of {format_bytes(plan.total_bytes)} are kept"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(
            f"The disk filled up while downloading {planned.name}: {kept}.",
            "Free some space, then try again: the download continues from there.",
        )
    return DownloadError(
        f"Cannot write {planned.name} into {plan.cache}: {exc.strerror or exc}.",
        "Check the folder's permissions (or set HF_HUB_CACHE / HF_HOME elsewhere).",
    )


def _retry_or_give_up(
    plan: DownloadPlan,
    part: _Part,
    before: int,
    stalled: int,
    exc: BaseException,
    tally: _Tally,
    cancel: threading.Event,
) -> int:
    """After a cut: wait a moment and go on from the partial file, unless several tries in a
    row brought nothing (the server is gone), then give up with what is kept."""
    stalled = 0 if part.size > before else stalled + 1
    if stalled >= CUT_RETRIES:
        raise DownloadError(
            f"The hub stopped answering while {part.planned.name} of {plan.repo_id} was "
            f"downloading ({type(exc).__name__}): {format_bytes(tally.bytes_done)} of "
            f"{format_bytes(plan.total_bytes)} are kept.",
            "Check the network and try again: the download continues from there.",
        ) from None
    if cancel.wait(RETRY_WAIT_S * max(1, stalled)):
        raise DownloadCancelled()
    return stalled


def _write(fh: Any, chunk: bytes) -> None:
    """Append to the partial file (a seam: tests fill the disk here)."""
    fh.write(chunk)


def _stream(plan: DownloadPlan, part: _Part, tally: _Tally, cancel: threading.Event) -> None:
    """One GET from the partial file's end on, appended to it."""
    name = part.planned.name
    with hub_http.open_range(plan.repo_id, plan.commit, name, part.size) as response:
        if response.status_code == 416:  # the server has nothing past our end
            if part.size != part.planned.size:
                tally.bytes_done -= part.size
                part.reset()
            return
        if part.size > 0 and response.status_code != 206:
            # The server ignored the range and sends it all: start the file again.
            tally.bytes_done -= part.size
            part.reset()
        with open(part.path, "ab") as fh:
            for chunk in response.iter_bytes(CHUNK_BYTES):
                if cancel.is_set():
                    raise DownloadCancelled()
                _write(fh, chunk)
                if part.hasher is not None:
                    part.hasher.update(chunk)
                part.size += len(chunk)
                tally.moved(len(chunk))


def describe_progress(progress: DownloadProgress) -> str:
    """ "Qwen3-8B: 3/9 files · 4.10 of 16.4 GB · 52.1 MB/s · 4 min left" for status lines."""
    return f"{progress.repo_id.split('/')[-1]}: {progress_line(progress)}"
