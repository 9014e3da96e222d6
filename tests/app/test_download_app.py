"""Getting a model in the app, as a user does: F6, type an id, see the plan, download, watch it,
Esc halfway, start again and see it resume, then chat with it; and the messages for a disk too
small and a gated repo.

The hub is the local fake (tests/helpers/fake_hub.py); the engine is the real Transformers
backend on a tiny random model, so what loads is what was downloaded.
"""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from tests.app.test_chat import type_and_send, wait_replies, wait_until
from tests.helpers.fake_hub import FakeHub, point_at
from tui.app import TchatApp
from tui.config import Config
from tui.engine.transformers_backend import TransformersBackend
from tui.launch import LaunchConfig
from tui.screens.download_confirm import DownloadConfirm

REPO = "test-org/tiny-chat"
GATED = "test-org/gated-chat"


@pytest.fixture(scope="module")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.tiny_models import build_model

    return build_model(tmp_path_factory.mktemp("hub") / "tiny", intermediate_size=1024)


@pytest.fixture
def hub(served_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    with FakeHub() as server:
        server.add_folder(REPO, served_model, extra={"pytorch_model.bin": b"\0" * 9000})
        server.add_folder(GATED, served_model, gated=True, allowed_tokens=("hf_granted",))
        point_at(server, monkeypatch, tmp_path / "hf-cache")
        yield server


def make_app(sessions_dir: Path, tiny_model: Path) -> TchatApp:
    # Starts on a tiny local model: the chat works while the other one downloads.
    config = Config(generation={"max_new_tokens": 6, "do_sample": False})
    launch = LaunchConfig(sessions_dir=sessions_dir, model=str(tiny_model), device="cpu")
    return TchatApp(launch, backend=TransformersBackend(fast="off"), config=config)


async def ask_for(pilot, model: str) -> None:  # noqa: ANN001
    await pilot.press("f6")
    await wait_until(pilot, lambda: pilot.app.chat_screen.picker_shown)
    pilot.app.chat_screen.picker.search.value = model
    await pilot.pause(0.4)  # the picker looks the typed id up after a pause
    await pilot.press("enter")


def status(app: TchatApp) -> str:
    return str(app.chat_screen.status.render())


async def test_download_from_the_picker_cancel_resume_then_chat(
    hub: FakeHub, tiny_model: Path, sessions_dir: Path
) -> None:
    hub.rate = 150_000  # bytes/s: the weights take about six seconds
    app = make_app(sessions_dir, tiny_model)
    async with app.run_test(size=(120, 34)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, timeout=60)
        first_model = app.chat_screen.model_info.name
        await ask_for(pilot, REPO)
        await wait_until(pilot, lambda: isinstance(app.screen, DownloadConfirm), timeout=10)
        shown = app.screen.text()
        assert f"Download {REPO}?" in shown
        assert "files" in shown and "free in" in shown and "pytorch_model.bin" in shown
        assert "fits" in shown  # the memory estimate, per precision
        await pilot.press("enter")
        # Progress in the status line and the gauges pane; the chat goes on meanwhile.
        await wait_until(pilot, lambda: "% ·" in status(app) and "/s" in status(app), timeout=15)
        assert (
            "files" in app.chat_screen.gauges.text()
            and "tiny-chat" in app.chat_screen.gauges.text()
        )
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1, timeout=60)
        assert app.chat_screen.model_info.name == first_model
        await pilot.press("escape")
        await wait_until(pilot, lambda: "download cancelled" in status(app), timeout=10)
        assert "kept" in status(app)
        assert app.chat_screen.model_info.name == first_model  # the loaded model stays

        hub.requests.clear()
        hub.rate = None
        await ask_for(pilot, REPO)
        await wait_until(pilot, lambda: isinstance(app.screen, DownloadConfirm), timeout=10)
        assert "already here" in app.screen.text()
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: (
                app.chat_screen.model_info is not None and app.chat_screen.model_info.id == REPO
            ),
            timeout=60,
        )
        assert [r.range for r in hub.file_requests("model.safetensors")][0].startswith("bytes=")
        await type_and_send(pilot, "hello")
        await wait_replies(pilot, 2, timeout=60)
        assert app.chat_screen.session.messages[-1].model.id == REPO


async def test_too_small_a_disk_and_a_gated_repo_get_clear_messages(
    hub: FakeHub,
    tiny_model: Path,
    sessions_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    usage = namedtuple("usage", "total used free")
    app = make_app(sessions_dir, tiny_model)
    async with app.run_test(size=(120, 34)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, timeout=60)
        with monkeypatch.context() as full:
            full.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9, 20_000))
            await ask_for(pilot, REPO)
            await wait_until(pilot, lambda: isinstance(app.screen, DownloadConfirm), timeout=10)
            shown = app.screen.text()
            assert f"Cannot download {REPO}" in shown and "Not enough disk space" in shown
            await pilot.press("enter")  # does nothing: there is no room
            assert isinstance(app.screen, DownloadConfirm)
            await pilot.press("escape")
            await wait_until(pilot, lambda: "Not enough disk space" in notices(app), timeout=5)
        assert not hub.file_requests("model.safetensors")

        await ask_for(pilot, GATED)
        await wait_until(pilot, lambda: "gated" in notices(app), timeout=10)
        text = notices(app)
        assert f"{hub.url}/{GATED}" in text and "HF_TOKEN" in text and "hf auth login" in text
        assert not isinstance(app.screen, DownloadConfirm)  # nothing to confirm
        assert app.chat_screen.model_info is not None and app.chat_screen.model_info.id != GATED


def notices(app: TchatApp) -> str:
    """The notifications shown so far, as text."""
    return "\n".join(n.message for n in app._notifications)
