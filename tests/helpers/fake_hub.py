"""A local stand-in for the Hugging Face hub, on 127.0.0.1, for download tests.

It answers the calls tchat's downloader makes, the way huggingface.co does (learned from
huggingface_hub 2.4's `hf_api.model_info`, `file_download.get_hf_file_metadata` and
`utils/_http.hf_raise_for_status`):

- `GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}` (`?blobs=true`): the repo's
  commit (`sha`), its files (`siblings` with `size`, `blobId`, and `lfs` {size, sha256,
  pointerSize} for large files), `gated`, and `safetensors` parameter counts;
- `HEAD/GET /{repo}/resolve/{rev}/{path}`: the file, with `ETag`, `X-Repo-Commit`,
  `Content-Length`, `Accept-Ranges`; for LFS files `X-Linked-Etag`/`X-Linked-Size` and a 302 to
  `/cdn/{sha256}` (as the hub redirects to its CDN or Xet bridge), which serves the bytes;
- `Range: bytes=N-` answered with 206 and `Content-Range` (416 past the end);
- errors as the hub sends them: 401 + `X-Error-Code: RepoNotFound` for an unknown repo,
  401 (no token) / 403 (a token without access) + `X-Error-Code: GatedRepo` for a gated one.

Knobs for the tests: `rate` (bytes/s, a slow link), `cut_after[name] = n` (the next transfer
of that file breaks after n bytes, once), `corrupt` (files served with a byte changed), and
`requests`, a log of what was asked (method, path, Range, whether an Authorization header
came; never the token itself).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pth", ".pt", ".onnx", ".model")
SEND_BLOCK = 4096


@dataclass
class HubFile:
    name: str
    data: bytes
    lfs: bool

    @property
    def blob_id(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob_id


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]
    gated: bool = False
    allowed_tokens: tuple[str, ...] = ()
    parameters: dict[str, int] = field(default_factory=dict)

    @property
    def commit(self) -> str:
        digest = hashlib.sha1()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + self.files[name].etag.encode())
        return digest.hexdigest()

    def info(self) -> dict:
        siblings = []
        for f in self.files.values():
            entry: dict = {"rfilename": f.name, "size": len(f.data), "blobId": f.blob_id}
            if f.lfs:
                entry["lfs"] = {"size": len(f.data), "sha256": f.sha256, "pointerSize": 134}
            siblings.append(entry)
        data: dict = {
            "id": self.repo_id,
            "sha": self.commit,
            "private": False,
            "gated": "manual" if self.gated else False,
            "siblings": siblings,
        }
        if self.parameters:
            data["safetensors"] = {
                "parameters": self.parameters,
                "total": sum(self.parameters.values()),
            }
        return data


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    authorized: bool


def safetensors_parameters(data: bytes) -> dict[str, int]:
    """Parameter counts per dtype from a safetensors file's header, as the hub reports them."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    counts: dict[str, int] = {}
    for name, tensor in header.items():
        if name == "__metadata__":
            continue
        n = 1
        for dim in tensor["shape"]:
            n *= dim
        counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + n
    return counts


class FakeHub:
    """Start with `with FakeHub() as hub:`; `hub.url` is the HF_ENDPOINT to use."""

    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[Request] = []
        self.rate: float | None = None  # bytes per second for file bodies; None: full speed
        self.cut_after: dict[str, int] = {}
        self.corrupt: set[str] = set()  # files served with one byte changed
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- repos ----------------------------------------------------------------------------------

    def add_folder(
        self,
        repo_id: str,
        folder: Path,
        *,
        extra: dict[str, bytes] | None = None,
        gated: bool = False,
        allowed_tokens: tuple[str, ...] = (),
    ) -> HubRepo:
        """Serve every file under `folder` (a save_pretrained folder) as `repo_id`, plus
        `extra` files (decoys: other weight formats, an original/ folder, a README)."""
        files: dict[str, HubFile] = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                files[name] = HubFile(name, path.read_bytes(), name.endswith(LFS_SUFFIXES))
        for name, data in (extra or {}).items():
            files[name] = HubFile(name, data, name.endswith(LFS_SUFFIXES))
        params: dict[str, int] = {}
        for f in files.values():
            if f.name.endswith(".safetensors") and "/" not in f.name:
                for k, v in safetensors_parameters(f.data).items():
                    params[k] = params.get(k, 0) + v
        repo = HubRepo(repo_id, files, gated, allowed_tokens, params)
        self.repos[repo_id] = repo
        return repo

    def file_requests(self, name: str) -> list[Request]:
        """GETs of one file's bytes (resolve or CDN)."""
        repo_paths = {
            f"/cdn/{f.sha256}"
            for r in self.repos.values()
            for f in r.files.values()
            if f.name == name
        }
        return [
            r
            for r in self.requests
            if r.method == "GET" and (r.path.endswith("/" + name) or r.path in repo_paths)
        ]

    # -- server ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> FakeHub:
        hub = self

        class Handler(_Handler):
            owner = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_CDN = re.compile(r"^/cdn/(?P<sha>[0-9a-f]{64})$")


class _Handler(BaseHTTPRequestHandler):
    owner: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass  # quiet: the tests read `requests`

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._route(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._route(body=True)

    # -- routing ----------------------------------------------------------------------------

    def _route(self, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        self.owner.requests.append(
            Request(
                self.command,
                path,
                self.headers.get("Range"),
                self.headers.get("Authorization") is not None,
            )
        )
        if m := _API.match(path):
            self._api(m["repo"])
        elif m := _RESOLVE.match(path):
            self._resolve(m["repo"], m["rev"], m["path"], body)
        elif m := _CDN.match(path):
            found = self._by_sha(m["sha"])
            if found is None:
                self._error(404, "EntryNotFound")
            else:
                self._send_file(found[0], found[1], body, lfs_headers=False)
        else:
            self._error(404, None)

    def _repo(self, repo_id: str) -> HubRepo | None:
        return self.owner.repos.get(repo_id)

    def _by_sha(self, sha: str) -> tuple[HubRepo, HubFile] | None:
        for repo in self.owner.repos.values():
            for f in repo.files.values():
                if f.lfs and f.sha256 == sha:
                    return repo, f
        return None

    def _api(self, repo_id: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            self._error(401, "RepoNotFound", "Repository not found")
            return
        payload = json.dumps(repo.info()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _resolve(self, repo_id: str, rev: str, name: str, body: bool) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            self._error(401, "RepoNotFound", "Repository not found")
            return
        if repo.gated:
            auth = self.headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ").strip()
            if not token:
                self._error(401, "GatedRepo", "Access to this model is restricted.")
                return
            if token not in repo.allowed_tokens:
                self._error(403, "GatedRepo", "Access to this model is restricted.")
                return
        if rev not in ("main", repo.commit):
            self._error(404, "RevisionNotFound")
            return
        f = repo.files.get(name)
        if f is None:
            self._error(404, "EntryNotFound")
            return
        if f.lfs:
            # The hub's answer for an LFS file: metadata here, the bytes on its CDN.
            self.send_response(302)
            self.send_header("Location", f"/cdn/{f.sha256}")
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("X-Linked-Etag", f'"{f.sha256}"')
            self.send_header("X-Linked-Size", str(len(f.data)))
            self.send_header("ETag", f'"{f.blob_id}"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send_file(repo, f, body, lfs_headers=True)

    def _error(self, status: int, code: str | None, message: str = "") -> None:
        payload = json.dumps({"error": message or code or "error"}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        if message:
            self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    # -- bytes ------------------------------------------------------------------------------

    def _send_file(self, repo: HubRepo, f: HubFile, body: bool, lfs_headers: bool) -> None:
        size = len(f.data)
        start = 0
        wanted = self.headers.get("Range")
        if wanted:
            m = re.match(r"bytes=(\d+)-$", wanted.strip())
            start = int(m.group(1)) if m else 0
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if wanted else 200)
        if wanted:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{f.etag}"')
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if not body:
            return
        cut = self.owner.cut_after.pop(f.name, None)
        data = f.data
        if f.name in self.owner.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        sent = 0
        started = time.monotonic()
        for offset in range(start, size, SEND_BLOCK):
            block = data[offset : offset + SEND_BLOCK]
            if cut is not None and sent + len(block) > cut:
                self.wfile.write(block[: max(0, cut - sent)])
                self.wfile.flush()
                self._hang_up()  # a broken transfer, mid-body
                return
            try:
                self.wfile.write(block)
                self.wfile.flush()
            except OSError:
                return  # the client went away (a cancel)
            sent += len(block)
            rate = self.owner.rate
            if rate:
                due = started + sent / rate
                wait = due - time.monotonic()
                if wait > 0 and self.owner._stop.wait(wait):
                    self._hang_up()  # the hub goes away mid-transfer
                    return

    def _hang_up(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass


def point_at(hub: FakeHub, monkeypatch, cache: Path) -> Path:  # noqa: ANN001 - pytest's
    """Send this test's hub traffic to `hub` and its HF cache to `cache`: HF_ENDPOINT, the HF
    cache (the environment, and huggingface_hub's constants read at import, which
    Transformers uses), offline mode off for this test only (tests/conftest.py sets it for
    all), no token unless the test sets HF_TOKEN."""
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(cache.parent / "no-token-here"))
    return cache


def main() -> None:
    """Serve tiny models for trying tchat by hand: `python -m tests.helpers.fake_hub`, then
    `HF_ENDPOINT=http://127.0.0.1:PORT tchat` and type test-org/tiny-chat in the picker (F6).
    test-org/gated-chat is gated (token "hf_granted" has access)."""
    import argparse
    import tempfile

    from tests.helpers.tiny_models import build_model

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=float, default=None, help="bytes/s for file bodies")
    parser.add_argument("--size", type=int, default=64, help="intermediate_size (model size)")
    args = parser.parse_args()
    folder = build_model(Path(tempfile.mkdtemp()) / "tiny", intermediate_size=args.size)
    hub = FakeHub()
    decoys = {"pytorch_model.bin": b"\0" * 4096, "original/consolidated.00.pth": b"\0" * 4096}
    hub.add_folder("test-org/tiny-chat", folder, extra={**decoys, "README.md": b"# tiny\n"})
    hub.add_folder("test-org/gated-chat", folder, gated=True, allowed_tokens=("hf_granted",))
    hub.rate = args.rate
    hub.start(args.port)
    print(f"fake hub at {hub.url} (rate {args.rate or 'unlimited'} B/s)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
