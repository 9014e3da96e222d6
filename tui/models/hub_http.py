"""Talking to the Hugging Face hub for a download: the repo's file list, small files, byte ranges.

Through huggingface_hub's own HTTP session (`get_session()`), so a proxy or client the user set
up for the hub applies here too, and with its headers (`build_hf_headers`), so `HF_TOKEN` or the
token `hf auth login` saved is sent as the hub expects. tchat never reads, shows or stores the
token itself: it only asks whether one is being sent, to word a 401/403 message.

Why not `hf_hub_download`: huggingface_hub 2.x writes each file to a temporary name that it
deletes when the transfer fails, so a cancelled or cut 16 GB download starts again from zero,
and it reports progress per 10 MB chunk. Here each file streams into
`blobs/<etag>.incomplete` (the name the hub's cache scanner knows as an interrupted download)
and a later try asks for the rest with an HTTP Range. Xet-backed files come through the same
resolve URL (the hub redirects to its Xet bridge, which serves ranges); the hf_xet client is
not used, so they resume like the others.

Failing fast is the point of the timeouts: a refused connection fails at once, an unreachable
host after CONNECT_TIMEOUT_S, and nothing here retries a connection that was never made. Every
failure becomes a `DownloadError` whose message names the repo and whose hint says what to do.
huggingface_hub and its HTTP client are imported inside the functions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tui.models.errors import CatalogError

DEFAULT_ENDPOINT = "https://huggingface.co"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0  # a stalled transfer is noticed after this long without a byte


class DownloadError(CatalogError):
    """A download that could not start or finish; `message` and `hint` are for the user."""


class DownloadCancelled(Exception):
    """The user cancelled: partial files stay on disk and the next try resumes them."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a repo: size in bytes and the hub cache's blob name (the LFS sha256 for
    large files, the git blob id for small ones). `sha256` is set for LFS files."""

    name: str
    size: int
    etag: str
    sha256: str | None = None


@dataclass(frozen=True)
class RepoListing:
    """What the hub says of a repo at one revision: the commit and every file in it."""

    repo_id: str
    commit: str
    files: dict[str, RemoteFile]
    gated: bool = False
    # safetensors parameter counts per dtype ("BF16": 8_190_735_360), when the hub knows them
    parameters: dict[str, int] = field(default_factory=dict)


def endpoint() -> str:
    """HF_ENDPOINT as it is now (huggingface_hub reads it once, at import)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set now, or when huggingface_hub was imported
    (its session then refuses every request)."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(key, "").strip().lower() in ("1", "on", "yes", "true"):
            return True
    constants = sys.modules.get("huggingface_hub.constants")
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def model_page(repo_id: str) -> str:
    return f"{endpoint()}/{repo_id}"


def file_url(repo_id: str, commit: str, filename: str) -> str:
    return f"{endpoint()}/{repo_id}/resolve/{commit}/{quote(filename)}"


def _session() -> Any:
    from huggingface_hub import get_session

    return get_session()


def _http_module() -> Any:
    """The HTTP client library huggingface_hub's session is built on (httpx in 1.x, httpx2
    in 2.x): both have the same timeouts and exceptions, found through the session's class."""
    import importlib

    return importlib.import_module(type(_session()).__module__.split(".")[0])


def _timeout() -> Any:
    return _http_module().Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)


def headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    from huggingface_hub.utils import build_hf_headers

    return build_hf_headers(headers=extra)


def _token_sent() -> bool:
    try:
        return "authorization" in {k.lower() for k in headers()}
    except Exception:  # noqa: BLE001 - a broken token file: as if none were sent
        return False


def refuse_if_offline(repo_id: str) -> None:
    if offline():
        raise _offline_error(repo_id)


def _offline_error(repo_id: str) -> DownloadError:
    return DownloadError(
        f"{repo_id} is not on this machine, and HF_HUB_OFFLINE is set: it cannot be downloaded.",
        "Unset HF_HUB_OFFLINE to download it, or pick a model that is already on this "
        "machine (the app's model picker, F6, lists them).",
    )


def list_repo(repo_id: str, revision: str = "main") -> RepoListing:
    """The repo's files with sizes and blob ids at `revision` (one API call)."""
    refuse_if_offline(repo_id)
    from huggingface_hub import HfApi

    try:
        info = HfApi(endpoint=endpoint()).model_info(
            repo_id, revision=revision, files_metadata=True, timeout=_timeout()
        )
    except Exception as exc:  # noqa: BLE001 - every failure gets the user's words
        raise explain(exc, repo_id, listing=True) from None
    files: dict[str, RemoteFile] = {}
    for sibling in info.siblings or []:
        lfs = sibling.lfs
        if lfs is not None:
            files[sibling.rfilename] = RemoteFile(
                sibling.rfilename, int(lfs.size), lfs.sha256, lfs.sha256
            )
        elif sibling.blob_id is not None and sibling.size is not None:
            files[sibling.rfilename] = RemoteFile(sibling.rfilename, sibling.size, sibling.blob_id)
    if not info.sha:
        raise DownloadError(f"The hub gave no commit for {repo_id}.", "Try again later.")
    params = dict(info.safetensors.parameters) if info.safetensors else {}
    return RepoListing(repo_id, info.sha, files, bool(info.gated), params)


def read_small(repo_id: str, commit: str, filename: str, limit: int = 20_000_000) -> bytes:
    """A small file's bytes (a config, a weights index), into memory."""
    body = bytearray()
    try:
        with open_range(repo_id, commit, filename, 0) as response:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise DownloadError(f"{filename} of {repo_id} is larger than expected.")
    except DownloadError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise explain(exc, repo_id) from None
    return bytes(body)


@contextmanager
def open_range(repo_id: str, commit: str, filename: str, start: int) -> Iterator[Any]:
    """A streaming GET of `filename` from byte `start` on (the whole file for 0). The
    response's status is 206 when the server honoured the range, 200 when it sends it all."""
    extra = {"Accept-Encoding": "identity"}  # sizes must be the file's, not gzip's
    if start > 0:
        extra["Range"] = f"bytes={start}-"
    url = file_url(repo_id, commit, filename)
    opened = False  # errors of the caller's own block (a full disk, a cancel) pass as they are
    try:
        with _session().stream(
            "GET", url, headers=headers(extra), timeout=_timeout(), follow_redirects=True
        ) as response:
            if response.status_code >= 400 and response.status_code != 416:
                response.read()
                from huggingface_hub.utils import hf_raise_for_status

                hf_raise_for_status(response)
            opened = True
            yield response
    except Exception as exc:  # noqa: BLE001
        if opened or isinstance(exc, DownloadError) or is_transfer_cut(exc) or is_unreachable(exc):
            raise  # cut or refused: a download resumes from what it has, or says so
        raise explain(exc, repo_id) from None


def is_transfer_cut(exc: BaseException) -> bool:
    """A connection that broke or stalled after it was made: worth resuming."""
    http = _http_module()
    cut = (http.ReadTimeout, http.ReadError, http.RemoteProtocolError, http.WriteError)
    return isinstance(exc, cut)


def is_unreachable(exc: BaseException) -> bool:
    """The hub cannot be reached at all: no connection was made."""
    http = _http_module()
    return isinstance(exc, (http.ConnectError, http.ConnectTimeout, http.ProxyError))


def explain(exc: BaseException, repo_id: str, listing: bool = False) -> DownloadError:
    """`exc` from the hub or the network, in words the user can act on (`listing`: it came
    from asking for the repo's file list, not a file). Never quotes headers: an
    Authorization header must not reach the screen."""
    if isinstance(exc, DownloadError):
        return exc
    name = type(exc).__name__
    names = {c.__name__ for c in type(exc).__mro__}
    status = getattr(getattr(exc, "response", None), "status_code", None)
    page = model_page(repo_id)
    login = "set HF_TOKEN to a token of that account, or run `hf auth login`"
    if "OfflineModeIsEnabled" in names:
        return _offline_error(repo_id)
    if "GatedRepoError" in names or (
        status in (401, 403) and "RepositoryNotFoundError" not in names
    ):
        if _token_sent():
            return DownloadError(
                f"{repo_id} is gated or private, and the token in use has no access to it "
                f"(HTTP {status}).",
                f"Open {page}, accept its terms with the account the token belongs to, or "
                f"{login}, then try again.",
            )
        return DownloadError(
            f"{repo_id} is gated or private: the hub wants a login (HTTP {status}).",
            f"Open {page} and accept its terms, then {login}, and try again.",
        )
    if "RepositoryNotFoundError" in names or (listing and status == 404):
        return DownloadError(
            f"No model {repo_id} at {endpoint()} that this login can see (HTTP {status}).",
            f"Check the spelling (owner/name) at {page}; a private repo needs HF_TOKEN or "
            "`hf auth login`.",
        )
    if "RevisionNotFoundError" in names:
        return DownloadError(f"{repo_id} has no such revision.", "Check the branch or commit.")
    if "EntryNotFoundError" in names or status == 404:
        return DownloadError(
            f"A file of {repo_id} is missing on the hub (HTTP 404).",
            "The repo may be changing right now: try again in a minute.",
        )
    if status == 429:
        return DownloadError(
            "The hub is rate-limiting downloads from here (HTTP 429).",
            "Wait a few minutes and try again; a login (HF_TOKEN) raises the limit.",
        )
    if status is not None:
        return DownloadError(
            f"The hub answered HTTP {status} for {repo_id}.", "Try again in a few minutes."
        )
    if is_unreachable(exc):
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else name
        return DownloadError(
            f"{repo_id} is not on this machine, and the hub at {endpoint()} cannot be "
            f"reached ({reason[:120]}).",
            "Check the network (or HF_ENDPOINT and any proxy), or pick a model that is "
            "already on this machine (the app's model picker, F6, lists them).",
        )
    if is_transfer_cut(exc) or "TimeoutException" in names:
        return DownloadError(
            f"The connection to the hub broke while talking about {repo_id} ({name}).",
            "Try again: what was downloaded is kept.",
        )
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return DownloadError(f"Could not download {repo_id}: {name}{': ' + text[:160] if text else ''}")
