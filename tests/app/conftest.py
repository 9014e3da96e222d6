"""App tests: the real App with a scripted backend behind the engine interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.app import TchatApp
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig


@pytest.fixture
def sessions_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def make_app(sessions_dir: Path):  # noqa: ANN201
    """Build an app on a FakeBackend; keyword args go to LaunchConfig."""

    def build(backend: FakeBackend | None = None, **launch: object) -> TchatApp:
        launch.setdefault("sessions_dir", sessions_dir)
        return TchatApp(LaunchConfig(**launch), backend=backend or FakeBackend())  # type: ignore[arg-type]

    return build
