"""Where a kept engine listens, which launch it serves, and how its messages travel.

One kept engine serves one load: the key hashes the LoadSpec, the backend, the fast-path
choice, tchat's version and the Python running it, so a launch that would load differently
never talks to it. The socket lies in a folder only its user can open
(`$XDG_RUNTIME_DIR/tchat`, else `/tmp/tchat-<uid>`): whoever can connect can use the model,
so nobody else can. Messages are one JSON object per line, both ways.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import stat
import sys
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from tui.engine.backend import Counted, LoadSpec, ModelInfo, Thinking
from tui.engine.chat_format import ChatFormat

ENV_VAR = "TCHAT_KEEP_ALIVE"
PROTOCOL = 1
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
T = TypeVar("T")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds from "300", "90s", "5m" or "1h" (as ollama's keep_alive); ValueError else."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"'{text}' is not a duration: use seconds, or 90s, 5m, 1h")
    return float(found.group(1)) * _UNITS[found.group(2).lower()]


def runtime_dir() -> Path:
    """The private folder of sockets; OSError when it is not this user's alone."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and Path(base).is_dir():
        folder = Path(base) / "tchat"
    else:
        folder = Path(tempfile.gettempdir()) / f"tchat-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise OSError(f"{folder} is not a folder of this user's")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(folder, 0o700)
    return folder


def key_for(spec: LoadSpec, fast: str, backend: str) -> str:
    from tui import __version__
    from tui.models import default_model

    described = {f.name: getattr(spec, f.name) for f in fields(LoadSpec) if f.name != "endpoint"}
    if default_model.is_default(spec.model):
        described["model"] = ""  # a resumed chat names the bundled model; a new one does not
    described.update(
        backend=backend, fast=fast, tchat=__version__, python=sys.executable, protocol=PROTOCOL
    )
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:20]


def socket_path(key: str) -> Path:
    return runtime_dir() / f"{key}.sock"


def lock_path(key: str) -> Path:
    return runtime_dir() / f"{key}.lock"


def send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall((json.dumps(message) + "\n").encode())


def messages(conn: socket.socket) -> Any:
    """The JSON objects `conn` sends, until it closes (a generator)."""
    with conn.makefile("rb") as reader:
        for line in reader:
            if line.strip():
                yield json.loads(line)


def from_wire(cls: type[T], data: dict[str, Any]) -> T:
    """A dataclass sent as `asdict` (a field the other side does not know is left out)."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in known})


def info_from_wire(data: dict[str, Any]) -> ModelInfo:
    info = from_wire(ModelInfo, data)
    if isinstance(info.chat_format, dict):
        info.chat_format = from_wire(ChatFormat, info.chat_format)
    return info


def chunk_to_wire(chunk: str) -> dict[str, Any]:
    if isinstance(chunk, Thinking):
        return {"text": str(chunk), "kind": "thinking"}
    if isinstance(chunk, Counted):
        return {"text": str(chunk), "kind": "counted", "tokens": chunk.tokens}
    return {"text": str(chunk)}


def chunk_from_wire(data: dict[str, Any]) -> str:
    text = str(data.get("text", ""))
    kind = data.get("kind")
    if kind == "thinking":
        return Thinking(text)
    if kind == "counted":
        return Counted.of(text, int(data.get("tokens", 0)))
    return text
