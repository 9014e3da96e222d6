"""tchat in a real terminal (tmux) on the fake backend: fast, no model, same process as a user's.

Builds on tests/e2e/tmux.py (private tmux server per test) and adds what the robustness tests
need: the app's own pid (to kill it), the raw bytes it writes to the terminal, and what tmux
did with them (pane title, paste buffers).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TEST_CACHE
from tests.e2e.tmux import TCHAT, Terminal, app_env

__all__ = ["TCHAT", "FakeTerminal"]


class FakeTerminal(Terminal):
    """tmux running `tchat --backend fake` with a scripted reply at a set pace."""

    def __init__(
        self, home: Path, script: Path, delay: float, width: int = 80, height: int = 24
    ) -> None:
        env = app_env(home, TEST_CACHE)
        env["TCHAT_FAKE_SCRIPT"] = str(script)
        env["TCHAT_FAKE_DELAY"] = str(delay)
        super().__init__(env, width=width, height=height)
        self.home = home

    def start_app(self, *args: str, setsid: bool = False) -> None:
        """`setsid`: in a session of its own, so closing the terminal sends it no SIGHUP."""
        prefix = ["setsid"] if setsid else []
        self.start([*prefix, str(TCHAT), "--backend", "fake", "--device", "cpu", *args])
        # Let applications set tmux's paste buffers and pane title, as many users' configs do
        # (the default `external` would hide an OSC 52 write from the check on buffers).
        self._tmux("set-option", "-g", "set-clipboard", "on")
        self._tmux("set-option", "-g", "allow-rename", "on")

    def capture_output(self, log: Path) -> None:
        """Append every byte the app writes to the terminal to `log` (tmux pipe-pane)."""
        self._tmux("pipe-pane", "-o", f"cat >> {log}")

    def pane_title(self) -> str:
        return self._tmux("display-message", "-p", "#{pane_title}", check=False).stdout.strip()

    def buffers(self) -> str:
        """Every tmux paste buffer's content (an OSC 52 write lands here with set-clipboard on)."""
        names = self._tmux("list-buffers", "-F", "#{buffer_name}", check=False).stdout.split()
        return "\n".join(
            self._tmux("show-buffer", "-b", name, check=False).stdout for name in names
        )

    def sessions_dir(self) -> Path:
        return self.home / "data" / "tchat" / "sessions"
