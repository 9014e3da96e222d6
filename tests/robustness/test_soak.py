"""Soak: many turns in one app; nothing piles up, nothing of an old chat is kept.

Guards against what a short test never sees: widgets that pile up, per-turn work that grows
with the length of the chat, memory that a new chat does not give back.

One app, driven through the prompt like a user, against the fake backend at full speed (no
delay, a short Markdown reply). Per turn: latency (Enter to reply finished and saved) and RSS.
A least-squares line over the steady turns gives the slopes (ms per turn per turn, KB per
turn), printed with `-s`. Windows scale with the turn count: warm-up = the first sixth,
"early" = the second sixth (turns 50-100 of 300), "late" = the last sixth (250-300 of 300).

How many turns: 300 by default, as the issue asks (about 2.5 minutes here);
`TCHAT_SOAK_TURNS=36` for a quick run. Measured on a 2-core machine (300 turns): latency median
392 ms over turns 51-100 and 469 ms over the last 50, slope 0.56 ms per turn per turn; RSS
+44 KB per turn; ~360 heap blocks per turn. Before the conversation kept only its latest
turns mounted (conversation.py, MAX_MOUNTED) it was 0.7 s -> 2.7 s per turn, 11.6 ms per turn
per turn, because Textual lays out every mounted widget whenever one changes. The soak runs
once per module; the tests below read its results.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from textual.widgets import Markdown

from tests.robustness.helpers import load_all, send, wait_replies, wait_until
from tui.app import TchatApp
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig
from tui.widgets.conversation import MAX_MOUNTED

TURNS = int(os.environ.get("TCHAT_SOAK_TURNS", "300"))
SCRIPT = "A short **reply** with a `code` span and a list:\n\n- one\n- two"


@dataclass
class Soak:
    latency_ms: list[float] = field(default_factory=list)
    rss_kb: list[float] = field(default_factory=list)
    # Python heap blocks in use (sys.getallocatedblocks) after a full gc, at a few checkpoint
    # turns: unlike RSS, not hidden when the allocator reuses memory freed by earlier tests,
    # and not blurred by when the cyclic collector happens to run.
    blocks: dict[int, int] = field(default_factory=dict)
    total_s: float = 0.0
    views: int = 0  # MessageViews after the last turn
    hidden: int = 0  # turns behind the "earlier messages" marker
    messages: int = 0
    last_reply: str = ""
    old_alive_after_new_chat: int = -1  # old chat's widgets still referenced
    views_in_new_chat: int = -1
    saved_lengths: set[int] = field(default_factory=set)


def slope(ys: list[float], first: int) -> float:
    """Least-squares slope of ys[i] against turn number (first + i)."""
    xs = range(first, first + len(ys))
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return cov / sum((x - mx) ** 2 for x in xs)


async def run_soak(sessions: Path, out: Soak) -> None:
    app = TchatApp(
        LaunchConfig(sessions_dir=sessions, device="cpu"),
        backend=FakeBackend(script=SCRIPT, delay=0.0),
    )
    proc = psutil.Process()
    sixth = TURNS // 6
    checkpoints = {sixth, 3 * sixth, TURNS - 2 * sixth, TURNS}
    started = time.perf_counter()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None)
        for turn in range(1, TURNS + 1):
            t0 = time.perf_counter()
            await send(pilot, f"question {turn}")
            await wait_replies(pilot, turn, timeout=60)
            out.latency_ms.append((time.perf_counter() - t0) * 1000)
            out.rss_kb.append(proc.memory_info().rss / 1024)
            if turn in checkpoints:
                gc.collect()
                out.blocks[turn] = sys.getallocatedblocks()
        out.total_s = time.perf_counter() - started
        views = app.chat_screen.conversation.views()
        out.views, out.messages = len(views), len(app.chat_screen.session.messages)
        out.hidden = app.chat_screen.conversation.hidden_count
        out.last_reply = views[-1].query_one(Markdown).source
        await wait_until(pilot, lambda: app.chat_screen.status.saved == "saved")
        old = [weakref.ref(w) for v in views for w in (v, v.body)]
        del views

        await pilot.press("ctrl+n")
        await wait_until(
            pilot,
            lambda: (
                not app.chat_screen.session.messages and not app.chat_screen.conversation.views()
            ),
        )
        # Textual keeps the conversation's last few layouts (a FIFO cache of 4 arrangements,
        # which reference the removed widgets) until the next layout change: the first turn of
        # the new chat. Bounded, so not a leak; after that turn nothing of the old chat remains.
        await send(pilot, "a new chat")
        await wait_replies(pilot, TURNS + 1)
        await pilot.pause(0.2)
        gc.collect()
        out.old_alive_after_new_chat = sum(r() is not None for r in old)
        out.views_in_new_chat = len(app.chat_screen.conversation.views())
    out.saved_lengths = {len(s.messages) for s in load_all(sessions)}


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> Soak:
    home = tmp_path_factory.mktemp("soak-home")
    out = Soak()
    # Module-scoped, so the per-test private_home fixture is not set up yet: do the same here.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(home / "config"))
        mp.setenv("XDG_DATA_HOME", str(home / "data"))
        asyncio.run(run_soak(home / "sessions", out))
    sixth = TURNS // 6
    early = statistics.median(out.latency_ms[sixth : 2 * sixth])
    late = statistics.median(out.latency_ms[-sixth:])
    print(
        f"\nsoak: {TURNS} turns in {out.total_s:.1f} s; latency median turns {sixth + 1}-"
        f"{2 * sixth} {early:.0f} ms, last {sixth} {late:.0f} ms; slope "
        f"{slope(out.latency_ms[sixth:], sixth + 1):.2f} ms per turn per turn; RSS "
        f"{out.rss_kb[sixth] / 1024:.0f} -> {out.rss_kb[-1] / 1024:.0f} MB, slope "
        f"{slope(out.rss_kb[sixth:], sixth + 1):.0f} KB per turn; heap "
        f"{(out.blocks[TURNS] - out.blocks[sixth]) / (TURNS - sixth):.0f} blocks per turn"
    )
    return out


def test_every_message_shown_or_behind_the_marker_and_every_turn_saved(soak: Soak) -> None:
    """The latest turns stay mounted, older ones wait behind the marker (a bounded number of
    widgets, whatever the chat's length); none is lost."""
    assert soak.messages == 2 * TURNS
    assert soak.views + soak.hidden == soak.messages
    assert soak.views <= MAX_MOUNTED
    assert soak.last_reply == SCRIPT
    assert soak.saved_lengths == {2 * TURNS, 2}  # both chats, every turn, on disk


def test_a_new_chat_lets_go_of_every_widget_of_the_old_one(soak: Soak) -> None:
    assert soak.views_in_new_chat == 2
    assert soak.old_alive_after_new_chat == 0, "widgets of the old chat are still referenced"


def test_latency_stays_flat(soak: Soak) -> None:
    """The late turns are not 3x slower than the early ones (a per-turn cost that grows
    with the chat's length would be, given enough turns).

    Compared by each window's fastest turn: on a shared machine a burst of load can slow a
    few turns, not all of them, so the minimum is what the app itself costs."""
    sixth = TURNS // 6
    early = min(soak.latency_ms[sixth : 2 * sixth])
    late = min(soak.latency_ms[-sixth:])
    assert late < 3 * early, f"latency grew from {early:.0f} to {late:.0f} ms"


def test_memory_grows_by_what_a_turn_holds_not_more(soak: Soak) -> None:
    """Each turn adds its own widgets (about 7,000 heap blocks, ~0.75 MB of RSS: Textual
    widgets are heavy, and a Markdown reply is ~15 of them); that cost must stay the same per
    turn. A leak that keeps something per turn *of the whole chat* (a session snapshot, the old
    layouts) would make late turns cost more than early ones."""
    sixth, b = TURNS // 6, soak.blocks
    early = (b[3 * sixth] - b[sixth]) / (2 * sixth)
    late = (b[TURNS] - b[TURNS - 2 * sixth]) / (2 * sixth)
    assert late < 2 * early + 500, f"heap growth per turn rose from {early:.0f} to {late:.0f}"
    assert late < 20_000, f"{late:.0f} heap blocks per turn"
