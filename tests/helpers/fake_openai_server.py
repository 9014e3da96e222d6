"""A scripted OpenAI-compatible server on 127.0.0.1, for the faults real servers rarely show
on demand: a stream cut mid-reply, a stall, an error body, a plain-text 500, a 401, a slow first
token, `data: {"error": ...}` in the middle of a stream.

Each test sets `server.chat` to a list of steps for the next chat completion (or a callable
that builds one from the request body); the server records every request it got (`requests`,
`bodies`) and whether the client hung up mid-stream (`disconnected`). Standard library only
(http.server), one thread per connection, bound to loopback with a free port, stopped by the
fixture that starts it.

Steps:
    ("chunk", {...})        one `data: {json}` event
    ("text", "Hello")       a content delta chunk
    ("reasoning", "hmm")    a `delta.reasoning` chunk (vLLM's name)
    ("finish", "stop", usage_or_None)  a finish chunk (usage inside it, as transformers serve)
    ("usage", {...})        a separate usage chunk with empty choices (as vLLM)
    ("done",)               `data: [DONE]`
    ("sleep", seconds)      nothing for a while (a stall, a slow first token)
    ("cut",)                drop the connection without ending the chunked body
    ("status", code, body, content_type)  answer with an error instead of a stream
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Step = tuple[Any, ...]


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def reply_steps(
    words: list[str],
    *,
    usage: dict[str, int] | None = None,
    done: bool = True,
    role_first: bool = True,
    pause: float = 0.0,
) -> list[Step]:
    """A well-formed reply, vLLM-style: role chunk, one chunk per word, finish, usage, [DONE]."""
    steps: list[Step] = (
        [("chunk", chunk({"role": "assistant", "content": ""}))] if role_first else []
    )
    for w in words:
        steps.append(("text", w))
        if pause:
            steps.append(("sleep", pause))
    steps.append(("finish", "stop", None))
    steps.append(
        (
            "usage",
            usage
            or {
                "prompt_tokens": 7,
                "completion_tokens": len(words),
                "total_tokens": 7 + len(words),
            },
        )
    )
    if done:
        steps.append(("done",))
    return steps


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request is what these tests do on purpose: no traceback."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class FakeServer:
    """The server and its script. `url` is the API base (".../v1")."""

    def __init__(self) -> None:
        self.models: list[dict[str, Any]] = [
            {"id": "fake-model", "object": "model", "owned_by": "vllm", "max_model_len": 4096}
        ]
        self.chat: list[Step] | Callable[[dict[str, Any]], list[Step]] = reply_steps(["Hi", "!"])
        # path -> (status, body, content type); a vLLM counts tokens on /tokenize.
        self.pages: dict[str, tuple[int, str, str]] = {
            "/tokenize": (200, json.dumps({"count": 7, "max_model_len": 4096}), "application/json")
        }
        self.models_status: tuple[int, str] | None = None  # answer /v1/models with this error
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self.bodies: list[dict[str, Any]] = []
        self.disconnected = threading.Event()
        self.streams_ended = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # quiet: tests read what matters from `server`

            def _record(self) -> dict[str, Any]:
                server.requests.append((self.command, self.path, dict(self.headers)))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                return json.loads(raw) if raw else {}

            def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._record()
                path = self.path.split("?")[0]
                if path == "/v1/models":
                    if server.models_status:
                        self._send(server.models_status[0], server.models_status[1], "text/plain")
                    else:
                        self._send(200, json.dumps({"object": "list", "data": server.models}))
                elif path in server.pages:
                    status, body, ctype = server.pages[path]
                    self._send(status, body, ctype)
                else:
                    self._send(404, json.dumps({"detail": "Not Found"}))

            def do_POST(self) -> None:  # noqa: N802
                body = self._record()
                path = self.path.split("?")[0]
                if path != "/v1/chat/completions":
                    if path in server.pages:
                        status, text, ctype = server.pages[path]
                        self._send(status, text, ctype)
                    else:
                        self._send(404, json.dumps({"detail": "Not Found"}))
                    return
                server.bodies.append(body)
                steps = server.chat(body) if callable(server.chat) else list(server.chat)
                if steps and steps[0][0] == "status":
                    _, status, text, ctype = steps[0]
                    self._send(status, text, ctype)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self._stream(steps)
                except OSError:  # a broken pipe, a reset, a timeout: the client went away
                    server.disconnected.set()
                finally:
                    server.streams_ended.set()

            def _event(self, data: str) -> None:
                payload = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                self.wfile.flush()

            def _stream(self, steps: list[Step]) -> None:
                for step in steps:
                    kind = step[0]
                    if kind == "chunk":
                        self._event(json.dumps(step[1]))
                    elif kind == "text":
                        self._event(json.dumps(chunk({"content": step[1]})))
                    elif kind == "reasoning":
                        self._event(json.dumps(chunk({"reasoning": step[1]})))
                    elif kind == "finish":
                        extra = {"usage": step[2]} if step[2] else {}
                        self._event(json.dumps(chunk({}, step[1], **extra)))
                    elif kind == "usage":
                        self._event(
                            json.dumps({"id": "chatcmpl-fake", "choices": [], "usage": step[1]})
                        )
                    elif kind == "done":
                        self._event("[DONE]")
                    elif kind == "sleep":
                        end = time.monotonic() + step[1]
                        while time.monotonic() < end:
                            time.sleep(0.02)
                            self._probe()
                    elif kind == "cut":
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _probe(self) -> None:
                """While 'sleeping', notice a client that hung up (as a real server does)."""
                self.connection.setblocking(False)
                try:
                    data = self.connection.recv(1, socket.MSG_PEEK)
                    if data == b"":
                        raise ConnectionResetError("client closed")
                except BlockingIOError:
                    pass
                finally:
                    self.connection.setblocking(True)

        return Handler
