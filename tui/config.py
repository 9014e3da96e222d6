"""The user's config file, `$XDG_CONFIG_HOME/tchat/config.toml`.

Every setting is optional; a missing file means defaults. A file that fails to parse is reported
and left alone (never rewritten), and tchat starts with defaults. Example:

    model = "HuggingFaceTB/SmolLM2-360M-Instruct"   # default model (an HF id, folder or .gguf)
    dtype = "auto"                  # auto | bf16 | fp16 | fp32
    theme = "tchat-dark"            # written by the theme switcher
    format = "toml"                 # session file format: toml | json
    sessions_dir = "~/chats"        # where sessions live
    system_prompt = "You are terse."
    model_dirs = ["~/models"]       # extra folders the model picker scans
    token_alternatives = true       # token probabilities (`a`): true always, false only once
                                    # asked; unset: on where the model runs on this CPU

    [generation]                    # defaults for new sessions
    max_new_tokens = 512
    temperature = 0.7

    [keymap]                        # binding id -> keys, e.g. stop = "escape,ctrl+c"
    new_chat = "ctrl+n"

    [endpoints.gpu-box]             # a served model: tchat --endpoint gpu-box (README lists
    url = "http://gpu-box:8000/v1"  # every key: model, api_key_env, api_key_file, insecure,
    api_key_env = "GPU_BOX_KEY"     # allow_http_key, read_timeout, first_token_timeout, ...)
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from tui import paths
from tui.engine.endpoint import config_problem as endpoint_problem
from tui.store.codec import settings_from_dict
from tui.store.session import GenerationSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """The config file exists but cannot be used; the message names the file and the reason."""


@dataclass
class Config:
    """Settings read from config.toml; a field left as None means "use the built-in default"."""

    model: str | None = None
    dtype: str | None = None
    theme: str | None = None
    format: str | None = None
    sessions_dir: str | None = None
    system_prompt: str | None = None
    model_dirs: list[str] = field(default_factory=list)
    # Token probabilities and alternatives (`a` on a reply): True records them for every
    # reply, False only once `a` asks; None (unset) records them where the model runs on this
    # machine's CPU, where they cost nothing measurable (bench/token_alternatives.py), and not
    # on a GPU or a server, where that was not measured.
    token_alternatives: bool | None = None
    generation: dict[str, Any] = field(default_factory=dict)
    keymap: dict[str, str] = field(default_factory=dict)
    # [endpoints.NAME] tables: OpenAI-compatible servers (tui/engine/endpoint.py checks them).
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)

    def generation_settings(self) -> GenerationSettings:
        """New-session settings: built-in defaults overridden by the [generation] table."""
        known = {f.name for f in fields(GenerationSettings)}
        return GenerationSettings(**{k: v for k, v in self.generation.items() if k in known})


_STR_KEYS = ("model", "dtype", "theme", "format", "sessions_dir", "system_prompt")
# Settings with a fixed set of values: anything else is refused when the file is read, not
# when the value is first used (a bad `format` would otherwise stop the app from starting).
_CHOICES = {"dtype": ("auto", "bf16", "fp16", "fp32"), "format": ("toml", "json")}


def _check_folder(path: Path, key: str, value: str) -> None:
    """A folder setting must be usable as a path: no NUL, and a `~user` that exists."""
    if "\0" in value:
        raise ConfigError(f"{path}: '{key}' contains a NUL character")
    try:
        Path(value).expanduser()
    except RuntimeError as exc:  # "~nobody/x": no such user, no home folder
        raise ConfigError(f"{path}: '{key}' = {value!r}: {exc}") from None


def load_config(path: Path | None = None) -> Config:
    """Read the config file. Raises ConfigError for a file that exists but is unusable."""
    path = path or paths.config_file()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    cfg = Config()
    for key in _STR_KEYS:
        if key in data:
            if not isinstance(data[key], str):
                raise ConfigError(f"{path}: '{key}' must be a string")
            setattr(cfg, key, data[key])
    for key, options in _CHOICES.items():
        value = getattr(cfg, key)
        if value is not None and value not in options:
            raise ConfigError(f"{path}: '{key}' must be one of {', '.join(options)}, not {value!r}")
    if cfg.sessions_dir:
        _check_folder(path, "sessions_dir", cfg.sessions_dir)
    if "model_dirs" in data:
        dirs = data["model_dirs"]
        if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
            raise ConfigError(f"{path}: 'model_dirs' must be a list of strings")
        for d in dirs:
            _check_folder(path, "model_dirs", d)
        cfg.model_dirs = dirs
    if "token_alternatives" in data:
        if not isinstance(data["token_alternatives"], bool):
            raise ConfigError(f"{path}: 'token_alternatives' must be true or false")
        cfg.token_alternatives = data["token_alternatives"]
    if "endpoints" in data:
        if not isinstance(data["endpoints"], dict):
            raise ConfigError(f"{path}: [endpoints] must hold [endpoints.NAME] tables")
        for name, table in data["endpoints"].items():
            problem = endpoint_problem(name, table)
            if problem:
                raise ConfigError(f"{path}: {problem}")
        cfg.endpoints = {name: dict(table) for name, table in data["endpoints"].items()}
    for table in ("generation", "keymap"):
        if table in data:
            if not isinstance(data[table], dict):
                raise ConfigError(f"{path}: [{table}] must be a table")
            setattr(cfg, table, dict(data[table]))
    if not all(isinstance(v, str) for v in cfg.keymap.values()):
        raise ConfigError(f'{path}: [keymap] values must be strings like "ctrl+n"')
    gen_types = {f.name: f.type for f in fields(GenerationSettings)}
    for k, v in cfg.generation.items():
        if k not in gen_types:
            raise ConfigError(f"{path}: [generation] has an unknown setting '{k}'")
        if isinstance(v, bool) != ("bool" in str(gen_types[k])) or not isinstance(
            v, (int, float, bool)
        ):
            raise ConfigError(f"{path}: [generation] '{k}' has the wrong type")
    try:  # the session file's own rules (ranges, finite numbers, integers stay integers)
        settings_from_dict(cfg.generation)
    except ValueError as exc:
        raise ConfigError(f"{path}: [generation] {exc}") from None
    return cfg


def save_config_value(key: str, value: Any, path: Path | None = None) -> None:
    """Set one top-level key, keeping the rest of the file. Atomic; the file is 0600.

    Refuses (ConfigError) to touch a file that does not parse, so a user's typo is never
    replaced by a rewrite.
    """
    path = path or paths.config_file()
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"{path}: not saved, the file does not parse ({exc})") from exc
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
    paths.ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(tomli_w.dumps(data).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
