"""A dropped connection always ends tchat: no process left behind holding the model.

Each trial starts tchat in a tmux server of its own, brings it to a moment (start-up, torch
import, model load, a compile, the model picker or a modal screen open, a reply streaming,
quitting), and closes the terminal in one of two ways:

- `tmux kill-server`: the pty is closed and the kernel sends SIGHUP (and SIGCONT), as when
  sshd drops a connection;
- the same with tchat started under `setsid`: the pty is closed and no signal comes at all;
  only EOF on reads, EIO on writes and POLLHUP say so (Textualize/textual#6690).

Then, every time: every process of tchat's tree is gone within BOUND_S, it used less CPU
meanwhile than a spinning core would, every session file parses, and every message the user
sent is in one. The Textual hang this guards against is reproduced without tchat by
bench/repro_textual_6692.py; the last tests here run it, with and without tchat's guard.

By default each fake-backend moment gets 3 trials and each real-engine one 1 (CI's time is
counted); TCHAT_HANGUP_TRIALS=N runs N of each (a longer hunt for rare timings). Each test
prints its trials' exit times (pytest -s).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_CACHE
from tests.e2e.tmux import (
    TCHAT,
    Terminal,
    alive,
    app_env,
    cpu_seconds,
    process_tree,
)
from tests.robustness.helpers import load_all
from tests.robustness.term import FakeTerminal

pytestmark = pytest.mark.e2e

BOUND_S = 5.0  # the promise: gone within this long after the terminal closed
# A core spinning for the whole wait would burn BOUND_S; a save and Textual's teardown take a
# small fraction of that.
MAX_CPU_S = 1.5
TRIALS = int(os.environ.get("TCHAT_HANGUP_TRIALS", "0"))  # 0: each test's default
PARALLEL = 3  # trials at once (each in its own tmux server)

LONG_SCRIPT = " ".join(f"word{i}" for i in range(3000))
SHORT_SCRIPT = "A short answer."


@dataclass
class Trial:
    moment: str
    signal: bool  # True: closed with SIGHUP; False: started with setsid, no signal comes
    exit_s: float | None = None
    cpu_s: float = 0.0
    typed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        how = "SIGHUP" if self.signal else "no signal"
        took = "NOT GONE" if self.exit_s is None else f"{self.exit_s:.2f} s"
        return f"{self.moment:<24} {how:<9} exit {took:<8} cpu {self.cpu_s:.2f} s"


# ---- moments: each launches tchat (`launch()`), brings it somewhere, returns what it sent


def _send(term: Terminal, text: str) -> list[str]:
    """Send `text` and wait until the app has taken it (the prompt is empty again): keys still
    on their way through tmux when the terminal closes were never typed into tchat."""
    term.type(text)
    term.wait_for(text, timeout=10)
    term.keys("Enter")
    term.wait_for("Message the model", timeout=10)
    return [text]


def _wait_reply_saved(folder: Path, timeout: float = 20.0) -> None:
    """A finished reply is on disk (the screen shows only the end of the chat)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sessions = load_all(folder)
        except Exception:  # noqa: BLE001 - a file being replaced; look again
            sessions = []
        for session in sessions:
            for m in session.messages:
                if m.role == "assistant" and m.stats and m.stats.stop_reason != "streaming":
                    return
        time.sleep(0.1)
    raise AssertionError(f"no finished reply saved in {folder} after {timeout} s")


def start_up(delay: float) -> Callable[[Terminal, Callable[[], None], Path], list[str]]:
    def moment(term: Terminal, launch: Callable[[], None], folder: Path) -> list[str]:
        started = time.monotonic()
        launch()
        term.app_pid()
        time.sleep(max(0.0, started + delay - time.monotonic()))
        return []

    return moment


def picker_open(term: Terminal, launch: Callable[[], None], folder: Path) -> list[str]:
    launch()
    term.wait_for("ready (loaded in", timeout=30)
    sent = _send(term, "a question before the picker")
    _wait_reply_saved(folder)
    term.keys("F6")
    term.wait_for("Models ·", timeout=10)
    return sent


def help_open(term: Terminal, launch: Callable[[], None], folder: Path) -> list[str]:
    launch()
    term.wait_for("ready (loaded in", timeout=30)
    sent = _send(term, "a question before the help")
    _wait_reply_saved(folder)
    term.keys("F1")
    term.wait_for("─ Keys ─", timeout=10)
    return sent


def streaming(term: Terminal, launch: Callable[[], None], folder: Path) -> list[str]:
    launch()
    term.wait_for("ready (loaded in", timeout=30)
    sent = _send(term, "tell me everything")
    term.wait_for("tok/s", timeout=10)
    time.sleep(random.uniform(0.0, 1.0))
    return sent


def quitting(term: Terminal, launch: Callable[[], None], folder: Path) -> list[str]:
    launch()
    term.wait_for("ready (loaded in", timeout=30)
    sent = _send(term, "tell me everything, then I quit")
    term.wait_for("tok/s", timeout=10)
    term.keys("C-q")  # mid-reply: stop, save, quit (a second at most)
    time.sleep(random.uniform(0.0, 0.15))
    return sent


def torch_import(term: Terminal, launch: Callable[[], None], folder: Path) -> list[str]:
    launch()
    term.wait_for("Starting torch", timeout=30)
    sent = _send(term, "typed while torch loads")  # waits for the model
    time.sleep(random.uniform(0.0, 0.8))
    return sent


def model_load(term: Terminal, launch: Callable[[], None], folder: Path) -> list[str]:
    launch()
    term.wait_for("Loading tiny", timeout=40)
    sent = _send(term, "typed while the model loads")
    time.sleep(random.uniform(0.0, 0.3))
    return sent


def compiling(term: Terminal, launch: Callable[[], None], folder: Path) -> list[str]:
    """The fast path compiles after the first reply, in the background (engine/fast_path)."""
    launch()
    term.wait_for("ready (loaded in", timeout=40)
    sent = _send(term, "hi")
    _wait_reply_saved(folder, timeout=40)
    time.sleep(random.uniform(0.3, 1.0))
    return sent


# ---- one trial: reach the moment, close the terminal, check what is left


def close_and_check(term: Terminal, trial: Trial, folder: Path) -> None:
    pid = term.app_pid()
    tree = process_tree(pid)  # with whatever it started (compile workers...)
    cpu_before = cpu_seconds(pid)
    cpu_last = cpu_before
    closed = time.monotonic()
    term.kill_server()
    while any(alive(p) for p in tree) and time.monotonic() - closed < BOUND_S:
        cpu_last = max(cpu_last, cpu_seconds(pid))
        time.sleep(0.01)
    if not any(alive(p) for p in tree):
        trial.exit_s = time.monotonic() - closed
    trial.cpu_s = cpu_last - cpu_before
    left = [p for p in tree if alive(p)]
    if left:
        trial.problems.append(f"still running after {BOUND_S} s: {left}")
        for p in left:  # never leave one behind, whatever the test says
            os.kill(p, signal.SIGKILL)
    if trial.cpu_s > MAX_CPU_S:
        trial.problems.append(f"used {trial.cpu_s:.2f} s of CPU while exiting")
    try:
        sessions = load_all(folder) if folder.exists() else []
    except Exception as exc:  # noqa: BLE001 - the report says which
        trial.problems.append(f"a session file does not parse: {exc}")
        return
    sent = [m.content for s in sessions for m in s.messages if m.role == "user"]
    lost = [t for t in trial.typed if t not in sent]
    if lost:
        trial.problems.append(f"lost what the user sent: {lost} (on disk: {sent})")


Moment = Callable[[Terminal, Callable[[], None], Path], list[str]]


def run_trials(
    plan: list[tuple[str, Moment, bool]],
    make: Callable[[Path, bool, Moment], tuple[Terminal, Callable[[], None], Path]],
    base: Path,
) -> list[Trial]:
    """Every (name, moment, with SIGHUP) of `plan`, PARALLEL at once."""

    def one(index: int, name: str, moment: Moment, with_signal: bool) -> Trial:
        trial = Trial(name, signal=with_signal)
        term, launch, folder = make(base / f"t{index}", with_signal, moment)
        try:
            trial.typed = moment(term, launch, folder)
            close_and_check(term, trial, folder)
        except Exception as exc:  # noqa: BLE001 - reported with the trial
            trial.problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            term.close()
        return trial

    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = [pool.submit(one, i, *step) for i, step in enumerate(plan)]
        trials = [f.result() for f in futures]
    report(trials)
    return trials


def report(trials: list[Trial]) -> None:
    print()
    for trial in trials:
        print(trial, *trial.problems, sep="\n    ")
    times = [t.exit_s for t in trials if t.exit_s is not None]
    if times:
        print(
            f"{len(trials)} trials: exit median {statistics.median(times):.2f} s, "
            f"longest {max(times):.2f} s; CPU while exiting at most "
            f"{max(t.cpu_s for t in trials):.2f} s"
        )


def assert_all_good(trials: list[Trial]) -> None:
    bad = [f"{t}: {'; '.join(t.problems)}" for t in trials if t.problems]
    assert not bad, "\n".join(bad)


def _plan(moments: list[tuple[str, Moment]], default: int) -> list[tuple[str, Moment, bool]]:
    """Each moment `default` times (TCHAT_HANGUP_TRIALS overrides), interleaved, closed with
    SIGHUP and without it in turn."""
    return [
        (name, moment, (rep + pos) % 2 == 0)
        for rep in range(TRIALS or default)
        for pos, (name, moment) in enumerate(moments)
    ]


# ---- the tests


def test_closing_the_terminal_ends_tchat_at_every_moment(tmp_path: Path) -> None:
    """Fake backend: start-up from 0.1 s, the picker, a modal screen, mid-reply, quitting."""
    long_script = tmp_path / "long.txt"
    long_script.write_text(LONG_SCRIPT, "utf-8")
    short_script = tmp_path / "short.txt"
    short_script.write_text(SHORT_SCRIPT, "utf-8")
    scripts: dict[Moment, Path] = {streaming: long_script, quitting: long_script}
    moments: list[tuple[str, Moment]] = [
        *[(f"start-up +{d} s", start_up(d)) for d in (0.1, 0.3, 0.6, 1.0)],
        ("model picker open", picker_open),
        ("help screen open", help_open),
        ("reply streaming", streaming),
        ("quitting mid-reply", quitting),
    ]
    plan = _plan(moments, default=3)  # SIGHUP and no signal in turn

    def make(
        home: Path, with_signal: bool, moment: Moment
    ) -> tuple[Terminal, Callable[[], None], Path]:
        term = FakeTerminal(home, scripts.get(moment, short_script), delay=0.02)
        return term, lambda: term.start_app(setsid=not with_signal), term.sessions_dir()

    assert_all_good(run_trials(plan, make, tmp_path))


def test_closing_the_terminal_while_torch_loads_the_model_or_compiles(
    tmp_path: Path, tiny_model: Path
) -> None:
    """The real engine on a tiny model: torch and transformers importing, the model loading,
    torch.compile running in the background after the first reply."""
    moments: list[tuple[str, Moment]] = [
        ("torch import", torch_import),
        ("model load", model_load),
        ("compile", compiling),
    ]
    # Once each by default (seconds of torch import a trial; CI's time is counted), with and
    # without SIGHUP in turn; TCHAT_HANGUP_TRIALS=6 is the longer hunt.
    plan = _plan(moments, default=1)

    def make(
        home: Path, with_signal: bool, moment: Moment
    ) -> tuple[Terminal, Callable[[], None], Path]:
        env = app_env(home, TEST_CACHE)
        env["TCHAT_FAST"] = "on" if moment is compiling else "off"
        config = home / "config" / "tchat" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text("[generation]\nmax_new_tokens = 16\n")  # a short first reply
        term = Terminal(env)
        argv = [str(TCHAT), "--model", str(tiny_model), "--device", "cpu"]

        def launch() -> None:
            term.start((["setsid"] if not with_signal else []) + argv)

        return term, launch, home / "data" / "tchat" / "sessions"

    assert_all_good(run_trials(plan, make, tmp_path))


def test_sigterm_during_start_up_and_a_second_sigterm_end_tchat(tmp_path: Path) -> None:
    """SIGTERM while tchat starts ends it at once (nothing typed yet: 143 before its handlers
    exist, 0 after); once up, it saves and exits; a second SIGTERM right after the first ends
    it at once and the chat is still saved."""
    script = tmp_path / "long.txt"
    script.write_text(LONG_SCRIPT, "utf-8")
    terms = [FakeTerminal(tmp_path / f"t{i}", script, delay=0.05) for i in range(3)]
    try:
        for term in terms:
            term.start_app()
        for term, delay in zip(terms[:2], (0.2, 0.7), strict=True):
            time.sleep(delay)
            os.kill(term.app_pid(), signal.SIGTERM)
            screen = term.wait_for("TCHAT-EXITED-", timeout=BOUND_S)
            assert "TCHAT-EXITED-0" in screen or "TCHAT-EXITED-143" in screen, screen

        late = terms[2]
        late.wait_for("ready (loaded in", timeout=30)
        _send(late, "saved even when killed twice")
        late.wait_for("tok/s", timeout=10)
        pid = late.app_pid()
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGTERM)
        late.wait_for("TCHAT-EXITED-0", timeout=BOUND_S)
        [session] = load_all(late.sessions_dir())
        assert session.messages[0].content == "saved even when killed twice"
        assert session.messages[1].stats.stop_reason == "cancelled"
    finally:
        for term in terms:
            term.close()


# ---- the Textual hang itself, without tchat (bench/repro_textual_6692.py)


def _repro():  # noqa: ANN202
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import repro_textual_6692
    finally:
        sys.path.pop(0)
    return repro_textual_6692


def test_textual_still_hangs_on_a_closed_terminal_so_the_guard_is_needed() -> None:
    """A plain Textual app, its pane closed with no SIGHUP: blocked for good in the driver's
    writer queue, deaf to SIGTERM. When this stops reproducing, Textual has fixed #6692."""
    result = _repro().check(guarded=False, wait_s=2.0)
    if not result["hung"]:
        import textual

        pytest.skip(
            f"Textual {textual.__version__} no longer hangs when its terminal closes "
            "(Textualize/textual#6692 fixed?): tui/safe_driver.py can go, and so can the "
            "part of tui/lifeline.py that works around it; the rest (bounded exit, signals "
            "before the app is up) stays."
        )
    # The stack whole, so a failure shows where the main thread was instead.
    assert result["main_thread_blocked_in_writer_put"], result["main_thread"]


def test_the_guard_ends_the_minimal_app_too() -> None:
    """The same app on tchat's guard (lifeline + safe driver) exits at once instead."""
    result = _repro().check(guarded=True, wait_s=BOUND_S)
    assert not result["hung"], result
    assert result["exit_s"] < BOUND_S
