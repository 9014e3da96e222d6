"""The backend seam holds: a new backend is its own module plus one registry entry.

tests/helpers/echo_backend.py is such a backend (it declares no capability); registered under
a name, `--backend echo` answers in `-p` and in the full-screen app, saves the chat, and every
optional feature it lacks is refused with a reason instead of failing (the UI asks the
backend's declared capabilities, never hasattr).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tui import cli
from tui.app import TchatApp
from tui.engine import registry
from tui.launch import LaunchConfig
from tui.store import SessionStore

ECHO = "tests.helpers.echo_backend:EchoBackend"


@pytest.fixture
def echo_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BACKENDS, "echo", ECHO)  # the one registry entry


def test_the_one_shot_mode_answers_with_a_registered_backend(
    echo_registered: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["--backend", "echo", "--sessions-dir", str(tmp_path), "-p", "hello seam"])
    assert code == 0
    assert capsys.readouterr().out.strip() == "hello seam"
    store = SessionStore(tmp_path)
    newest = store.newest()
    assert newest is not None
    assert store.load(newest).messages[-1].content.strip() == "hello seam"


async def test_the_app_chats_with_a_registered_backend_and_says_what_it_lacks(
    echo_registered: None, tmp_path: Path
) -> None:
    app = TchatApp(LaunchConfig(backend="echo", sessions_dir=tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.chat_screen
        while chat.model_info is None:
            await pilot.pause(0.05)
        await pilot.press(*"echo me", "enter")
        while chat.replies_finished < 1:
            await pilot.pause(0.05)
        assert chat.session.messages[-1].content.strip() == "echo me"
        await pilot.press("f8")  # the prompt inspector needs `prompt_text`
        await pilot.press("f7")  # the thinking switch needs the engine's chat format
        await pilot.pause(0.1)
        said = " ".join(str(n.message) for n in app._notifications)
    assert "does not show the prompt it builds" in said
    assert "does not say whether its model can switch thinking" in said
    assert type(chat.backend).__name__ == "EchoBackend"
