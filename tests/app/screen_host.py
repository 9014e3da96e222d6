"""A tiny App that opens one modal screen and records what it returns and posts.

Screens are tested on their own, not inside TchatApp: their contract is a constructor, the
keys, and a result, which is exactly what the lead wires into the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from tui.screens.session_browser import SessionBrowser
from tui.store import Message, ModelRef, Session, SessionStore

BASE_TIME = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)


class ScreenHost(App[None]):
    """Pushes `make_screen()` on mount; `results` gets each dismissal, `posted` the messages
    the browser sends to the app."""

    def __init__(self, make_screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.results: list[Any] = []
        self.posted: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("behind the dialog", id="behind")

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self.results.append)

    def on_session_browser_current_deleted(self, event: SessionBrowser.CurrentDeleted) -> None:
        self.posted.append(event)

    def on_session_browser_current_renamed(self, event: SessionBrowser.CurrentRenamed) -> None:
        self.posted.append(event)


def use_utc(monkeypatch: Any) -> None:
    """Dates are shown in local time; tests pin it so they read the same everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def make_sessions(
    folder: Path, count: int, *, title: str = "Chat number {i}", words: str = ""
) -> list[Session]:
    """`count` sessions saved through SessionStore, one hour apart, the last one newest."""
    store = SessionStore(folder)
    sessions = []
    for i in range(count):
        stamp = (BASE_TIME + timedelta(hours=i)).isoformat()
        session = Session(
            id=f"20261125-{i:06d}-abcdef",
            title=title.format(i=i),
            created=stamp,
            updated=stamp,
            model=ModelRef(id="HuggingFaceTB/SmolLM2-360M-Instruct"),
            messages=[
                Message("user", f"question {i} {words}".strip(), created=stamp),
                Message("assistant", f"answer {i}", created=stamp),
            ],
        )
        store.save(session)
        sessions.append(session)
    return sessions


async def wait_for(pilot: Any, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")
