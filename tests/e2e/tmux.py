"""Drive tchat in a real terminal: a private tmux server, send-keys, capture-pane.

Each test gets its own tmux socket, so it never touches the user's tmux sessions.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

TCHAT = Path(sys.executable).parent / "tchat"


class Terminal:
    """One 80x24 tmux window running one command."""

    def __init__(self, env: dict[str, str], width: int = 80, height: int = 24) -> None:
        if shutil.which("tmux") is None:
            pytest.skip("tmux is not installed")
        self.socket = f"tchat-test-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.size = (width, height)
        self.started = False

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check
        )

    def start(self, argv: list[str]) -> None:
        # The marker line tells the test that the app has exited (and with which code).
        command = f"{shlex.join(argv)}; echo TCHAT-EXITED-$?; sleep 60"
        env_args = [f"{k}={v}" for k, v in self.env.items()]
        subprocess.run(
            [
                "env",
                *env_args,
                "tmux",
                "-L",
                self.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                str(self.size[0]),
                "-y",
                str(self.size[1]),
                command,
            ],
            check=True,
        )
        self.started = True

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", check=False).stdout

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-l", text)

    def wait_for(self, needle: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if needle in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} not on screen after {timeout} s:\n{screen}")

    def pane_pid(self) -> int:
        return int(self._tmux("display-message", "-p", "#{pane_pid}").stdout.strip())

    def app_pid(self, timeout: float = 10.0) -> int:
        """The tchat process: the child of the pane's shell."""
        shell = self.pane_pid()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
            for child in children:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"tchat" in cmdline:
                    return int(child)
            time.sleep(0.02)
        raise AssertionError("tchat process not found under the tmux pane")

    def kill_server(self) -> None:
        """Like a dropped SSH connection: the terminal goes away and the app gets SIGHUP."""
        self._tmux("kill-server", check=False)
        self.started = False

    def close(self) -> None:
        if self.started:
            self.kill_server()


def app_env(home: Path, cache: Path) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "HOME") if k in os.environ}
    return {
        **keep,
        "TERM": "xterm-256color",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }


# ---- processes, from /proc (Linux): is it still there, what did it start, what does it burn


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie has: nobody may be left to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def process_tree(pid: int) -> list[int]:
    """`pid` and every process descended from it, now."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_gone(pids: list[int], timeout: float) -> float | None:
    """Seconds until every one of `pids` has exited, or None if some are still there."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if not any(alive(pid) for pid in pids):
            return time.monotonic() - start
        time.sleep(0.01)
    return None
