"""`python -m tui.engine.kept.server`: keep one model loaded and answer `tchat -p` over a socket.

Started detached by a `tchat -p --keep-alive` that loaded the model itself (after its answer
is out, so nobody waits on this), it loads the same LoadSpec with the same backend and
listens on the key's socket (wire.py) until the keep-alive time has passed since its last
request; each request may set that time anew, and 0 ends it after that request. Requests
are served one at a time, in order: one model, one reply at a time, as in the app.

Only one server per key: a lock file is held for the process's life, and a second one exits
at once. A client that goes away mid-reply (ctrl+c, a closed pipe) cancels that reply. The
socket and the lock go with the process; a socket left by a killed one is found stale by the
client (nobody accepts) and removed.

Request (stdin, one JSON object): `spec` (LoadSpec fields), `fast`, `keep_s`. Its log, for
when it would not start: `$XDG_CACHE_HOME/tchat/kept.log`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
from dataclasses import asdict
from typing import Any

from tui.engine.backend import Backend, LoadSpec
from tui.engine.kept import wire
from tui.store.session import GenerationSettings

# How often the accept loop looks at the clock: the latest an idle server outlives its time.
TICK_S = 0.5
# A client that just found this server has this long to send its chat: it must not find the
# socket gone between its hello and its question.
GRACE_S = 15.0


class KeptServer:
    """The loaded backend, its socket and its deadline."""

    def __init__(self, backend: Backend, listener: socket.socket, keep_s: float) -> None:
        self.backend = backend
        self.listener = listener
        self.deadline = time.monotonic() + keep_s
        self.replies = 0

    def serve(self) -> None:
        self.listener.settimeout(TICK_S)
        while time.monotonic() < self.deadline:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(None)
                try:
                    self._handle(conn)
                except (OSError, ValueError):
                    pass  # a client gone or garbled: its request ends, the server goes on

    def _handle(self, conn: socket.socket) -> None:
        incoming = wire.messages(conn)
        request = next(incoming, None)
        if not isinstance(request, dict):
            return
        self.deadline = max(self.deadline, time.monotonic() + GRACE_S)
        self.backend.use_thinking(request.get("thinking"))
        op = request.get("op")
        history = request.get("messages") or []
        if op == "info":
            wire.send(conn, self._hello())
        elif op == "count_tokens":
            wire.send(conn, {"value": self.backend.count_tokens(history)})
        elif op == "token_ids":
            wire.send(conn, {"value": self.backend.token_ids(history)})
        elif op == "render_prompt":
            wire.send(conn, {"value": self.backend.render_prompt(history)})
        elif op == "stream":
            self._stream(conn, incoming, request)
            self.deadline = time.monotonic() + float(request.get("keep_s", 0))

    def _hello(self) -> dict[str, Any]:
        assert self.backend.info is not None
        return {
            "protocol": wire.PROTOCOL,
            "info": asdict(self.backend.info),
            "pid": os.getpid(),
            "replies": self.replies,
        }

    def _stream(self, conn: socket.socket, incoming: Any, request: dict[str, Any]) -> None:
        cancel = threading.Event()

        def watch() -> None:  # the client hanging up (or saying stop) cancels the reply
            with contextlib.suppress(OSError, ValueError):
                for message in incoming:
                    if message.get("op") == "stop":
                        break
            cancel.set()

        threading.Thread(target=watch, name="tchat-kept-watch", daemon=True).start()
        reply = self.backend.stream(
            request.get("messages") or [],
            wire.from_wire(GenerationSettings, request.get("settings") or {}),
            cancel,
            continue_final=bool(request.get("continue_final")),
        )
        self.replies += 1
        try:
            for chunk in reply:
                wire.send(conn, {**wire.chunk_to_wire(chunk), "n": reply.stats.new_tokens})
        except OSError:
            cancel.set()
            reply.close()
            return
        wire.send(conn, {"end": asdict(reply.stats), "error": reply.error})


def main() -> int:
    request = json.loads(sys.stdin.read())
    key = str(request["key"])
    with contextlib.suppress(OSError):
        os.nice(5)  # a reply here is the user's, but the UI of whatever they run comes first
    lock = open(wire.lock_path(key), "a")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another server holds this key
    from tui.engine.registry import make_backend

    spec = wire.from_wire(LoadSpec, request["spec"])
    backend = make_backend(str(request.get("backend", "transformers")), str(request["fast"]))
    backend.load(spec)
    path = wire.socket_path(key)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a killed server's: the lock says nobody serves it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_mask)
    listener.listen(8)
    try:
        KeptServer(backend, listener, float(request["keep_s"])).serve()
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
