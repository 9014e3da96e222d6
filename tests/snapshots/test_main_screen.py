"""Screenshots of the main screen: every shipped theme, at 80x24 and 120x40.

Each test resumes `sessions/example.toml` on a scripted backend with a fixed hardware probe,
so the picture depends only on the code. Update with `pytest --snapshot-update` after a
deliberate change, and look at the report before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.snapshots.fixed_hardware import FixedProbe
from tests.snapshots.settle import settle
from tui.app import TchatApp
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig
from tui.themes import shipped_theme_names

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLE = REPO / "sessions" / "example.toml"


def make_app(tmp_path: Path, theme: str) -> TchatApp:
    launch = LaunchConfig(resume=str(EXAMPLE), sessions_dir=tmp_path / "s", theme=theme)
    return TchatApp(launch, backend=FakeBackend(device="cuda:0"), probe=FixedProbe())  # type: ignore[arg-type]


@pytest.mark.parametrize("theme", shipped_theme_names())
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_main_screen(snap_compare, tmp_path: Path, theme: str, size: tuple[int, int]) -> None:
    """You should see the example chat (lists vs tuples) with the system prompt on top, the
    prompt box, the status line 'fake · cuda:0 · bf16 · ready' and the footer keys. At 120x40
    the gauges pane is on the right with one H100 (20/80 GiB); at 80x24 it is hidden."""
    assert snap_compare(make_app(tmp_path, theme), terminal_size=size, run_before=settle)


def test_main_screen_gauges_shown_at_80_columns(snap_compare, tmp_path: Path) -> None:
    """You should see the gauges pane in its compact width beside the chat at 80x24, after
    ctrl+g asked for it."""

    async def show_gauges(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press("ctrl+g")
        await pilot.pause(0.3)

    app = make_app(tmp_path, "tchat-dark")
    assert snap_compare(app, terminal_size=(80, 24), run_before=show_gauges)
