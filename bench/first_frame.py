"""first_frame: how much slower than a bare Textual app does tchat show its first screen?

Each program runs as a child process in a pseudo-terminal (120x40) and the clock stops when its
output first holds a known piece of its first screen: tchat's prompt placeholder, the bare
app's one line of text. Both launched alternately in one run. Measured for `tchat --backend
fake` (the goal: <= 2.5x the bare app) and for tchat on the real default model, which must
draw its first frame before torch is even imported (the model loads in a worker afterwards).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from bench import Result
from bench._common import REPO, Run, median, spread

NAME = "first_frame"
TIMEOUT_S = 60.0
# Colour changes (SGR) split drawn text: the focused prompt draws its cursor over the
# placeholder's first letter, so "Message the model" only appears whole once the colour codes
# are taken out (else the clock would wait for the cursor to blink off, ~0.5 s later).
_SGR = re.compile(rb"\x1b\[[0-9;:]*m")

BARE_APP = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("bare-app-ready")

Bare().run()
"""


def time_to_text(argv: list[str], marker: bytes, env: dict[str, str]) -> float:
    """Seconds from spawning `argv` in a pty until `marker` appears in what it draws."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, start_new_session=True
    )
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
                if marker in _SGR.sub(b"", seen):
                    return time.perf_counter() - started
            elif proc.poll() is not None:
                break
        raise RuntimeError(f"{argv[-1]!r} drew no {marker!r}: {seen[-300:]!r}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)


def run(run: Run) -> list[Result]:
    reps = run.reps(5, 3)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TERM="xterm-256color", XDG_CONFIG_HOME=str(Path(tmp) / "config"))
        env["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        bare_script = Path(tmp) / "bare.py"
        bare_script.write_text(BARE_APP)
        bare = [sys.executable, str(bare_script)]
        tchat = [sys.executable, "-m", "tui", "--sessions-dir", str(Path(tmp) / "s")]
        placeholder = b"Message the model"
        cases = {
            "bare": (bare, b"bare-app-ready"),
            "fake": ([*tchat, "--backend", "fake"], placeholder),
            "real": (tchat, placeholder),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for argv, marker in cases.values():  # warm-up: the OS file cache
            time_to_text(argv, marker, env)
        for _ in range(reps):
            for name, (argv, marker) in cases.items():
                times[name].append(time_to_text(argv, marker, env))
    bare_s = median(times["bare"])
    return [
        Result(
            NAME,
            median(times["fake"]) / bare_s,
            "x",
            goal=("<=", 2.5),
            detail=(
                f"tchat --backend fake {spread(times['fake'], '{:.2f}')} s vs bare Textual app "
                f"{spread(times['bare'], '{:.2f}')} s to the first frame; median of {reps}"
            ),
        ),
        Result(
            "first_frame_real_model",
            median(times["real"]) / bare_s,
            "x",
            goal=("<=", 2.5),
            detail=(
                f"tchat on the default model {spread(times['real'], '{:.2f}')} s to the first "
                "frame (torch loads after it, in a worker)"
            ),
        ),
    ]
