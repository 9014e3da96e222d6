"""Every way a request to a server can fail, as one sentence the user can act on.

Connection refused, unknown host, a TLS error, 401/403 (which variable to set), 404 for a model
(which ones are served) or for a path (the URL lacks /v1), a prompt over the context, 422, 429,
a plain-text 500, an error in the middle of a stream, a stream cut or stalled. The exceptions
come from the client library (openai's, on httpx2) and are recognised by what they carry
(a status code, a body, the chain of causes), so this module imports neither library.

Nothing here ever holds the key: error text from a server is cut short, made visible and
scrubbed of the key (a server may echo a header back), and hints name the variable, not its
value.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.engine.backend import EngineError
from tui.engine.endpoint import Endpoint
from tui.text import visible

DETAIL_CHARS = 300
KEPT = "The part of the reply that arrived is kept."


@dataclass
class Context:
    """What a message needs to name: the server, the key's variable, the model asked for."""

    endpoint: Endpoint
    key: str | None = None  # only to scrub it from server text; never shown
    model: str = ""
    served: Callable[[], Sequence[str]] = field(default=lambda: ())  # for a 404 on a model
    can_continue: bool = True  # the server carries on a stopped reply (+)

    def again(self) -> str:
        """What to press to try again, as far as this server allows."""
        return "regenerate (r) or continue (+)" if self.can_continue else "regenerate (r)"

    @property
    def label(self) -> str:
        return self.endpoint.label

    def scrub(self, text: str) -> str:
        text = visible(" ".join(text.split()))
        if self.key:
            text = text.replace(self.key, "***")
        # Anything that looks like a bearer token is cut too, whoever's it is.
        text = re.sub(r"(?i)(bearer\s+)\S+", r"\1***", text)
        return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"

    def key_hint(self) -> str:
        env = self.endpoint.api_key_env
        if self.key is None:
            name = env or "OPENAI_API_KEY"
            return (
                f"tchat sent no key. Set {name} to the server's key (export {name}=...), or name "
                "the variable that holds it with --api-key-env VAR (or api_key_env in config)."
            )
        where = f"${env}" if env else f"the key file {self.endpoint.api_key_file}"
        return (
            f"The key tchat sent came from {where}. Check it is this server's key, or name "
            "another variable with --api-key-env VAR."
        )


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _names(exc: BaseException) -> set[str]:
    return {type(e).__name__ for e in _causes(exc)}


def body_detail(body: Any, text: str = "") -> str:
    """The server's own words from an error body: OpenAI's {"error": {"message"}}, a plain
    {"error": "..."}, FastAPI's {"detail": ...} (a string or a list of problems), or text."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body.strip() or text.strip()
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            for key in ("message", "detail", "msg"):
                if isinstance(error.get(key), str) and error[key]:
                    return str(error[key])
        elif isinstance(error, str) and error:
            return error
        detail = body.get("detail") if isinstance(body, dict) else None
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list):
            parts = []
            for item in detail[:3]:
                if isinstance(item, dict):
                    loc = ".".join(str(x) for x in item.get("loc", []) if x != "body")
                    parts.append(f"{loc}: {item.get('msg', '')}".strip(": "))
            return "; ".join(parts)
        if isinstance(body.get("message"), str):
            return str(body["message"])
        return json.dumps(body)[:DETAIL_CHARS]
    if body is not None:
        return str(body)
    return text.strip()


def _status_of(exc: BaseException) -> int | None:
    for e in _causes(exc):
        code = getattr(e, "status_code", None)
        if isinstance(code, int):
            return code
        response = getattr(e, "response", None)
        code = getattr(response, "status_code", None)
        if isinstance(code, int) and type(e).__name__ == "HTTPStatusError":
            return code
    return None


def _detail_of(exc: BaseException) -> str:
    for e in _causes(exc):
        if hasattr(e, "body") or hasattr(e, "response"):
            text = ""
            response = getattr(e, "response", None)
            if response is not None:
                try:
                    text = response.text
                except Exception:  # noqa: BLE001 - a streamed body that was not read
                    text = ""
            body = getattr(e, "body", None)
            if body is None and text:
                body = text
            detail = body_detail(body, text)
            if detail:
                return detail
    return str(exc)


def looks_like_context_overflow(detail: str) -> bool:
    d = detail.lower()
    return (
        "context length" in d
        or "context window" in d
        or "maximum context" in d
        or "exceeds the available context" in d
        or ("too long" in d and "prompt" in d)
        or "input_tokens" in d
    )


def from_status(status: int, detail: str, ctx: Context) -> EngineError:
    """An HTTP error answer (before or instead of a stream)."""
    said = ctx.scrub(detail)
    label = ctx.label
    if status in (401, 403):
        what = "refused the key" if ctx.key is not None else "wants an API key"
        return EngineError(f"{label} {what} ({status}): {said}", ctx.key_hint())
    if status == 404:
        if "model" in detail.lower() or ctx.model and ctx.model in detail:
            try:
                served = list(ctx.served())
            except Exception:  # noqa: BLE001 - the list is a hint, not the error
                served = []
            listing = f"It serves: {', '.join(served)}." if served else "It lists no models."
            return EngineError(
                f"{label} does not serve '{ctx.model}' (404): {said}",
                f"{listing} Pick one with --model NAME or in the model picker (F6).",
            )
        return EngineError(
            f"{ctx.endpoint.url} has no such page (404): {said}",
            "Check the URL: an OpenAI-compatible API usually ends in /v1 (http://host:8000/v1).",
        )
    if status == 400 and looks_like_context_overflow(detail):
        return EngineError(
            f"The prompt does not fit in the model's context on {label}: {said}",
            "Lower max_new_tokens (F5), shorten the message, or start a new chat (ctrl+n).",
        )
    if status in (400, 422):
        return EngineError(
            f"{label} rejected the request ({status}): {said}",
            "The server did not take one of the settings tchat sent; the settings (F5) and "
            "the server's log say more.",
        )
    if status == 429:
        return EngineError(
            f"{label} is too busy to answer (429): {said}",
            "Wait a moment, then regenerate (r); tchat does not re-send on its own.",
        )
    if status == 413:
        return EngineError(
            f"{label} refused a request this large (413): {said}",
            "Shorten the chat or start a new one (ctrl+n).",
        )
    if status >= 500:
        return EngineError(
            f"{label} failed with an internal error ({status}): {said or 'no detail'}",
            "The server's own log says why. Regenerate (r) to try again.",
        )
    return EngineError(f"{label} answered {status}: {said}")


def describe(exc: BaseException, ctx: Context, *, streaming: bool = False) -> EngineError:
    """`exc` (from the client library, any stage) as an EngineError for the user.
    `streaming`: the reply had started arriving, so the hint says what was kept."""
    if isinstance(exc, EngineError):
        return exc
    names = _names(exc)
    status = _status_of(exc)
    label = ctx.label
    if status is not None:
        return from_status(status, _detail_of(exc), ctx)
    text = " ".join(str(e) for e in _causes(exc))
    lowered = text.lower()
    host = ctx.endpoint.host
    if (
        any(isinstance(e, ssl.SSLError) for e in _causes(exc))
        or "certificate" in lowered
        or ("ssl" in lowered and "ConnectError" in names)
    ):
        reason = next((str(e) for e in _causes(exc) if isinstance(e, ssl.SSLError)), text)
        return EngineError(
            f"TLS error talking to {label}: {ctx.scrub(reason)}",
            "Its certificate is not trusted on this machine. Point SSL_CERT_FILE at the CA "
            "that signed it, or pass --insecure to skip the check (only on a network you "
            "trust).",
        )
    if "APITimeoutError" in names or "ConnectTimeout" in names:
        if streaming:
            return EngineError(
                f"{label} stopped sending mid-reply (read timeout).",
                f"{KEPT} Once the server answers again, {ctx.again()}.",
            )
        return EngineError(
            f"Cannot reach {label}: no answer within {ctx.endpoint.connect_timeout_s:.0f} s.",
            "Check that the server is up and reachable from here (a firewall, a VPN, an SSH "
            "tunnel that closed), or pick another model with F6.",
        )
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or ("temporary failure in name resolution" in lowered)
        or "getaddrinfo" in lowered
        or "no address associated" in lowered
    ):
        return EngineError(
            f"Cannot reach {label}: unknown host '{host}'.",
            "Check the name in the URL. A machine only reachable over SSH: forward its port "
            "(ssh -N -L 8000:localhost:8000 HOST) and use --endpoint http://127.0.0.1:8000/v1.",
        )
    if "connection refused" in lowered or "errno 111" in lowered:
        if streaming:
            return EngineError(
                f"The connection to {label} was lost mid-reply.",
                f"{KEPT} When the server is back, {ctx.again()}.",
            )
        return EngineError(
            f"Cannot reach {label}: connection refused at {host}:{_port(ctx.endpoint)}.",
            "Nothing listens there: start the server (vllm serve, transformers serve, "
            "llama-server ...), check the port, or pick another model with F6.",
        )
    if (
        streaming
        or {"RemoteProtocolError", "ReadError", "StreamClosed"} & names
        or ("incomplete" in lowered or "peer closed" in lowered)
    ):
        return EngineError(
            f"The connection to {label} was lost mid-reply ({ctx.scrub(_short(exc))}).",
            f"{KEPT} When the server is back, {ctx.again()}.",
        )
    if "APIConnectionError" in names or "ConnectError" in names:
        return EngineError(
            f"Cannot reach {label}: {ctx.scrub(text)}",
            "Check the URL and that the server is up, or pick another model with F6.",
        )
    return EngineError(f"{label}: {type(exc).__name__}: {ctx.scrub(str(exc))}")


def midstream(detail: str, ctx: Context) -> EngineError:
    """A `data: {"error": ...}` event in the middle of a stream."""
    return EngineError(
        f"{ctx.label} stopped the reply with an error: {ctx.scrub(detail) or 'no detail'}",
        f"{KEPT} To try again, {ctx.again()}.",
    )


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:g} s"


def stalled(seconds: float, ctx: Context, first: bool) -> EngineError:
    if first:
        return EngineError(
            f"{ctx.label} sent no token for {_seconds(seconds)}: tchat stopped waiting.",
            "A long prompt on a busy server can take this long: raise first_token_timeout for "
            "this endpoint in config.toml, or try again (r).",
        )
    return EngineError(
        f"{ctx.label} sent nothing for {_seconds(seconds)} in the middle of the reply: tchat "
        "stopped waiting (read timeout).",
        f"{KEPT} To try again, {ctx.again()}; --read-timeout (or read_timeout in config) "
        "sets how long to wait.",
    )


def _short(exc: BaseException) -> str:
    names = _names(exc)
    if "RemoteProtocolError" in names or "incomplete chunked read" in str(exc):
        return "the server closed it in the middle of the stream"
    deepest = _causes(exc)[-1]
    text = str(deepest) or type(deepest).__name__
    return text.splitlines()[0] if text else type(deepest).__name__


def _port(endpoint: Endpoint) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint.url)
    return str(parts.port or (443 if parts.scheme == "https" else 80))
