"""The HTTP side of a remote engine: one server, its key, its TLS settings, its pages.

Why the `openai` package: it is the reference client for the chat-completions API these servers
all implement, it is kept up to date with it, its server-sent-events decoder handles what they
send (`data: [DONE]` or a plain close, `data: {"error": ...}` mid-stream, raised as an
`APIError`), and its errors carry the status code and the body. `transformers serve` needs it
anyway (the `serving` extra), and its transport, httpx2, is already installed for
huggingface_hub, so it adds little. Retries are off (`max_retries=0`): a half-written reply is
never sent again behind the user's back. The pages outside the OpenAI API (`/v1/models` read as
plain JSON, `/tokenize`, `/props`, `/version`, `/metrics`) are fetched with httpx2 directly.

Each reply gets its own small httpx2 client (the TLS context is built once and shared): closing
it is how Esc, a stall or a closed reply abort a request at any point, even while the server has
not answered yet, and the server sees the connection drop and stops generating.

Both libraries are imported when a connection is made (in a worker), never at tchat's start.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from tui.engine.endpoint import Endpoint

# Pages outside the chat stream answer quickly or not at all: a slow /metrics must not hold up
# the gauges' thread, a slow /tokenize not the prompt.
PAGE_TIMEOUT_S = 5.0


class PageMissing(Exception):
    """The server has no such page (404, 405 or 501): it is not that kind of server."""


class StreamHandle:
    """One reply's HTTP client, and the socket it reads from once connected.

    Closing a socket from another thread does not wake a thread blocked reading it; shutting
    it down does. So the request is traced (httpcore's `trace` extension, set by an event hook)
    to learn the socket as soon as it is connected, and `abort()` shuts it down: the reading
    thread gets an error at once, and the server sees the connection end."""

    def __init__(self) -> None:
        self.http: Any = None
        self.client: Any = None
        self._stream: Any = None
        self._lock = threading.Lock()
        self._aborted = False

    def watch(self, request: Any) -> None:
        request.extensions["trace"] = self._trace

    def _trace(self, name: str, info: dict[str, Any]) -> None:
        if name.endswith((".connect_tcp.complete", ".start_tls.complete")):
            with self._lock:
                self._stream = info.get("return_value")
                aborted = self._aborted
            if aborted:
                self._shutdown()

    def _shutdown(self) -> None:
        stream = self._stream
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def abort(self) -> None:
        """From any thread: end the request now (before or after the server answered)."""
        with self._lock:
            self._aborted = True
        self._shutdown()
        self.close()

    def close(self) -> None:
        try:
            self.http.close()
        except Exception:  # noqa: BLE001 - closing a client another thread may be reading
            pass


class Connection:
    """A server reached with `key` (None: no Authorization header at all)."""

    def __init__(self, endpoint: Endpoint, key: str | None) -> None:
        import httpx2

        self.endpoint = endpoint
        self._key = key
        self._httpx = httpx2
        if endpoint.url.startswith("https:"):
            self._tls: Any = httpx2.create_ssl_context(verify=not endpoint.insecure)
        else:
            self._tls = False  # plain http: no TLS context to build (it takes a quarter second)
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.pages = httpx2.Client(
            verify=self._tls,
            timeout=httpx2.Timeout(PAGE_TIMEOUT_S, connect=endpoint.connect_timeout_s),
            headers=self._headers,
            follow_redirects=False,
        )

    # -- pages outside the chat API ---------------------------------------------------------

    def _get(self, url: str) -> Any:
        response = self.pages.get(url)
        if response.status_code in (404, 405, 501):
            raise PageMissing(url)
        response.raise_for_status()
        return response

    def models(self) -> list[dict[str, Any]]:
        """GET /v1/models: the served models, as the server describes them."""
        response = self.pages.get(f"{self.endpoint.url}/models")
        response.raise_for_status()
        data = response.json()
        items = data.get("data") if isinstance(data, dict) else data
        return [m for m in items or [] if isinstance(m, dict) and m.get("id")]

    def page_json(self, path: str) -> dict[str, Any] | None:
        """GET a page at the server's root (/version, /props) as JSON; None where it has none."""
        try:
            response = self._get(f"{self.endpoint.root}{path}")
            data = response.json()
        except (PageMissing, ValueError):
            return None
        except self._httpx.HTTPError:
            return None
        return data if isinstance(data, dict) else None

    def metrics_text(self) -> str:
        """GET /metrics (Prometheus text). Raises PageMissing where the server has none."""
        url = self.endpoint.metrics_url or f"{self.endpoint.root}/metrics"
        return str(self._get(url).text)

    def tokenize(self, model: str, messages: list[dict[str, str]]) -> int:
        """POST /tokenize with the chat's messages: the prompt's length as the server counts
        it, chat template applied. Raises PageMissing where the server has no such page."""
        body = {"model": model, "messages": messages, "add_generation_prompt": True}
        response = self.pages.post(f"{self.endpoint.root}/tokenize", json=body)
        if response.status_code in (404, 405, 501):
            raise PageMissing("/tokenize")
        response.raise_for_status()
        data = response.json()
        count = data.get("count") if isinstance(data, dict) else None
        if not isinstance(count, int):
            tokens = data.get("tokens") if isinstance(data, dict) else None
            if not isinstance(tokens, list):
                raise PageMissing("/tokenize gave no count")
            count = len(tokens)
        return count

    # -- the chat stream --------------------------------------------------------------------

    def open_stream(self) -> StreamHandle:
        """A client for one reply; its `abort()` ends the reply wherever it is."""
        import openai

        httpx2 = self._httpx
        handle = StreamHandle()
        # No read timeout here: the backend's watchdog tells a slow first token from a stall.
        handle.http = httpx2.Client(
            verify=self._tls,
            timeout=httpx2.Timeout(None, connect=self.endpoint.connect_timeout_s),
            follow_redirects=False,
            event_hooks={"request": [handle.watch]},
        )
        handle.client = openai.OpenAI(
            base_url=self.endpoint.url,
            api_key=self._key or "unused",  # never OPENAI_API_KEY behind our back
            max_retries=0,
            http_client=handle.http,
        )
        return handle

    def chat(self, client: Any, body: dict[str, Any]) -> Any:
        """Send a streamed chat completion on `client`; returns the event stream (an iterator
        of plain dicts, exactly as the server sent them)."""
        import openai

        headers: dict[str, Any] = {} if self._key else {"Authorization": openai.Omit()}
        return client.post(
            "/chat/completions",
            body={**body, "stream": True},
            cast_to=object,
            stream=True,
            stream_cls=openai.Stream[object],
            options={"headers": headers},
        )

    def close(self) -> None:
        try:
            self.pages.close()
        except Exception:  # noqa: BLE001 - closing on the way out
            pass
