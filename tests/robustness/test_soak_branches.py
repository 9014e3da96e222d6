"""Soak with branches: a long chat where replies are regenerated and versions switched stays
as quick per turn as it was at the start, and its file keeps every version.

Like test_soak.py (one app, driven through keys like a user, the fake backend at full speed),
but each turn after the first few also regenerates its reply (r on the reply: a second
version), every third turn switches back to the first version (left) before the next
question, and every tenth turn edits the previous question (e: a new version of it, with its
own later turns). So the chat's tree grows with the turns: versions on almost every reply,
branches hanging off a tenth of the questions. Per turn: latency from Enter to the last of
its replies saved (the question's, the regenerated one, the switch back). 48 turns by default
(about two minutes on the 2-core box); `TCHAT_SOAK_TURNS` sets it, as for the linear soak.
Measured there, 48 turns: a whole turn (three replies' worth of work) took a median 2.5 s over
turns 9-16 and 2.8 s over the last 8, the fastest 1.6 s and 1.4 s; 53 messages in branches at
the end. (With 60 turns on a host busy with other jobs: 1.5 s and 3.5 s medians as its load
moved; the fastest turns, which the test compares, stayed within its 3x.)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.robustness.helpers import load_all, send, wait_replies, wait_until
from tui.app import TchatApp
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig
from tui.store import tree
from tui.widgets.conversation import MAX_MOUNTED
from tui.widgets.prompt import PromptInput

TURNS = int(os.environ.get("TCHAT_SOAK_TURNS", "48"))
SCRIPT = "A short **reply** with a `code` span and a list:\n\n- one\n- two"


@dataclass
class BranchSoak:
    latency_ms: list[float] = field(default_factory=list)
    path: int = 0
    branches: int = 0
    views: int = 0
    saved: tuple[int, int] = (0, 0)
    versions_seen: set[int] = field(default_factory=set)


async def run_soak(sessions: Path, out: BranchSoak) -> None:
    app = TchatApp(
        LaunchConfig(sessions_dir=sessions, device="cpu"),
        backend=FakeBackend(script=SCRIPT, delay=0.0),
    )
    replies = 0
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None)
        for turn in range(1, TURNS + 1):
            t0 = time.perf_counter()
            if turn % 10 == 0:  # edit the previous question: a new version of it
                views = app.chat_screen.conversation.views()
                views[-2].focus()
                await pilot.press("e")
                app.query_one(PromptInput).text = f"question {turn - 1}, edited"
                await pilot.press("enter")
            else:
                await send(pilot, f"question {turn}")
            replies += 1
            await wait_replies(pilot, replies, timeout=60)
            if turn > 3:
                app.chat_screen.conversation.views()[-1].focus()
                await pilot.press("r")
                replies += 1
                await wait_replies(pilot, replies, timeout=60)
                if turn % 3 == 0:
                    app.chat_screen.conversation.views()[-1].focus()
                    await pilot.press("left")
                    await wait_until(
                        pilot,
                        lambda: (
                            app.chat_screen.chat.versions(app.chat_screen.session.messages[-1])[0]
                            == 1
                        ),
                    )
                out.versions_seen.add(
                    app.chat_screen.chat.versions(app.chat_screen.session.messages[-1])[1]
                )
            out.latency_ms.append((time.perf_counter() - t0) * 1000)
        out.path, out.branches = (
            len(app.chat_screen.session.messages),
            len(app.chat_screen.session.branches),
        )
        out.views = len(app.chat_screen.conversation.views())
        await wait_until(pilot, lambda: app.chat_screen.status.saved == "saved")
    [session] = load_all(sessions)
    out.saved = (len(session.messages), len(session.branches))
    assert tree.problem(session) is None


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> BranchSoak:
    home = tmp_path_factory.mktemp("soak-branches-home")
    out = BranchSoak()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(home / "config"))
        mp.setenv("XDG_DATA_HOME", str(home / "data"))
        asyncio.run(run_soak(home / "sessions", out))
    sixth = TURNS // 6
    print(
        f"\nbranch soak: {TURNS} turns; latency median turns {sixth + 1}-{2 * sixth} "
        f"{statistics.median(out.latency_ms[sixth : 2 * sixth]):.0f} ms, last {sixth} "
        f"{statistics.median(out.latency_ms[-sixth:]):.0f} ms (fastest "
        f"{min(out.latency_ms[sixth : 2 * sixth]):.0f} and {min(out.latency_ms[-sixth:]):.0f} "
        f"ms); {out.path} messages shown, "
        f"{out.branches} in branches"
    )
    return out


def test_every_version_is_kept_and_saved(soak: BranchSoak) -> None:
    assert soak.saved == (soak.path, soak.branches)
    assert soak.branches >= TURNS - 3  # a regenerated version per turn at least
    assert soak.versions_seen >= {2}
    assert soak.views <= MAX_MOUNTED


def test_latency_stays_flat_with_branches(soak: BranchSoak) -> None:
    """Late turns, in a chat with a hundred branches, are not 3x slower than early ones
    (fastest turn of each window, as in the linear soak)."""
    sixth = TURNS // 6
    early = min(soak.latency_ms[sixth : 2 * sixth])
    late = min(soak.latency_ms[-sixth:])
    assert late < 3 * early, f"latency grew from {early:.0f} to {late:.0f} ms"
