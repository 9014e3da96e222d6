"""The whole flow in a real terminal, on the real default model.

Type a question, watch the reply stream, stop a long one with Esc, quit with ctrl+q, resume
with `tchat --resume`, see the conversation again and continue it. Then a dropped connection
(the tmux server killed under the app) must still leave the chat on disk.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.tmux import TCHAT, Terminal, app_env
from tui.store import SessionStore

pytestmark = [pytest.mark.e2e, pytest.mark.model]


@pytest.fixture
def terminal(private_home: Path, default_model_dir: Path):  # noqa: ANN201
    env = app_env(private_home, default_model_dir.parent.parent.parent)
    config = private_home / "config" / "tchat" / "config.toml"
    config.parent.mkdir(parents=True)
    # Greedy decoding: the same answer every run, so the test can look for it.
    config.write_text("[generation]\ndo_sample = false\nmax_new_tokens = 300\n")
    term = Terminal(env)
    yield term
    term.close()


def sessions(home: Path) -> list:
    folder = home / "data" / "tchat" / "sessions"
    store = SessionStore(folder)
    return [store.load(p) for p in sorted(folder.glob("*.toml"))]


def wait_for_reply_on_disk(home: Path, replies: int, timeout: float = 120) -> None:
    """The screen only shows the end of the chat; the file says when a reply has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sessions(home)
        done = [
            m
            for m in (found[0].messages if found else [])
            if m.role == "assistant" and m.stats and m.stats.stop_reason != "streaming"
        ]
        if len(done) >= replies:
            return
        time.sleep(0.3)
    raise AssertionError(f"{replies} finished replies not saved after {timeout} s")


def test_chat_stop_quit_resume(terminal: Terminal, private_home: Path) -> None:
    terminal.start([str(TCHAT)])
    terminal.wait_for("ready (loaded in", timeout=120)

    terminal.type("What is the capital of France?")
    terminal.keys("Enter")
    screen = terminal.wait_for("first token", timeout=90)
    assert "Paris" in screen

    terminal.type("Write a very long story about a dragon and a knight.")
    terminal.keys("Enter")
    terminal.wait_for("tok/s", timeout=30)
    time.sleep(1.5)
    terminal.keys("Escape")
    screen = terminal.wait_for("stopped by you", timeout=10)

    terminal.keys("C-q")
    terminal.wait_for("TCHAT-EXITED-0", timeout=15)
    [session] = sessions(private_home)
    roles = [m.role for m in session.messages]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert "Paris" in session.messages[1].content
    assert session.messages[3].stats.stop_reason == "cancelled"
    assert session.messages[3].content  # the partial reply is kept
    terminal.kill_server()

    again = Terminal(terminal.env)
    try:
        again.start([str(TCHAT), "--resume"])
        screen = again.wait_for("What is the capital of France?", timeout=60)
        again.wait_for("ready (loaded in", timeout=60)
        again.type("And of Italy?")
        again.keys("Enter")
        again.wait_for("And of Italy?", timeout=10)
        wait_for_reply_on_disk(private_home, replies=3)
        again.keys("C-q")
        again.wait_for("TCHAT-EXITED-0", timeout=15)
    finally:
        again.close()
    [session] = sessions(private_home)
    assert [m.content for m in session.messages if m.role == "user"] == [
        "What is the capital of France?",
        "Write a very long story about a dragon and a knight.",
        "And of Italy?",
    ]
    assert session.messages[-1].role == "assistant" and session.messages[-1].content


def test_dropped_connection_keeps_the_chat(terminal: Terminal, private_home: Path) -> None:
    terminal.start([str(TCHAT)])
    terminal.wait_for("ready (loaded in", timeout=120)
    terminal.type("Write a very long story about a dragon and a knight.")
    terminal.keys("Enter")
    terminal.wait_for("tok/s", timeout=30)
    time.sleep(1.0)
    terminal.kill_server()  # SIGHUP, like an SSH connection that dropped
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = sessions(private_home)
        if found and len(found[0].messages) == 2 and found[0].messages[1].content:
            break
        time.sleep(0.2)
    [session] = sessions(private_home)
    assert session.messages[0].content == "Write a very long story about a dragon and a knight."
    assert session.messages[1].content  # the partial reply made it to disk
