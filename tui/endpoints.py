"""Which server a launch talks to: `--endpoint`, the named endpoints of config.toml, and the
endpoint a resumed chat recorded. No Textual, no HTTP: this only builds `Endpoint`s.

The command line's remote options live here too (`add_arguments`), so `tui/cli.py` stays a list
of flags and the rules for a key are in one place:

- `--endpoint URL|NAME`: a server's API base (`http://gpu-box:8000/v1`; a bare `host:port` gets
  `/v1`) or the name of an `[endpoints.NAME]` table in config.toml. A URL equal to a named
  endpoint's takes that endpoint's settings.
- `--api-key-env VAR`: the variable holding the key (default `OPENAI_API_KEY`, used only when it
  is set; `--api-key-env ''` sends no key at all). A named endpoint's `api_key_env` or
  `api_key_file` is its default.
- `--insecure`: no TLS certificate check. `--allow-http-key`: send the key over plain http to a
  host that is not loopback. `--read-timeout S`: how long a stream may go quiet mid-reply.

A resumed chat whose model was served reconnects to the URL it recorded, with the settings of
the named endpoint of that URL, if any.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tui.engine.backend import EngineError
from tui.engine.endpoint import (
    DEFAULT_KEY_ENV,
    Endpoint,
    from_config,
    normalize_url,
    visible_url,
)

if TYPE_CHECKING:
    from tui.config import Config
    from tui.launch import LaunchConfig
    from tui.store.session import Session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "remote engines",
        "a model served by vLLM, SGLang, llama-server or transformers serve "
        "(OpenAI-compatible API); -m/--model then names the served model",
    )
    group.add_argument(
        "--endpoint",
        metavar="URL|NAME",
        help="the server's API base, e.g. http://gpu-box:8000/v1, or an [endpoints.NAME] "
        "table of config.toml",
    )
    group.add_argument(
        "--api-key-env",
        metavar="VAR",
        help=f"environment variable holding the API key (default {DEFAULT_KEY_ENV} when set; "
        "'' sends no key)",
    )
    group.add_argument(
        "--insecure", action="store_true", help="do not check the server's TLS certificate"
    )
    group.add_argument(
        "--allow-http-key",
        action="store_true",
        help="send the API key over plain http to a host that is not this machine",
    )
    group.add_argument(
        "--read-timeout",
        type=float,
        metavar="S",
        help="seconds a stream may send nothing mid-reply before it counts as stalled (default 60)",
    )


def launch_fields(ns: argparse.Namespace) -> dict[str, Any]:
    """The LaunchConfig fields the remote options set."""
    return {
        "endpoint": ns.endpoint,
        "api_key_env": ns.api_key_env,
        "insecure": ns.insecure,
        "allow_http_key": ns.allow_http_key,
        "read_timeout": ns.read_timeout,
    }


def named(config: Config) -> list[Endpoint]:
    """The endpoints of config.toml, in file order (already checked when it was read)."""
    return [from_config(name, table) for name, table in config.endpoints.items()]


def _default_key_env(env: Mapping[str, str] | None) -> str | None:
    import os

    env = os.environ if env is None else env
    return DEFAULT_KEY_ENV if env.get(DEFAULT_KEY_ENV) else None


def _with_launch(
    endpoint: Endpoint, launch: LaunchConfig, env: Mapping[str, str] | None
) -> Endpoint:
    """The launch's flags over the endpoint's own settings."""
    changes: dict[str, Any] = {}
    if launch.api_key_env is not None:
        changes["api_key_env"] = launch.api_key_env or None
        if not launch.api_key_env:
            changes["api_key_file"] = None  # '' means: send no key
    elif endpoint.api_key_env is None and endpoint.api_key_file is None:
        changes["api_key_env"] = _default_key_env(env)
    if launch.insecure:
        changes["insecure"] = True
    if launch.allow_http_key:
        changes["allow_http_key"] = True
    if launch.read_timeout is not None:
        changes["read_timeout_s"] = float(launch.read_timeout)
    return endpoint.with_options(**changes) if changes else endpoint


def resolve(
    text: str, launch: LaunchConfig, config: Config, env: Mapping[str, str] | None = None
) -> Endpoint:
    """An endpoint named or given as a URL, with the launch's flags. One tchat cannot use
    (a bad URL, an unknown name) carries its `problem`: loading it says so."""
    endpoints = named(config)
    by_name = next((e for e in endpoints if e.name == text), None)
    if by_name is None:
        if not any(c in text for c in ":/."):
            names = ", ".join(e.name for e in endpoints) or "none"
            return Endpoint(
                url=text,
                problem=f"No endpoint called '{text}' in config.toml (named ones: {names}).",
                problem_hint="Give a URL (http://host:8000/v1) or add an [endpoints.NAME] table.",
            )
        try:
            url = normalize_url(text)
        except EngineError as exc:
            return Endpoint(url=visible_url(text), problem=exc.message, problem_hint=exc.hint)
        by_name = next((e for e in endpoints if e.url == url), None) or Endpoint(url=url)
    return _with_launch(by_name, launch, env)


def for_launch(
    launch: LaunchConfig, config: Config, session: Session, env: Mapping[str, str] | None = None
) -> Endpoint | None:
    """The endpoint this launch loads from: --endpoint, else (with no --model) the one a
    resumed chat recorded; None for a local model."""
    if launch.endpoint:
        return resolve(launch.endpoint, launch, config, env)
    ref = session.model
    if launch.model is None and session.messages and ref.backend == "remote" and ref.endpoint:
        return resolve(ref.endpoint, launch, config, env)
    return None


def resumed_model(session: Session, endpoint: Endpoint | None) -> str | None:
    """The served model a resumed chat used, when it is resumed on the same server."""
    ref = session.model
    if session.messages and ref.id and ref.backend == "remote" and endpoint is not None:
        return ref.id if ref.endpoint == endpoint.url else None
    return None


def for_picker(launch: LaunchConfig, config: Config, current: Endpoint | None) -> list[Endpoint]:
    """Every endpoint the model picker lists the models of: the one in use, then config's."""
    found: list[Endpoint] = [current] if current is not None else []
    for endpoint in named(config):
        if all(e.url != endpoint.url for e in found):
            found.append(_with_launch(endpoint, launch, None))
    return found
