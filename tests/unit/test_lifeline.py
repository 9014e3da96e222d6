"""tui/lifeline.py and tui/safe_driver.py: however tchat is told to go, it saves and goes.

- The bounded exit, on a stand-in app (tests/helpers/lifeline_app.py, no Textual, no tmux):
  SIGTERM when the app's way out hangs, when the UI thread is wedged, before the app is up; a
  second signal; a terminal that hangs up with no signal at all.
- The safe driver's file keeps Textual's writer thread alive when writes fail (and without it
  the thread's queue blocks its writers: the hang of Textualize/textual#6692).
- Guards: the Textual internals the two modules rely on are still there and still mean what
  they meant in 8.2.8; if one changes, the test says what to re-check.

The same, end to end in a real terminal: tests/robustness/test_dropped_terminal.py.
"""

from __future__ import annotations

import inspect
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import textual
from textual.app import App
from textual.drivers import _writer_thread
from textual.drivers._writer_thread import WriterThread
from textual.drivers.linux_driver import LinuxDriver

from tests.conftest import REPO
from tui import lifeline as lifeline_module
from tui.safe_driver import SafeLinuxDriver, TerminalOut, guard

BOUND = lifeline_module.EXIT_BOUND_S


class StandIn:
    """tests/helpers/lifeline_app.py in a subprocess, its stdio on `stdio` (a pty or pipes)."""

    def __init__(self, mode: str, tmp_path: Path, stdio: int | None = None) -> None:
        self.saved = tmp_path / f"{mode}.saved"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.lifeline_app", mode, str(self.saved)],
            cwd=REPO,
            stdin=stdio if stdio is not None else subprocess.DEVNULL,
            stdout=stdio if stdio is not None else subprocess.PIPE,
            stderr=stdio if stdio is not None else subprocess.DEVNULL,
            start_new_session=True,  # no controlling terminal: no SIGHUP from a closed pty
        )

    def wait_up(self, read_fd: int | None = None) -> None:
        if read_fd is None:
            assert self.proc.stdout is not None
            assert self.proc.stdout.readline().strip() == b"up"
        else:
            deadline = time.monotonic() + 20
            seen = b""
            while b"up" not in seen and time.monotonic() < deadline:
                if select.select([read_fd], [], [], 0.1)[0]:
                    seen += os.read(read_fd, 100)
            assert b"up" in seen

    def kill(self, sig: int = signal.SIGTERM) -> float:
        self.proc.send_signal(sig)
        return time.monotonic()

    def exit_after(self, since: float) -> tuple[int, float]:
        """(exit status, seconds from `since` until the process ended)."""
        deadline = time.monotonic() + BOUND + 5
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self.ended = time.monotonic()
        assert self.proc.returncode is not None, "still running"
        return self.proc.returncode, self.ended - since

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def stand_ins():  # noqa: ANN201
    made: list[StandIn] = []

    def make(mode: str, tmp_path: Path, stdio: int | None = None) -> StandIn:
        made.append(StandIn(mode, tmp_path, stdio))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_sigterm_saves_and_exits_within_the_bound_whatever_the_app_does(
    stand_ins, tmp_path: Path
) -> None:
    """The four cases at once (each waits up to the bound): an app that leaves normally, one
    whose way out hangs, one whose UI thread is wedged, and a signal before the app is up."""
    procs = {m: stand_ins(m, tmp_path) for m in ("normal", "stop-hangs", "wedged")}
    early = stand_ins("before-attach", tmp_path)
    for p in (*procs.values(), early):
        p.wait_up()
    sent = {m: p.kill() for m, p in procs.items()}
    code, took = early.exit_after(early.kill())
    assert code == 0 and took < 1.0  # nothing typed yet: gone at once
    assert not early.saved.exists()
    results = {m: p.exit_after(sent[m]) for m, p in procs.items()}  # in the order they end

    code, took = results["normal"]
    assert code == 0 and took < 1.0
    assert procs["normal"].saved.read_text() == "saved by MainThread"  # the UI thread saved

    code, took = results["stop-hangs"]
    assert code == 0 and BOUND - 0.5 < took < BOUND + 1.0  # saved, then cut short
    assert procs["stop-hangs"].saved.read_text() == "saved by MainThread"

    code, took = results["wedged"]
    assert code == 0 and took < BOUND + 1.0
    # The UI thread never ran again: the watchdog saved in its place.
    assert procs["wedged"].saved.read_text() == "saved by tchat-last-save"


def test_a_second_signal_ends_it_at_once(stand_ins, tmp_path: Path) -> None:
    app = stand_ins("stop-hangs", tmp_path)
    app.wait_up()
    app.kill(signal.SIGHUP)
    time.sleep(0.3)  # saved by now; the app's way out hangs
    code, took = app.exit_after(app.kill(signal.SIGTERM))
    assert code == 0 and took < 0.5
    assert app.saved.read_text() == "saved by MainThread"


def test_a_terminal_that_hangs_up_without_a_signal_ends_it(stand_ins, tmp_path: Path) -> None:
    """A pty closed under the app with no SIGHUP (its own session): POLLHUP says so."""
    master, slave = pty.openpty()
    try:
        app = stand_ins("normal", tmp_path, stdio=slave)
        os.close(slave)
        app.wait_up(master)
        idle = _cpu(app.proc.pid)
        time.sleep(0.3)
        assert _cpu(app.proc.pid) - idle < 0.1  # waiting for the hang-up costs nothing
    finally:
        closed = time.monotonic()
        os.close(master)  # the terminal goes away
    code, took = app.exit_after(closed)
    assert code == 0 and took < 1.0
    assert app.saved.read_text() == "saved by MainThread"


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_lifeline_imports_no_textual() -> None:
    """cli.main installs it before Textual (and torch) is imported."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys, tui.lifeline; print('textual' in sys.modules)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


# ---- the safe driver's output file


class DeadTerminal:
    """Writes fail as on a closed pty."""

    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")

    def flush(self) -> None:
        raise OSError(5, "Input/output error")

    def fileno(self) -> int:
        return 2


def _writes_finish(thread: WriterThread, count: int, timeout: float = 2.0) -> bool:
    """Whether `count` writes to `thread` return within `timeout` (done off this thread, as a
    blocked one could never be unblocked)."""
    done = threading.Event()

    def write() -> None:
        for i in range(count):
            thread.write(f"frame {i}")
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done.wait(timeout)


def test_terminal_out_keeps_the_writer_thread_draining_and_reports_once() -> None:
    lost: list[int] = []
    out = TerminalOut(DeadTerminal(), lambda: lost.append(1))  # type: ignore[arg-type]
    thread = WriterThread(out)  # type: ignore[arg-type]
    thread.start()
    assert _writes_finish(thread, 10 * _writer_thread.MAX_QUEUED_WRITES)
    thread.stop()  # and it still ends when asked
    assert lost == [1] and out.lost


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_without_it_the_writer_queue_blocks_for_good() -> None:
    """Why the safe driver exists. If this starts failing, Textual no longer lets a failed
    write kill its writer thread (#6692): re-check, and drop TerminalOut if so."""
    thread = WriterThread(DeadTerminal())  # type: ignore[arg-type]
    thread.start()
    finished = _writes_finish(thread, 2 * _writer_thread.MAX_QUEUED_WRITES, timeout=1.0)
    if finished:
        pytest.skip(
            f"Textual {textual.__version__}: writes after a failed one no longer block; "
            "tui/safe_driver.py's TerminalOut may no longer be needed (#6692)"
        )
    assert not thread.is_alive()  # died at the first failed write


# ---- guards: the Textual internals the guard relies on (tested with 8.2.8)


def _source(obj: object) -> str:
    return inspect.getsource(obj)  # type: ignore[arg-type]


RECHECK = (
    "Textual {version} changed {what}; tui/safe_driver.py relies on it ({why}). Re-check the "
    "driver against the new Textual, then run tests/robustness/test_dropped_terminal.py."
)


def _guard(condition: bool, what: str, why: str) -> None:
    assert condition, RECHECK.format(version=textual.__version__, what=what, why=why)


def test_guard_the_writer_thread_writes_to_the_drivers_file() -> None:
    _guard(
        "self._file = sys.__stderr__" in _source(LinuxDriver.__init__),
        "LinuxDriver.__init__ (no `self._file = sys.__stderr__`)",
        "it wraps `_file` in TerminalOut",
    )
    _guard(
        "WriterThread(self._file)" in _source(LinuxDriver.start_application_mode),
        "start_application_mode (the writer thread no longer gets `self._file`)",
        "the writer thread must write through TerminalOut",
    )
    run = _source(WriterThread.run)
    _guard(
        "self._file.write" in run and "self._file.flush" in run,
        "WriterThread.run",
        "TerminalOut must see every write and flush",
    )


def test_guard_exit_event_stops_the_input_thread_and_disable_input() -> None:
    _guard(
        "while not self.exit_event.is_set()" in _source(LinuxDriver.run_input_thread),
        "LinuxDriver.run_input_thread's loop",
        "setting exit_event must end the input thread, which spins on EOF (#6690)",
    )
    _guard(
        "if not self.exit_event.is_set():" in _source(LinuxDriver.disable_input),
        "LinuxDriver.disable_input",
        "with exit_event set it must skip its writes to a terminal that is gone",
    )


def test_guard_driver_close_ends_app_shutdown() -> None:
    shutdown = _source(App._shutdown)
    _guard(
        "self._driver.close()" in shutdown and "driver.disable_input()" in shutdown,
        "App._shutdown",
        "SafeLinuxDriver.close tells the lifeline that Textual's shutdown is over",
    )


async def test_guard_the_safe_driver_is_the_one_tchat_runs_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tui.app import TchatApp
    from tui.launch import LaunchConfig

    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    assert App().get_driver_class() is LinuxDriver  # what Textual picks here, and tchat swaps
    app = TchatApp(LaunchConfig(backend="fake", device="cpu"))
    app.chat_screen.autosaver.close()
    assert app.driver_class is SafeLinuxDriver
    assert guard(SafeLinuxDriver) is SafeLinuxDriver  # another driver is left alone

    monkeypatch.setattr(signal, "signal", lambda *_: None)  # keep this process's handlers
    driver = SafeLinuxDriver(app)
    assert isinstance(driver._file, TerminalOut)
