"""Fixtures for the robustness tests: the real App on a scripted backend, in a private folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tui.app import TchatApp
from tui.config import Config
from tui.engine.backend import Backend
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig


@pytest.fixture
def sessions_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def make_app(sessions_dir: Path):  # noqa: ANN201
    """Build an app on a FakeBackend (or the given one); keyword args go to LaunchConfig.

    `device="cpu"` by default: it only turns NVML probing off (no GPU gauges), which keeps
    timings in these tests about the chat, not about a GPU driver.
    """

    def build(
        backend: Backend | None = None, config: Config | None = None, **launch: Any
    ) -> TchatApp:
        launch.setdefault("sessions_dir", sessions_dir)
        launch.setdefault("device", "cpu")
        return TchatApp(LaunchConfig(**launch), backend=backend or FakeBackend(), config=config)

    return build
