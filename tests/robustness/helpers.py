"""Shared helpers for the robustness tests: driving the app, reading what it saved and shows.

Kept here (not imported from tests/app) so this folder does not depend on another test module.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from tui.store import Session, SessionStore
from tui.widgets.prompt import PromptInput

# Escape sequences Textual itself writes to draw a frame: CSI (colours, cursor moves, modes).
# Anything else starting with ESC in a frame (OSC, DCS, APC...) did not come from drawing.
CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


async def send(pilot: Any, text: str, *, type_it: bool = False) -> None:
    """Send `text` from the prompt: typed key by key, or (for long or odd text) pasted in."""
    prompt = pilot.app.query_one(PromptInput)
    prompt.focus()
    if type_it:
        await pilot.press(*text)
    else:
        prompt.text = text
    await pilot.press("enter")


async def wait_until(pilot: Any, predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"condition not met in {timeout} s")


async def wait_replies(pilot: Any, count: int, timeout: float = 10.0) -> None:
    """Wait until `count` replies have been fully handled: streamed, shown, and their save
    written (the app only hands the save to its writer thread; a test that reads the file
    right after must wait for the write, a 1 MB chat takes a moment)."""
    app = pilot.app
    await wait_until(
        pilot,
        lambda: (
            app.chat_screen.replies_finished >= count and app.chat_screen.autosaver.flush(timeout=0)
        ),
        timeout,
    )


def session_files(folder: Path) -> list[Path]:
    """Session files as the store sees them: dot files (temp files, the index) are not."""
    return sorted(
        p for p in folder.glob("*") if p.suffix in (".toml", ".json") and not p.name[0] == "."
    )


def load_all(folder: Path) -> list[Session]:
    """Every session file in `folder`, loaded by a fresh store (raises if any is broken)."""
    store = SessionStore(folder)
    return [store.load(p) for p in session_files(folder)]


def frame_bytes(app: Any) -> str:
    """The full frame as the app would write it to a real terminal right now.

    Pilot runs headless (nothing is written anywhere), so this renders the screen through the
    same path `App._display` uses: compositor update -> terminal sequence.
    """
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=open(os.devnull, "w"),  # noqa: SIM115 - closed with the console
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        safe_box=False,
    )
    try:
        return update.render_segments(console)
    finally:
        console.file.close()


def foreign_controls(frame: str) -> list[str]:
    """Control characters in a frame that are not part of Textual's own CSI drawing codes.

    C0 (ESC, BEL, NUL...), DEL and C1 (0x80-0x9f: some terminals read 0x9b as CSI, 0x9d as OSC).
    """
    rest = CSI.sub("", frame)
    return sorted(
        {
            repr(ch)
            for ch in rest
            if (ord(ch) < 0x20 and ch not in "\n\r") or 0x7F <= ord(ch) <= 0x9F
        }
    )


def foreign_context(frame: str) -> list[str]:
    """Where the foreign controls are, for assertion messages."""
    rest = CSI.sub("", frame)
    return [repr(rest[max(i - 20, 0) : i + 20]) for i, ch in enumerate(rest) if ch == "\x1b"][:5]


def screen_text(app: Any) -> str:
    """The visible characters of the screen (escape codes removed)."""
    return CSI.sub("", frame_bytes(app))


def skip_crash_report(app: Any) -> None:
    """When the app crashes, skip Textual's pretty traceback (syntax-highlighting every frame
    with locals takes ~8 s on this machine); the exception is still re-raised by run_test.

    Only for tests that expect a crash until an app fix lands (xfail): they stay fast.
    """
    app._fatal_error = app._close_messages_no_wait


class Notes:
    """Records every `app.notify` (title, message, severity), so tests see toasts that expired."""

    def __init__(self, app: Any) -> None:
        self.items: list[tuple[str, str, str]] = []
        original = app.notify

        def notify(message: str, *, title: str = "", severity: str = "information", **kw: Any):
            self.items.append((title, message, severity))
            return original(message, title=title, severity=severity, **kw)

        app.notify = notify

    def titled(self, title: str) -> list[str]:
        return [m for t, m, _ in self.items if t == title]

    def __str__(self) -> str:
        return "\n".join(f"{t}: {m}" for t, m, _ in self.items)
