"""Where tchat keeps its files, following the XDG base directory spec.

Kept apart from `config.py` so the domain packages (store, engine) can find their folders
without reading the user's config file. Nothing here creates a folder at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_path, user_config_path, user_data_path

APP_NAME = "tchat"


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/tchat`: config.toml and user themes."""
    return user_config_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    return config_dir() / "config.toml"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def data_dir() -> Path:
    """`$XDG_DATA_HOME/tchat`: sessions."""
    return user_data_path(APP_NAME, appauthor=False)


def sessions_dir() -> Path:
    """The default sessions folder; `TCHAT_SESSIONS_DIR` overrides it."""
    env = os.environ.get("TCHAT_SESSIONS_DIR")
    return Path(env).expanduser() if env else data_dir() / "sessions"


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/tchat`: converted models and measured figures, safe to delete."""
    return user_cache_path(APP_NAME, appauthor=False)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700; tighten it if it already exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass  # not ours to change (e.g. a shared folder); saving still works
    return path
