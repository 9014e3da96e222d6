"""Textual 8.2.8: an app whose terminal is closed stays alive for good (Textualize/textual#6692).

The app (`--app`) is 15 lines of plain Textual: a label redrawn 20 times a second, and SIGTERM
bound to `App.exit` the usual asyncio way. Run it in a tmux pane, started with `setsid` so no
SIGHUP reaches it (as when an SSH connection dies without one), and close the pane:

    tmux new-session -d "setsid python bench/repro_textual_6692.py --app; sleep 60"; sleep 2
    tmux kill-server      # the pty is closed under the app
    ps -C python -o pid,stat,pcpu,args     # still there, one core at 100%, forever

What happens: the driver's writer thread dies at its first write to the closed pty (EIO);
its 30-slot queue fills with the next frames; the UI thread then blocks forever in
`WriterThread.write -> Queue.put`, so the event loop never turns again and the SIGTERM handler
never runs (`kill` does nothing, only `kill -9` ends it). Meanwhile the input thread reads EOF
from the hung-up tty in a loop: 100% of a core (#6690). The main thread, dumped with
faulthandler once blocked (the check waits for that before it sends SIGTERM):

    File ".../queue.py", line 140 in put
    File ".../textual/drivers/_writer_thread.py", line 26 in write
    File ".../textual/drivers/linux_driver.py", line 194 in write
    ...

`python bench/repro_textual_6692.py` does all of that itself (a private tmux server), prints
what it saw, and exits 0 when the hang reproduced, 1 when it did not (Textual fixed it: then
tui/safe_driver.py and the guard in tui/lifeline.py can go). `--guarded` runs the same app on
tchat's guard (tui/lifeline.py + tui/safe_driver.py) and checks that it exits instead.
tests/robustness/test_dropped_terminal.py runs both.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_app(guarded: bool, dump: Path) -> None:
    """The minimal app. `dump`: where SIGUSR1 writes the stack of the thread it lands on."""
    # The stack of the thread the signal lands on only: the kernel hands a process's signal to
    # its main thread first, and that is the one the check needs. Walking every thread's stack
    # (all_threads=True) read the input thread's frames while it ran and killed the app now
    # and then, mid-dump (the check then saw "File " and no more).
    faulthandler.register(signal.SIGUSR1, file=dump.open("w"), all_threads=False)
    if guarded:
        sys.path.insert(0, str(REPO))
        from tui.lifeline import lifeline

        lifeline.install()

    from textual.app import App
    from textual.widgets import Label

    class Ticker(App):
        def compose(self):  # noqa: ANN201
            yield Label("0")

        def on_mount(self) -> None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)
            if guarded:
                lifeline.attach(lambda: None, self.exit, asyncio.get_running_loop())
            self.ticks = 0
            self.set_interval(0.05, self.tick)

        def tick(self) -> None:
            self.ticks += 1
            self.query_one(Label).update(str(self.ticks))

        if guarded:

            def get_driver_class(self):  # noqa: ANN201
                from tui.safe_driver import guard

                return guard(super().get_driver_class())

    Ticker().run()
    if guarded:
        lifeline.finish()


def _main_stack(dump: Path, since: int) -> str:
    """The main thread's stack from the dump written after byte `since`, once complete (it
    ends in `<module>`; faulthandler writes as it walks). Empty when none came within 3 s:
    the signal landed on another thread, or the app is gone."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        time.sleep(0.1)
        with dump.open("rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        if "in <module>" in text:
            return text.strip()
    return ""


def _dump_main(pid: int, dump: Path) -> str | None:
    """The main thread's stack now (SIGUSR1 to the app); None when the app has exited."""
    since = dump.stat().st_size
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        return None
    stack = _main_stack(dump, since)
    return stack if stack or _alive(pid) else None


def _blocked_in_writer_put(stack: str) -> bool:
    # Queue.put reached from the writer thread's write() or stop(): the frames differ with
    # the moment the queue filled (a frame, or the exit's own sequences), the block does not.
    return "_writer_thread.py" in stack and "in put" in stack


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie has exited


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


def _find(marker: str) -> int | None:
    """The app's process: its own argv holds `marker` (tmux's and the shell's name it too)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[0] == sys.executable.encode() and marker.encode() in argv:
                return int(entry.name)
    return None


def check(guarded: bool, wait_s: float = 3.0) -> dict[str, object]:
    """Start the app in a private tmux pane (setsid: no SIGHUP), close the pane, watch."""
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed")
    socket = f"repro6692-{uuid.uuid4().hex[:8]}"
    dump = Path(f"/tmp/{socket}.stacks")
    argv = [sys.executable, str(Path(__file__).resolve()), "--app", "--dump", str(dump)]
    if guarded:
        argv.append("--guarded")
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run(
        # The shell stays as the pane's session leader, so setsid need not fork.
        [
            *tmux,
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            f"setsid {shlex.join(argv)}; sleep 60",
        ],
        check=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    pid = None
    try:
        deadline = time.monotonic() + 20
        while pid is None and time.monotonic() < deadline:
            pid = _find(str(dump))
            time.sleep(0.05)
        assert pid is not None, "the app did not start"
        # Textual up and the label ticking: a fixed pause was too short once on a cold start.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shown = subprocess.run(
                [*tmux, "capture-pane", "-p"], check=False, capture_output=True, text=True
            ).stdout.split()
            if shown and shown[0].isdigit() and int(shown[0]) >= 10:
                break
            time.sleep(0.1)
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)
        closed = time.monotonic()
        while _alive(pid) and time.monotonic() - closed < wait_s:
            time.sleep(0.02)
        result: dict[str, object] = {"guarded": guarded, "hung": _alive(pid)}
        if not result["hung"]:
            result["exit_s"] = round(time.monotonic() - closed, 2)
            return result
        # The block comes once the writer's queue is full: 30 frames after the pty closed,
        # which a loaded machine (or the input thread spinning on EOF beside the UI thread)
        # can take seconds to draw. SIGTERM sent before that is still heard, so wait for the
        # block before sending it, or the check measures the machine's speed.
        stack = _dump_main(pid, dump)
        deadline = time.monotonic() + 15
        while stack is not None and not _blocked_in_writer_put(stack):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
            stack = _dump_main(pid, dump)
        if stack is None:  # it ended after all, on its own
            result.update(hung=False, exit_s=round(time.monotonic() - closed, 2))
            return result
        before = _cpu_ticks(pid)
        time.sleep(0.5)
        result["cpu_percent"] = round(
            100 * (_cpu_ticks(pid) - before) / os.sysconf("SC_CLK_TCK") / 0.5
        )
        os.kill(pid, signal.SIGTERM)
        time.sleep(1.0)
        result["survives_sigterm"] = _alive(pid)
        # Hung for good: still there after the close and deaf to SIGTERM. A Textual that fixed
        # #6692 keeps drawing (no SIGHUP came) and quits on SIGTERM.
        result["hung"] = result["survives_sigterm"]
        if result["survives_sigterm"]:
            stack = _dump_main(pid, dump) or ""
        result["main_thread"] = stack or (
            "no complete stack for the main thread in the dump:\n"
            + dump.read_text(errors="replace")
        )
        result["main_thread_blocked_in_writer_put"] = _blocked_in_writer_put(stack)
        return result
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGKILL)
        dump.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", action="store_true", help="be the app (inside the pane)")
    parser.add_argument("--guarded", action="store_true", help="run on tchat's guard")
    parser.add_argument("--dump", type=Path, default=Path("/tmp/repro6692.stacks"))
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if args.app:
        run_app(args.guarded, args.dump)
        return 0
    result = check(args.guarded)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}:\n{value}" if key == "main_thread" else f"{key}: {value}")
    return 0 if result["hung"] != args.guarded else 1


if __name__ == "__main__":
    sys.exit(main())
