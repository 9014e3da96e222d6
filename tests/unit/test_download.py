"""Downloading a model from a local stand-in for the hub: plan, progress, cancel, resume, failures.

The hub is `tests/helpers/fake_hub.py` on 127.0.0.1 (HF_ENDPOINT), serving a tiny random
model built by `tests/helpers/tiny_models.py` plus decoys a real repo has (a .bin beside the
safetensors, an original/ folder, a README). Nothing here reaches the real hub: the global
HF_HUB_OFFLINE of tests/conftest.py is lifted for the fake hub only (`point_at`).
"""

from __future__ import annotations

import errno
import hashlib
import shutil
import socket
import threading
import time
from collections import namedtuple
from pathlib import Path

import pytest

from tests.helpers.fake_hub import FakeHub, point_at
from tui.models import download
from tui.models.download import (
    DownloadCancelled,
    DownloadError,
    fetch,
    needs_download,
    plan_download,
)
from tui.models.download_progress import DownloadProgress

REPO = "test-org/tiny-chat"
GATED = "test-org/gated-chat"
WEIGHTS = "model.safetensors"
DECOYS = {
    "pytorch_model.bin": b"\0" * 50_000,
    "original/consolidated.00.pth": b"\0" * 50_000,
    "README.md": b"# tiny\n",
}


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.tiny_models import build_model

    # Weights of ~600 kB: long enough at 200 kB/s to watch and cancel, short to run.
    return build_model(tmp_path_factory.mktemp("hub") / "tiny", intermediate_size=1024)


@pytest.fixture
def hub(tiny_repo: Path):  # noqa: ANN201
    with FakeHub() as server:
        server.add_folder(REPO, tiny_repo, extra=DECOYS)
        server.add_folder(GATED, tiny_repo, gated=True, allowed_tokens=("hf_granted",))
        yield server


@pytest.fixture
def cache(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return point_at(hub, monkeypatch, tmp_path / "hf-cache")


class Recorder:
    """Keeps every progress record; `cancel_at` sets the cancel event past that many bytes."""

    def __init__(self, cancel: threading.Event | None = None, cancel_at: int | None = None):
        self.records: list[DownloadProgress] = []
        self.cancel = cancel
        self.cancel_at = cancel_at

    def __call__(self, progress: DownloadProgress) -> None:
        self.records.append(progress)
        if self.cancel is not None and self.cancel_at is not None:
            if progress.bytes_done >= self.cancel_at:
                self.cancel.set()


def weights_sha(hub: FakeHub) -> str:
    return hashlib.sha256(hub.repos[REPO].files[WEIGHTS].data).hexdigest()


def blob(cache: Path, etag: str) -> Path:
    return cache / "models--test-org--tiny-chat" / "blobs" / etag


# -- the plan --------------------------------------------------------------------------------


def test_the_plan_takes_only_what_loading_needs_and_writes_nothing(
    hub: FakeHub, cache: Path
) -> None:
    plan = plan_download(REPO)
    names = {f.name for f in plan.files}
    assert WEIGHTS in names and "config.json" in names and "tokenizer.json" in names
    assert not names & set(DECOYS)
    assert set(DECOYS) <= set(plan.skipped)
    assert plan.total_bytes == sum(len(hub.repos[REPO].files[n].data) for n in names)
    assert plan.needed_bytes == plan.total_bytes and plan.disk_ok
    assert plan.commit == hub.repos[REPO].commit
    # The figures the memory estimate needs, from the hub's metadata and config.json.
    assert plan.facts.parameters == sum(hub.repos[REPO].parameters.values())
    assert plan.facts.context_length == 512 and plan.facts.has_chat_template
    assert plan.facts.size_on_disk == plan.total_bytes
    summary = "\n".join(plan.summary())
    assert "files" in summary and "free in" in summary and "pytorch_model.bin" in summary
    assert not cache.exists()  # planning fetched metadata into memory only
    assert not hub.file_requests(WEIGHTS)


def test_a_cached_model_needs_no_download_and_no_network(hub: FakeHub, cache: Path) -> None:
    assert needs_download(REPO)
    fetch(plan_download(REPO), Recorder(), threading.Event())
    hub.requests.clear()
    assert not needs_download(REPO)
    assert not needs_download("")  # the bundled default
    assert not needs_download("./some/folder") and not needs_download("/x/model.gguf")
    assert not hub.requests


# -- progress, cancel, resume -------------------------------------------------------------------


def test_a_slow_download_shows_progress_cancels_halfway_and_resumes_from_the_partial(
    hub: FakeHub, cache: Path
) -> None:
    hub.rate = 200_000  # bytes/s: about three seconds for the weights
    plan = plan_download(REPO)
    cancel = threading.Event()
    seen = Recorder(cancel, cancel_at=plan.total_bytes // 2)
    started = time.monotonic()
    with pytest.raises(DownloadCancelled):
        fetch(plan, seen, cancel)
    assert time.monotonic() - started < 10
    # Progress a user can read: bytes growing towards the total, a rate and a time left.
    done = [r.bytes_done for r in seen.records]
    assert done == sorted(done) and done[-1] >= plan.total_bytes // 2
    assert all(r.bytes_total == plan.total_bytes for r in seen.records)
    assert any(r.rate and 50_000 < r.rate < 400_000 for r in seen.records)
    assert any(r.eta_s is not None for r in seen.records)
    assert seen.records[-1].files_done == len(plan.files) - 1  # small files first, then weights
    weights = next(f for f in plan.files if f.name == WEIGHTS)
    partial = blob(cache, weights.etag).with_name(weights.etag + ".incomplete")
    kept = partial.stat().st_size
    assert 0 < kept < weights.size
    assert needs_download(REPO)

    # The next try asks the hub for the rest only, and finishes a whole, verified file.
    again = plan_download(REPO)
    assert again.have_bytes == plan.total_bytes - weights.size + kept
    hub.rate = None
    hub.requests.clear()
    resumed = Recorder()
    snapshot = fetch(again, resumed, threading.Event())
    ranges = [r.range for r in hub.file_requests(WEIGHTS)]
    assert ranges and all(r == f"bytes={kept}-" for r in ranges)
    assert resumed.records[0].bytes_done == again.have_bytes  # counted done, not re-sent
    assert resumed.records[-1].phase == "done"
    assert not partial.exists()
    data = (snapshot / WEIGHTS).read_bytes()
    assert hashlib.sha256(data).hexdigest() == weights_sha(hub)
    assert not needs_download(REPO)


def test_a_cut_transfer_is_resumed_at_once_with_a_range(hub: FakeHub, cache: Path) -> None:
    hub.cut_after[WEIGHTS] = 100_000
    snapshot = fetch(plan_download(REPO), Recorder(), threading.Event())
    ranges = [r.range for r in hub.file_requests(WEIGHTS) if r.range]
    assert ranges == ["bytes=100000-", "bytes=100000-"]  # resolve, then the CDN it redirects to
    assert hashlib.sha256((snapshot / WEIGHTS).read_bytes()).hexdigest() == weights_sha(hub)


def test_a_hub_gone_mid_transfer_gives_up_within_seconds_keeping_what_came(
    hub: FakeHub, cache: Path
) -> None:
    hub.rate = 200_000
    plan = plan_download(REPO)

    def stop_the_hub(progress: DownloadProgress) -> None:
        if progress.bytes_done > plan.total_bytes // 3:
            hub.stop()  # connection cut, then refused

    started = time.monotonic()
    with pytest.raises(DownloadError, match="stopped answering .* are kept") as caught:
        fetch(plan, stop_the_hub, threading.Event())
    assert time.monotonic() - started < 10
    assert "continues from there" in caught.value.hint
    assert list((cache / "models--test-org--tiny-chat" / "blobs").glob("*.incomplete"))


def test_a_damaged_file_is_deleted_and_said(hub: FakeHub, cache: Path) -> None:
    hub.corrupt.add(WEIGHTS)
    with pytest.raises(DownloadError, match="arrived damaged"):
        fetch(plan_download(REPO), Recorder(), threading.Event())
    blobs = cache / "models--test-org--tiny-chat" / "blobs"
    assert not list(blobs.glob("*.incomplete"))
    assert len(list(blobs.iterdir())) == 5  # the good small files stay
    assert needs_download(REPO)


# -- no network, no access, no room ---------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_fails_at_once(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with pytest.raises(DownloadError, match="cannot be reached") as caught:
        plan_download(REPO)
    assert time.monotonic() - started < 2
    assert f"{REPO} is not on this machine" in caught.value.message


def test_offline_mode_says_so_without_a_request(
    hub: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE is set"):
        plan_download(REPO)
    assert not hub.requests


def test_a_gated_repo_without_a_token_names_the_page_and_the_login(
    hub: FakeHub, cache: Path
) -> None:
    with pytest.raises(DownloadError) as caught:
        plan_download(GATED)  # before the user is asked to confirm anything
    text = str(caught.value)
    assert "gated or private" in text and "401" in text
    assert f"{hub.url}/{GATED}" in text
    assert "HF_TOKEN" in text and "hf auth login" in text


def test_a_token_without_access_gets_a_403_message_that_never_shows_it(
    hub: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_not_this_one_SECRET")
    with pytest.raises(DownloadError) as caught:
        plan_download(GATED)
    text = str(caught.value)
    assert "403" in text and "the token in use has no access" in text
    assert "SECRET" not in text
    assert any(r.authorized for r in hub.requests)  # the token was sent, as the hub expects
    monkeypatch.setenv("HF_TOKEN", "hf_granted")
    snapshot = fetch(plan_download(GATED), Recorder(), threading.Event())
    assert (snapshot / WEIGHTS).is_file()
    assert not any(
        "hf_granted" in p.read_text(errors="ignore") for p in cache.rglob("*") if p.is_file()
    )


def test_an_unknown_repo_is_named(hub: FakeHub, cache: Path) -> None:
    with pytest.raises(DownloadError, match="No model test-org/nope"):
        plan_download("test-org/nope")


Usage = namedtuple("Usage", "total used free")


def test_a_disk_too_small_is_refused_before_a_byte_moves(
    hub: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: Usage(10**9, 10**9 - 50_000, 50_000))
    plan = plan_download(REPO)
    assert not plan.disk_ok
    problem = plan.disk_problem()
    assert problem is not None and "Not enough disk space" in problem
    assert str(cache) in problem and "has 50 kB free" in problem
    with pytest.raises(DownloadError, match="Not enough disk space"):
        fetch(plan, Recorder(), threading.Event())
    assert not hub.file_requests(WEIGHTS)


def test_a_disk_that_fills_up_midway_keeps_the_partial(
    hub: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = [0]
    real = download._write

    def write(fh, chunk: bytes) -> None:  # noqa: ANN001
        if written[0] > 200_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        written[0] += len(chunk)
        real(fh, chunk)

    monkeypatch.setattr(download, "_write", write)
    with pytest.raises(DownloadError, match="disk filled up") as caught:
        fetch(plan_download(REPO), Recorder(), threading.Event())
    assert "continues from there" in caught.value.hint
    assert list((cache / "models--test-org--tiny-chat" / "blobs").glob("*.incomplete"))


# -- and then it loads and chats -----------------------------------------------------------------


def test_the_downloaded_model_loads_offline_and_chats(
    hub: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.engine.backend import LoadSpec
    from tui.engine.transformers_backend import TransformersBackend
    from tui.store.session import GenerationSettings

    fetch(plan_download(REPO), Recorder(), threading.Event())
    hub.stop()  # from here on, no hub at all
    backend = TransformersBackend(fast="off")
    info = backend.load(LoadSpec(model=REPO, device="cpu"))
    assert info.id == REPO and info.revision == hub.repos[REPO].commit
    settings = GenerationSettings(max_new_tokens=6, do_sample=False)
    reply = backend.stream([{"role": "user", "content": "hi"}], settings, threading.Event())
    text = "".join(reply)
    assert reply.stats.new_tokens > 0 and isinstance(text, str)
