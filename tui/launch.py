"""How a launch turns into an engine, a sessions folder and a model to load.

Shared by the full-screen app and the one-shot mode (`tchat -p`), so both make the same
choices; no Textual here, so the one-shot mode never imports it.
"""

from __future__ import annotations

import os
from pathlib import Path

from tui import paths
from tui.cli import LaunchConfig
from tui.config import Config
from tui.engine.backend import Backend, LoadSpec, ModelInfo
from tui.store.session import ModelRef, Session


def make_backend(kind: str, fast: str = "auto") -> Backend:
    """The engine for `--backend`; the fake one reads its pace and text from the env."""
    if kind == "fake":
        from tui.engine.fake import DEFAULT_SCRIPT, FakeBackend

        script_file = os.environ.get("TCHAT_FAKE_SCRIPT")
        script = Path(script_file).read_text("utf-8") if script_file else DEFAULT_SCRIPT
        return FakeBackend(script=script, delay=float(os.environ.get("TCHAT_FAKE_DELAY", "0.02")))
    from tui.engine.transformers_backend import TransformersBackend

    return TransformersBackend(fast=fast)


def sessions_dir_for(launch: LaunchConfig, config: Config) -> Path:
    """--sessions-dir, else the config file's, else $TCHAT_SESSIONS_DIR / the XDG default."""
    if launch.sessions_dir:
        return launch.sessions_dir
    if config.sessions_dir:
        return Path(config.sessions_dir).expanduser()
    return paths.sessions_dir()


def load_spec_for(launch: LaunchConfig, config: Config, session: Session) -> LoadSpec:
    """--model, else a resumed chat's own model, else the config file's, else the default."""
    model = launch.model
    if model is None and session.messages and session.model.id:
        model = session.model.id
    if model is None:
        model = config.model or ""
    return LoadSpec(
        model=model,
        dtype=launch.dtype or config.dtype or "auto",
        device=launch.device,
        quantize=launch.quantize,
        trust_remote_code=launch.trust_remote_code,
        draft=launch.draft,
        attn_implementation=None if launch.attn in (None, "auto") else launch.attn,
    )


def model_ref(info: ModelInfo) -> ModelRef:
    """How a session records the model that was loaded."""
    return ModelRef(
        id=info.id,
        revision=info.revision,
        dtype=info.dtype,
        quantization=info.quantization,
        device=info.device,
    )
