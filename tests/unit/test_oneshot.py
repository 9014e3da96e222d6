"""`tchat -p` and piped input, on the scripted backend: output, exit codes, what is saved."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_import_hygiene import _modules_after
from tui.cli import parse_args
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig
from tui.oneshot import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_PIPE,
    EXIT_SESSION,
    EXIT_USAGE,
    one_reply_fast_mode,
    read_prompt,
    run_oneshot,
)
from tui.store import SessionStore


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


def run(folder: Path, prompt: str, backend: FakeBackend | None = None, **launch: object):  # noqa: ANN201
    out, err = io.StringIO(), io.StringIO()
    code = run_oneshot(
        LaunchConfig(sessions_dir=folder, **launch),  # type: ignore[arg-type]
        prompt,
        backend=backend or FakeBackend(script="Hello from the model."),
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


def saved(folder: Path) -> list:
    store = SessionStore(folder)
    return [store.load(p) for p in sorted(folder.glob("*.toml"))]


def test_reply_streams_to_stdout_and_the_exchange_is_saved(folder: Path) -> None:
    code, out, err = run(folder, "Say hello")
    assert (code, out, err) == (0, "Hello from the model.\n", "")
    [session] = saved(folder)
    assert [(m.role, m.content) for m in session.messages] == [
        ("user", "Say hello"),
        ("assistant", "Hello from the model."),
    ]
    assert session.title == "Say hello"
    assert session.messages[1].stats.stop_reason == "end_of_turn"
    assert session.model.id == "fake"


def test_escape_sequences_from_the_model_cannot_drive_the_terminal(folder: Path) -> None:
    hostile = "clip\x1b]52;c;aGk=\x07 clear\x1b[2J ok\r\n"
    code, out, _ = run(folder, "q", FakeBackend(script=hostile))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "␛]52;c;aGk=␇" in out and out.endswith("ok\n")
    assert saved(folder)[0].messages[1].content == hostile  # stored exactly


def test_resume_continues_the_same_chat_with_its_history(folder: Path) -> None:
    run(folder, "first")
    [first] = saved(folder)
    backend = FakeBackend(script="second answer")
    code, out, _ = run(folder, "second", backend, resume=first.id[:15], system="Be terse.")
    assert code == 0 and out == "second answer\n"
    [session] = saved(folder)
    assert session.id == first.id
    assert [m.content for m in session.messages] == [
        "first",
        "Hello from the model.",
        "second",
        "second answer",
    ]
    assert backend.prompts[0] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Hello from the model."},
        {"role": "user", "content": "second"},
    ]
    code, _, _ = run(folder, "third", resume="")  # bare --resume: the newest chat
    assert code == 0 and len(saved(folder)[0].messages) == 6


def test_a_session_that_cannot_be_resumed_exits_3_without_writing(folder: Path) -> None:
    code, out, err = run(folder, "q", resume="nope")
    assert (code, out) == (EXIT_SESSION, "")
    assert err.startswith("tchat: cannot resume: no session 'nope'")
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text("[[[", "utf-8")
    code, _, err = run(folder, "q", resume="bad.toml")
    assert code == EXIT_SESSION and "not valid TOML" in err
    assert (folder / "bad.toml").read_text("utf-8") == "[[["  # left untouched
    code, _, err = run(tmp := folder / "empty", "q", resume="")
    assert code == EXIT_SESSION and "no saved sessions" in err and not tmp.exists()


def test_a_model_that_does_not_load_exits_1_with_one_clear_message(folder: Path) -> None:
    backend = FakeBackend(fail_load="No model called 'x/y' on the Hugging Face hub.")
    code, out, err = run(folder, "q", backend)
    assert (code, out) == (EXIT_ERROR, "")
    assert err.splitlines()[0] == "tchat: No model called 'x/y' on the Hugging Face hub."
    assert not folder.exists() or not list(folder.iterdir())  # no half chat left behind


def test_a_generation_error_keeps_the_partial_reply_and_exits_1(folder: Path) -> None:
    code, out, err = run(folder, "q", FakeBackend(script="one two three four", fail_after=2))
    assert code == EXIT_ERROR
    assert out == "one two\n"
    assert "scripted failure" in err
    reply = saved(folder)[0].messages[1]
    assert reply.content == "one two" and reply.stats.stop_reason == "error" and reply.error


def test_empty_prompt_is_a_usage_error(folder: Path) -> None:
    code, _, err = run(folder, "  \n")
    assert code == EXIT_USAGE and "no prompt" in err


def test_a_long_chat_drops_old_turns_and_says_so(folder: Path) -> None:
    for i in range(4):
        run(folder, f"question {i} " + "word " * 20, resume="" if i else None)
    backend = FakeBackend(script="short", context_length=600)  # 512 kept for the reply
    code, out, err = run(folder, "last one", backend, resume="")
    assert code == 0 and out == "short\n"
    assert "oldest messages were left out" in err
    assert backend.prompts[0][-1] == {"role": "user", "content": "last one"}
    assert len(saved(folder)[0].messages) == 10  # nothing deleted from the chat
    code, _, err = run(folder, "x " * 200, FakeBackend(context_length=600), resume="")
    assert code == EXIT_ERROR and "does not fit" in err


class ClosedPipe(io.StringIO):
    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def write(self, s: str) -> int:
        if self.after <= 0:
            raise BrokenPipeError
        self.after -= 1
        return super().write(s)


def test_closed_stdout_stops_generation_and_saves_what_was_written(folder: Path) -> None:
    err = io.StringIO()
    backend = FakeBackend(script="word " * 50)
    code = run_oneshot(LaunchConfig(sessions_dir=folder), "q", backend, ClosedPipe(3), err)
    assert code == EXIT_PIPE
    reply = saved(folder)[0].messages[1]
    assert reply.stats.stop_reason == "cancelled" and 3 <= reply.content.count("word") < 50


def test_ctrl_c_while_streaming_saves_the_partial_reply(folder: Path) -> None:
    class Interrupting(io.StringIO):
        def write(self, s: str) -> int:
            if self.getvalue().count("word") >= 2:
                raise KeyboardInterrupt
            return super().write(s)

    err = io.StringIO()
    code = run_oneshot(
        LaunchConfig(sessions_dir=folder),
        "q",
        FakeBackend(script="word " * 50),
        Interrupting(),
        err,
    )
    assert code == EXIT_INTERRUPTED and "interrupted" in err.getvalue()
    reply = saved(folder)[0].messages[1]
    assert reply.stats.stop_reason == "cancelled" and reply.content.count("word") < 50


def test_prompt_comes_from_the_option_or_from_stdin() -> None:
    assert read_prompt("hi", io.StringIO("ignored")) == "hi"
    assert read_prompt("-", io.StringIO("from stdin\n")) == "from stdin"
    assert read_prompt(None, io.StringIO("piped\n\n")) == "piped"
    assert read_prompt(None, None) == ""


def test_the_option_is_parsed() -> None:
    assert parse_args(["-p", "hello"]).prompt == "hello"
    assert parse_args(["--prompt", "-", "-r", "abc"]).prompt == "-"
    assert parse_args([]).prompt is None


def test_one_shot_mode_imports_no_textual() -> None:
    loaded = _modules_after("import tui.oneshot, tui.clipboard, tui.chat.context")
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)


def tchat(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "--backend", "fake", *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_line_with_p_and_with_piped_stdin(private_home: Path) -> None:
    done = tchat("-p", "hello")
    assert done.returncode == 0 and done.stdout.startswith("Here is a short answer")
    assert done.stderr == ""
    done = tchat(stdin="from a pipe\n")
    assert done.returncode == 0 and "That is all." in done.stdout
    sessions = private_home / "data" / "tchat" / "sessions"
    titles = sorted(s.title for s in saved(sessions))
    assert titles == ["from a pipe", "hello"]
    done = tchat(stdin="")
    assert done.returncode == EXIT_USAGE and "no prompt" in done.stderr


def test_one_answer_does_not_start_a_compile_unless_asked_for() -> None:
    # The fast path's compile takes a minute or more on a CPU: a one-shot answer is long over.
    assert one_reply_fast_mode("auto") == "off"
    assert one_reply_fast_mode("on") == "on"
    assert one_reply_fast_mode("off") == "off"
