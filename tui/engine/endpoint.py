"""Where a remote engine is and how to reach it: an OpenAI-compatible server's URL and the rules
for its key. Plain data and checks; no HTTP here (that is `tui/engine/remote/`).

An `Endpoint` is part of a `LoadSpec`: a spec with one is loaded by the remote backend (vLLM,
SGLang, llama-server, `transformers serve`), a spec without one by a local backend. It is frozen
and holds no secret: the key is named (an environment variable or a key file) and read only
when a connection is made, so an Endpoint can be compared, logged and recorded in a session
(its URL only) without leaking anything.

The key's rules, checked before any request is sent:
- it comes from the environment (`api_key_env`, default `OPENAI_API_KEY` when that is set) or a
  key file (`api_key_file`, named in config.toml); never from the command line or a URL;
- a URL with a user name or password in it is refused, so no credential is ever recorded;
- a key is sent over plain http only to a loopback host, unless `allow_http_key` says the
  network is trusted: on any other path anyone between here and the server could read it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tui.engine.backend import EngineError

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
DEFAULT_READ_TIMEOUT_S = 60.0  # no byte for this long in the middle of a reply: stalled
DEFAULT_FIRST_TOKEN_TIMEOUT_S = 600.0  # a long prompt on a busy server can take minutes
DEFAULT_CONNECT_TIMEOUT_S = 10.0

# config.toml [endpoints.NAME] keys and their types (README lists them).
CONFIG_KEYS: dict[str, tuple[type, ...]] = {
    "url": (str,),
    "model": (str,),
    "api_key_env": (str,),
    "api_key_file": (str,),
    "insecure": (bool,),
    "allow_http_key": (bool,),
    "read_timeout": (int, float),
    "first_token_timeout": (int, float),
    "metrics_url": (str,),
}


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible server. `url` is its API base (".../v1"), free of credentials."""

    url: str
    name: str = ""  # its name in config.toml, "" for a URL given on the command line
    model: str = ""  # the served model to use when none is named ("" the only or first one)
    api_key_env: str | None = None  # the variable holding the key; None: no key from the env
    api_key_file: str | None = None  # or a file holding it
    insecure: bool = False  # skip TLS certificate checks (--insecure)
    allow_http_key: bool = False  # send the key over plain http to a host that is not loopback
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    first_token_timeout_s: float = DEFAULT_FIRST_TOKEN_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    metrics_url: str | None = None  # default: the server's root + /metrics
    # Why this endpoint cannot be used (a bad --endpoint): the load says so, nothing is sent.
    problem: str = ""
    problem_hint: str = ""

    @property
    def root(self) -> str:
        """The server's root (the API base without its /v1): /metrics, /tokenize live there."""
        parts = urlsplit(self.url)
        path = parts.path[: -len("/v1")] if parts.path.endswith("/v1") else parts.path
        return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def label(self) -> str:
        """How the UI names it: its config name, else host:port."""
        return self.name or urlsplit(self.url).netloc

    @property
    def plain_http(self) -> bool:
        return urlsplit(self.url).scheme == "http"

    def with_options(self, **changes: Any) -> Endpoint:
        from dataclasses import replace

        return replace(self, **changes)


def normalize_url(text: str) -> str:
    """`text` as an API base URL: http(s), a host, no credentials, no query; a bare server
    address gets /v1 (every server tchat knows serves the API there). Raises EngineError."""
    raw = text.strip()
    if "://" not in raw:
        raw = "http://" + raw  # "gpu-box:8000" is what people type
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https"):
        raise EngineError(
            f"'{parts.scheme}' is not a web address scheme tchat can use.",
            "Give the server's URL, e.g. http://gpu-box:8000/v1 or https://llm.example.org/v1.",
        )
    if parts.username is not None or parts.password is not None:
        raise EngineError(
            "The endpoint URL holds a user name or password; tchat does not take credentials "
            "in a URL (they would end up in session files and shell history).",
            "Remove them from the URL and put the key in an environment variable "
            "(--api-key-env VAR, default OPENAI_API_KEY) or a key file (api_key_file).",
        )
    try:
        port = parts.port
    except ValueError:
        raise EngineError(f"The endpoint URL has a bad port: {visible_url(raw)}") from None
    if not parts.hostname:
        raise EngineError(f"The endpoint URL has no host: {visible_url(raw)}")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def visible_url(text: str) -> str:
    """A URL safe to show or record: user name, password, query and fragment cut off."""
    parts = urlsplit(text)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: traffic that never leaves this machine."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_key(endpoint: Endpoint, env: Mapping[str, str] | None = None) -> str | None:
    """The key to send, from the endpoint's variable or key file; None when there is none.
    Raises EngineError (naming the file, never its content) for an unreadable key file."""
    env = os.environ if env is None else env
    if endpoint.api_key_env:
        value = env.get(endpoint.api_key_env, "").strip()
        if value:
            return value
    if endpoint.api_key_file:
        path = Path(endpoint.api_key_file).expanduser()
        try:
            value = path.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise EngineError(
                f"Cannot read the key file {path} ({reason}).",
                "Fix api_key_file in config.toml, or set the key in an environment variable.",
            ) from None
        return value or None
    return None


def check_key_transport(endpoint: Endpoint, key: str | None) -> None:
    """Refuse to send a key in clear text across a network unless the user opted in."""
    if key is None or not endpoint.plain_http or endpoint.allow_http_key:
        return
    if is_loopback(endpoint.host):
        return
    source = (
        f"${endpoint.api_key_env}"
        if endpoint.api_key_env
        else f"the key file {endpoint.api_key_file}"
    )
    raise EngineError(
        f"Not sending the API key from {source} to {endpoint.url}: over plain http anyone on "
        "the network path between here and the server could read it.",
        "Use https, or an SSH port forward (ssh -N -L 8000:localhost:8000 gpu-box, then "
        "--endpoint http://127.0.0.1:8000/v1). If this network is trusted, pass "
        "--allow-http-key (or allow_http_key = true for a named endpoint). If the server "
        "needs no key, pass --api-key-env '' to send none.",
    )


def config_problem(name: str, table: object) -> str | None:
    """Why a config.toml [endpoints.NAME] table cannot be used (None: it can)."""
    if not isinstance(table, dict):
        return f"[endpoints.{name}] must be a table"
    for key, value in table.items():
        types = CONFIG_KEYS.get(key)
        if types is None:
            known = ", ".join(CONFIG_KEYS)
            return f"[endpoints.{name}] has an unknown key '{key}' (known: {known})"
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            return f"[endpoints.{name}] '{key}' has the wrong type"
        seconds = value if isinstance(value, (int, float)) else 1.0
        if key in ("read_timeout", "first_token_timeout") and not 0 < seconds <= 86_400:
            return f"[endpoints.{name}] '{key}' must be between 0 and 86400 seconds"
    if "url" not in table:
        return f"[endpoints.{name}] needs a url"
    try:
        normalize_url(table["url"])
    except EngineError as exc:
        return f"[endpoints.{name}] url: {exc.message}"
    return None


def from_config(name: str, table: Mapping[str, Any]) -> Endpoint:
    """An Endpoint from a config.toml table already checked by `config_problem`."""
    return Endpoint(
        url=normalize_url(table["url"]),
        name=name,
        model=table.get("model", ""),
        api_key_env=table.get("api_key_env"),
        api_key_file=table.get("api_key_file"),
        insecure=bool(table.get("insecure", False)),
        allow_http_key=bool(table.get("allow_http_key", False)),
        read_timeout_s=float(table.get("read_timeout", DEFAULT_READ_TIMEOUT_S)),
        first_token_timeout_s=float(
            table.get("first_token_timeout", DEFAULT_FIRST_TOKEN_TIMEOUT_S)
        ),
        metrics_url=table.get("metrics_url"),
    )
