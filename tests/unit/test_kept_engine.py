"""`tchat -p --keep-alive`: the model stays loaded for the next `tchat -p`, as a user scripts it.

Each test runs `python -m tui -p` as a user's shell would, with a private runtime folder for
the sockets; every kept engine a test started is stopped after it (its pid from its hello).
The fake backend drives the mechanics (it loads in milliseconds); one test does the same with
a real Transformers model (a tiny random one) and checks the kept answer is the loaded one's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.cli import parse_args
from tui.engine.backend import LoadSpec
from tui.engine.kept import client, wire
from tui.store import SessionStore
from tui.store.session import GenerationSettings


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Short: a Unix socket's path has a limit of about 107 bytes, which pytest's tmp_path nears.
    folder = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    # Every kept engine this test's launches started, up or still loading (a launch starts
    # one as it exits, so it may not have a socket yet): found by this test's folder.
    time.sleep(0.5)
    mine = f"XDG_RUNTIME_DIR={folder}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        if int(proc.name) == os.getpid():
            continue
        try:
            if mine in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue
    shutil.rmtree(folder, ignore_errors=True)


def tchat(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "--sessions-dir", str(tmp_path / "s"), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


def kept(backend: str = "fake", spec: LoadSpec | None = None, wait_s: float = 60.0):  # noqa: ANN201
    """The kept engine for this launch once it is up (None if it is not within `wait_s`)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = client.find(spec or LoadSpec(), "off", 5, backend)
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def sockets(runtime: Path) -> list[Path]:
    return sorted((runtime / "tchat").glob("*.sock"))


def test_durations_read_as_ollama_writes_them() -> None:
    assert wire.parse_duration("300") == 300
    assert wire.parse_duration("90s") == 90
    assert wire.parse_duration("5m") == 300
    assert wire.parse_duration("1h") == 3600
    assert wire.parse_duration("0") == 0
    with pytest.raises(ValueError, match="not a duration"):
        wire.parse_duration("five minutes")


def test_a_resumed_chat_on_the_bundled_model_finds_the_engine_a_new_chat_kept() -> None:
    from tui.models.default_model import DEFAULT_MODEL_ID

    new_chat = wire.key_for(LoadSpec(), "off", "transformers")
    assert wire.key_for(LoadSpec(model=DEFAULT_MODEL_ID), "off", "transformers") == new_chat
    assert wire.key_for(LoadSpec(dtype="bf16"), "off", "transformers") != new_chat
    assert wire.key_for(LoadSpec(quantize="4bit"), "off", "transformers") != new_chat
    assert wire.key_for(LoadSpec(), "off", "fake") != new_chat


def test_keep_alive_comes_from_the_flag_else_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse_args(["-p", "x"]).keep_alive is None  # not asked: nothing is kept
    assert parse_args(["-p", "x", "--keep-alive", "2m"]).keep_alive == 120
    monkeypatch.setenv(wire.ENV_VAR, "10s")
    assert parse_args(["-p", "x"]).keep_alive == 10
    assert parse_args(["-p", "x", "--keep-alive", "0"]).keep_alive == 0
    with pytest.raises(SystemExit):
        parse_args(["-p", "x", "--keep-alive", "soon"])
    assert "--keep-alive: 'soon' is not a duration" in capsys.readouterr().err


def test_the_next_p_is_answered_by_the_kept_engine_and_keep_alive_0_unloads_it(
    tmp_path: Path, runtime: Path
) -> None:
    first = tchat(tmp_path, "--backend", "fake", "--keep-alive", "60", "-p", "first question")
    assert first.returncode == 0, first.stderr
    engine = kept()
    assert engine is not None, "no kept engine came up"
    assert engine.replies_served == 0  # the first answer was the launch's own
    second = tchat(tmp_path, "--backend", "fake", "--keep-alive", "60", "-p", "second question")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout  # the fake's script, streamed through the socket
    again = kept()
    assert again is not None and again.pid == engine.pid and again.replies_served == 1
    store = SessionStore(tmp_path / "s")
    chats = [store.load(p) for p in store.directory.glob("*.toml")]
    assert sorted(c.messages[0].content for c in chats) == ["first question", "second question"]
    assert all(c.messages[-1].content.strip() == first.stdout.strip() for c in chats)
    last = tchat(tmp_path, "--backend", "fake", "--keep-alive", "0", "-p", "last one")
    assert last.returncode == 0 and last.stdout == first.stdout
    deadline = time.monotonic() + 10
    while sockets(runtime) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sockets(runtime), "keep-alive 0 should unload the kept engine"


def test_without_keep_alive_nothing_is_kept_or_used(tmp_path: Path, runtime: Path) -> None:
    assert tchat(tmp_path, "--backend", "fake", "--keep-alive", "60", "-p", "hi").returncode == 0
    engine = kept()
    assert engine is not None
    plain = tchat(tmp_path, "--backend", "fake", "-p", "hi")
    assert plain.returncode == 0
    assert kept().replies_served == 0  # a launch that did not ask loads its own
    other = tchat(tmp_path, "--backend", "fake", "--dtype", "fp32", "--keep-alive", "60", "-p", "x")
    assert other.returncode == 0
    assert kept().replies_served == 0  # loaded another way: not this engine's to answer


def test_an_idle_kept_engine_unloads_itself_when_its_time_is_up(
    tmp_path: Path, runtime: Path
) -> None:
    assert tchat(tmp_path, "--backend", "fake", "--keep-alive", "2s", "-p", "hi").returncode == 0
    deadline = time.monotonic() + 20
    while not sockets(runtime) and time.monotonic() < deadline:
        time.sleep(0.05)
    while sockets(runtime) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sockets(runtime), "the kept engine outlived its keep-alive"


def test_a_killed_kept_engine_is_passed_over_and_the_launch_loads_its_own(
    tmp_path: Path, runtime: Path
) -> None:
    assert tchat(tmp_path, "--backend", "fake", "--keep-alive", "60", "-p", "hi").returncode == 0
    engine = kept()
    assert engine is not None
    os.kill(engine.pid, signal.SIGKILL)
    time.sleep(0.3)
    assert sockets(runtime)  # its socket is left behind
    done = tchat(tmp_path, "--backend", "fake", "--keep-alive", "60", "-p", "still there?")
    assert done.returncode == 0 and "Markdown" in done.stdout, done.stderr
    fresh = kept()
    assert fresh is not None and fresh.pid != engine.pid  # and a new one is kept


def test_a_kept_engine_gone_mid_reply_ends_it_with_an_error_and_keeps_the_text(
    runtime: Path,
) -> None:
    path = runtime / "gone.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def serve_half_a_reply() -> None:
        conn, _ = listener.accept()
        next(wire.messages(conn))
        wire.send(conn, {"text": "Half an ", "n": 2})
        wire.send(conn, {"text": "answer", "n": 3})
        conn.close()  # killed here

    threading.Thread(target=serve_half_a_reply, daemon=True).start()
    hello = {"info": {"id": "m", "name": "m", "device": "cpu", "dtype": "fp32"}, "pid": 1}
    backend = client.KeptBackend(path, hello, keep_s=60)
    reply = backend.stream(
        [{"role": "user", "content": "hi"}], GenerationSettings(), threading.Event()
    )
    assert "".join(reply) == "Half an answer"
    assert reply.stats.stop_reason == "error" and reply.stats.new_tokens == 3
    assert reply.error is not None and "stopped mid-reply" in reply.error
    listener.close()


def test_a_real_model_kept_loaded_answers_as_the_loaded_one_did(
    tmp_path: Path, runtime: Path, tiny_model: Path, private_home: Path
) -> None:
    config = private_home / "config" / "tchat" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[generation]\ndo_sample = false\nmax_new_tokens = 12\n", "utf-8")
    args = ("--model", str(tiny_model), "--keep-alive", "60", "-p", "Hello there")
    first = tchat(tmp_path, *args)
    assert first.returncode == 0, first.stderr
    spec = LoadSpec(model=str(tiny_model))
    engine = kept("transformers", spec, wait_s=120)
    assert engine is not None, client.log_file().read_text() if client.log_file().exists() else ""
    assert engine.info is not None and engine.info.name == tiny_model.name
    second = tchat(tmp_path, *args)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout  # greedy: the same tokens, from the kept model
    assert kept("transformers", spec).replies_served == 1
