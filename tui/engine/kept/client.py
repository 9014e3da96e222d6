"""The kept engine as a backend: `tchat -p` talks to a loaded model instead of loading one.

`find()` returns a KeptBackend when a kept engine (server.py) serves this launch's key, and
None otherwise (then the caller loads the model itself and may `start()` one afterwards).
Each call is its own short connection, since the server answers one at a time. The backend
declares what the one-shot answer uses: exact token counts, the prompt's text, continuing a
reply; no drafts, compiled path or token alternatives (the app loads its models itself).
A server that goes away mid-reply ends the reply with an error, the text so far kept.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tui import paths
from tui.engine.backend import (
    Backend,
    Capabilities,
    EngineError,
    LoadSpec,
    ModelInfo,
    ProgressFn,
    Reply,
)
from tui.engine.kept import wire
from tui.store.session import GenerationSettings, ReplyStats

CONNECT_TIMEOUT_S = 2.0
GONE = "the kept engine stopped mid-reply (its log: {log})"


def log_file() -> Path:
    return paths.cache_dir() / "kept.log"


class KeptBackend(Backend):
    """A model another tchat process holds loaded (see the package's docstring)."""

    capabilities = Capabilities(continue_reply=True, exact_token_counts=True, prompt_text=True)

    def __init__(self, path: Path, hello: dict[str, Any], keep_s: float) -> None:
        self.path = path
        self.keep_s = keep_s
        self.pid = int(hello.get("pid", 0))
        self.replies_served = int(hello.get("replies", 0))
        self.info = wire.info_from_wire(hello["info"])
        self._thinking: bool | None = None

    def load(self, spec: LoadSpec, progress: ProgressFn | None = None) -> ModelInfo:
        assert self.info is not None  # found loaded: nothing to do
        return self.info

    def _connect(self) -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(CONNECT_TIMEOUT_S)
        try:
            conn.connect(str(self.path))
        except OSError as exc:
            conn.close()
            raise EngineError(
                f"The kept engine is gone ({exc.strerror or exc}).",
                f"Run tchat -p again: it loads the model itself. Its log: {log_file()}",
            ) from None
        conn.settimeout(None)
        return conn

    def _ask(self, op: str, messages: list[dict[str, str]]) -> Any:
        with self._connect() as conn:
            wire.send(conn, {"op": op, "messages": messages, "thinking": self._thinking})
            answer = next(wire.messages(conn), None)
        if not isinstance(answer, dict) or "value" not in answer:
            raise EngineError("The kept engine gave no answer.", f"Its log: {log_file()}")
        return answer["value"]

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return int(self._ask("count_tokens", messages))

    def token_ids(self, messages: list[dict[str, str]]) -> list[int]:
        return [int(t) for t in self._ask("token_ids", messages)]

    def render_prompt(self, messages: list[dict[str, str]]) -> str:
        return str(self._ask("render_prompt", messages))

    def use_thinking(self, on: bool | None) -> None:
        self._thinking = on

    def stream(
        self,
        messages: list[dict[str, str]],
        settings: GenerationSettings,
        cancel: threading.Event,
        continue_final: bool = False,
    ) -> Reply:
        conn = self._connect()
        wire.send(
            conn,
            {
                "op": "stream",
                "messages": messages,
                "settings": asdict(settings),
                "continue_final": continue_final,
                "thinking": self._thinking,
                "keep_s": self.keep_s,
            },
        )
        reply = Reply(chunks=iter(()))
        reply.chunks = self._chunks(conn, reply, cancel)
        return reply

    def _chunks(self, conn: socket.socket, reply: Reply, cancel: threading.Event) -> Iterator[str]:
        ended = False
        try:
            for message in wire.messages(conn):
                if cancel.is_set():
                    break  # hanging up cancels the reply there
                if "end" in message:
                    reply.stats = wire.from_wire(ReplyStats, message["end"])
                    reply.error = message.get("error")
                    ended = True
                    break
                reply.stats.new_tokens = int(message.get("n", reply.stats.new_tokens))
                yield wire.chunk_from_wire(message)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()
        if ended:
            return
        if cancel.is_set():
            reply.stats.stop_reason = "cancelled"
        else:
            reply.stats.stop_reason = "error"
            reply.error = GONE.format(log=log_file())


def find(spec: LoadSpec, fast: str, keep_s: float, backend: str) -> KeptBackend | None:
    """The kept engine serving this launch, or None (a stale socket is removed)."""
    try:
        path = wire.socket_path(wire.key_for(spec, fast, backend))
    except OSError:
        return None
    if not path.exists():
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(CONNECT_TIMEOUT_S)
    try:
        conn.connect(str(path))
        wire.send(conn, {"op": "info"})
        hello = next(wire.messages(conn), None)
    except ConnectionRefusedError:
        with contextlib.suppress(OSError):
            path.unlink()  # a killed server's socket: nobody accepts on it
        return None
    except (OSError, ValueError):
        return None
    finally:
        conn.close()
    if not isinstance(hello, dict) or hello.get("protocol") != wire.PROTOCOL:
        return None
    return KeptBackend(path, hello, keep_s)


def start(spec: LoadSpec, fast: str, keep_s: float, backend: str = "transformers") -> bool:
    """Start a kept engine for this launch in the background (it loads the model again and
    outlives this process). False when it could not be started."""
    if keep_s <= 0:
        return False
    try:
        key = wire.key_for(spec, fast, backend)
        wire.runtime_dir()
        paths.ensure_private_dir(log_file().parent)
        request = {
            "key": key,
            "spec": {k: v for k, v in asdict(spec).items() if k != "endpoint"},
            "fast": fast,
            "keep_s": keep_s,
            "backend": backend,
        }
        with open(log_file(), "a", encoding="utf-8") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {key}\n")
            log.flush()
            proc = subprocess.Popen(
                [sys.executable, "-m", "tui.engine.kept.server"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                start_new_session=True,  # not the terminal's: it outlives this command
                close_fds=True,
            )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request).encode())
        proc.stdin.close()
    except OSError:
        return False
    return True
