"""`tchat -p` with an endpoint: the answer on stdout, notes and failures on stderr, the chat
saved with the server it came from."""

from __future__ import annotations

import io
from pathlib import Path

from tests.helpers.fake_openai_server import FakeServer, reply_steps
from tests.helpers.serving import free_port
from tui.launch import LaunchConfig
from tui.oneshot import EXIT_ERROR, EXIT_OK, run_oneshot
from tui.store import SessionStore


def ask(url: str, folder: Path, prompt: str = "hi", **launch: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    config = LaunchConfig(endpoint=url, backend="remote", sessions_dir=folder, **launch)  # type: ignore[arg-type]
    code = run_oneshot(config, prompt, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_one_answer_from_a_server(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.chat = reply_steps(["Four", "."])
    code, out, err = ask(fake_server.url, tmp_path, "2+2?")
    assert (code, out, err) == (EXIT_OK, "Four.\n", "")
    [path] = sorted(tmp_path.glob("*.toml"))
    session = SessionStore(tmp_path).load(path)
    assert session.model.backend == "remote" and session.model.endpoint == fake_server.url
    assert "Authorization" not in path.read_text("utf-8")


def test_a_server_that_is_down(tmp_path: Path) -> None:
    code, out, err = ask(f"http://127.0.0.1:{free_port()}/v1", tmp_path)
    assert code == EXIT_ERROR and out == ""
    assert "connection refused" in err and err.startswith("tchat: ")


def test_a_cut_mid_answer_keeps_the_partial_text(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.chat = [("text", "Part"), ("cut",)]
    code, out, err = ask(fake_server.url, tmp_path)
    assert code == EXIT_ERROR and out == "Part\n" and "lost mid-reply" in err
    [path] = sorted(tmp_path.glob("*.toml"))
    assert SessionStore(tmp_path).load(path).messages[-1].content == "Part"


def test_the_key_never_reaches_the_session_file(
    fake_server: FakeServer, tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("BOX_KEY", secret)
    fake_server.chat = [("text", "x"), ("chunk", {"error": f"echo {secret}"})]
    code, out, err = ask(fake_server.url, tmp_path, api_key_env="BOX_KEY")
    assert code == EXIT_ERROR and secret not in err and "***" in err
    [path] = sorted(tmp_path.glob("*.toml"))
    assert secret not in path.read_text("utf-8")
