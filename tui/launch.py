"""What a launch asked for (LaunchConfig), and how it turns into an engine, a sessions folder and
a model to load.

Shared by the full-screen app and the one-shot mode (`tchat -p`), so both make the same
choices; no Textual here, so the one-shot mode never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui import paths
from tui.config import Config
from tui.engine.backend import LoadSpec
from tui.store.session import Session


@dataclass(frozen=True)
class LaunchConfig:
    """Everything the command line decided; the app reads it and never re-parses argv."""

    model: str | None = None  # None: config file's model, else the bundled default
    dtype: str | None = None
    device: str = "auto"
    quantize: str | None = None
    trust_remote_code: bool = False
    system: str | None = None
    resume: str | None = None  # None: new chat; "": newest session; else id or path
    sessions_dir: Path | None = None
    format: str | None = None  # toml | json
    theme: str | None = None
    backend: str = "transformers"  # transformers | fake
    model_dirs: tuple[Path, ...] = ()  # extra folders for the model picker
    draft: str | None = None  # assistant model id/folder, or "prompt-lookup"
    attn: str | None = None  # attention implementation; None/"auto": the model's default
    fast: str = "auto"  # static KV cache + torch.compile: auto (where it pays) | on | off
    config_path: Path | None = None
    prompt: str | None = None  # -p: answer this one prompt on stdout, no full-screen app
    show_thinking: bool = False  # -p --show-thinking: a reasoning model's thinking to stderr
    yes: bool = False  # --yes: -p downloads a hub model that is not cached without asking
    # -p --keep-alive (or TCHAT_KEEP_ALIVE): seconds to keep the model loaded after the answer
    # for the next -p (tui/engine/kept); None: not asked, every -p loads its own.
    keep_alive: float | None = None
    # A served model (tui/endpoints.py): --endpoint URL|NAME and how to reach it.
    endpoint: str | None = None
    api_key_env: str | None = None  # None: the endpoint's own, else OPENAI_API_KEY when set
    insecure: bool = False
    allow_http_key: bool = False
    read_timeout: float | None = None


def sessions_dir_for(launch: LaunchConfig, config: Config) -> Path:
    """--sessions-dir, else the config file's, else $TCHAT_SESSIONS_DIR / the XDG default."""
    if launch.sessions_dir:
        return launch.sessions_dir
    if config.sessions_dir:
        return Path(config.sessions_dir).expanduser()
    return paths.sessions_dir()


def load_spec_for(launch: LaunchConfig, config: Config, session: Session) -> LoadSpec:
    """--model, else a resumed chat's own model, else the config file's, else the default; on
    the server --endpoint names, or the one a resumed chat was served by (endpoints.py)."""
    from tui import endpoints

    endpoint = endpoints.for_launch(launch, config, session)
    model = launch.model
    if model is None and endpoint is not None:
        model = endpoints.resumed_model(session, endpoint)
    elif model is None and session.messages and session.model.id:
        model = session.model.id
    if model is None:
        model = (endpoint.model if endpoint is not None else config.model) or ""
    return LoadSpec(
        endpoint=endpoint,
        model=model,
        dtype=launch.dtype or config.dtype or "auto",
        device=launch.device,
        quantize=launch.quantize,
        trust_remote_code=launch.trust_remote_code,
        draft=launch.draft,
        attn_implementation=None if launch.attn in (None, "auto") else launch.attn,
    )
