"""`tchat -p` end to end on the real default model, as a user runs it from a shell.

Each test starts `python -m tui` as a subprocess (torch, the model, generation, saving) with
private XDG folders and no network. Sampling is switched off in a config file so the answers
are the model's greedy ones and the checks are stable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.store import SessionStore

pytestmark = pytest.mark.model


@pytest.fixture
def env(private_home: Path, default_model_dir: Path) -> dict[str, str]:
    config = private_home / "config" / "tchat" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[generation]\ndo_sample = false\nmax_new_tokens = 48\n", "utf-8")
    return {**os.environ, "HF_HUB_OFFLINE": "1"}


def tchat(env: dict[str, str], *args: str, stdin: str | None = None):  # noqa: ANN201
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def sessions(private_home: Path) -> list:
    folder = private_home / "data" / "tchat" / "sessions"
    store = SessionStore(folder)
    return [store.load(p) for p in sorted(folder.glob("*.toml"))]


def test_p_answers_on_stdout_saves_the_chat_and_resume_continues_it(
    env: dict[str, str], private_home: Path
) -> None:
    done = tchat(env, "-p", "What is the capital of France?")
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout
    assert done.stdout.endswith("\n")
    [session] = sessions(private_home)
    assert [m.role for m in session.messages] == ["user", "assistant"]
    assert session.messages[1].content.strip() == done.stdout.strip()
    assert session.model.id == "bundled:SmolLM2-135M-Instruct"

    done = tchat(env, "--resume", session.id, "-p", "And what is the capital of Germany?")
    assert done.returncode == 0, done.stderr
    assert "Berlin" in done.stdout
    [resumed] = sessions(private_home)
    assert resumed.id == session.id
    assert [m.role for m in resumed.messages] == ["user", "assistant"] * 2


def test_piped_stdin_is_the_prompt(env: dict[str, str], private_home: Path) -> None:
    done = tchat(env, stdin="What is the capital of France?\n")
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout
    [session] = sessions(private_home)
    assert session.messages[0].content == "What is the capital of France?"


def test_a_bad_model_fails_with_one_message_and_exit_1(
    env: dict[str, str], private_home: Path, tmp_path: Path
) -> None:
    done = tchat(env, "--model", str(tmp_path / "no-such-model"), "-p", "hi")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("tchat: ") and "no-such-model" in done.stderr
    assert "Traceback" not in done.stderr
    assert sessions(private_home) == []


def test_prompt_inspector_figures_agree_on_the_real_model(default_model_dir: Path) -> None:
    """What the inspector shows (rendered text, token count, token ids) is one consistent
    picture of the real model's input."""
    from tui.engine.backend import LoadSpec
    from tui.engine.transformers_backend import TransformersBackend

    backend = TransformersBackend()
    backend.load(LoadSpec())
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi [bold]there[/bold]"},
    ]
    rendered = backend.render_prompt(messages)
    ids = backend.token_ids(messages)
    assert "[bold]there[/bold]" in rendered and rendered.rstrip().endswith("assistant")
    assert len(ids) == backend.count_tokens(messages)
    assert backend.tokenizer.decode(ids) == rendered
