"""Soak: many turns in one app stay as fast and as small as the first ones.

Guards against leaks a short test never sees: widgets that pile up, per-turn work that grows
with the length of the chat (quadratic behaviour), memory that new chats do not give back.

Turns against the fake backend at full speed (no delay, a short Markdown reply), in one app,
driven through the prompt like a user. Per turn: latency (Enter to reply finished and saved)
and RSS. A least-squares line over the steady turns gives the slopes (ms per turn per turn,
KB per turn), printed for the record. Then ctrl+n must drop every MessageView of the old chat:
garbage-collected, not just unmounted.

How many turns: 60 by default (about 15-25 s here), so it runs in `make test`. The issue asks
for 300; `TCHAT_SOAK_TURNS=300 pytest tests/robustness/test_soak.py -s` runs that (about 5-10
minutes on a 2-core machine) and, today, fails the latency bound: each new message costs a
re-layout of every widget in the conversation (Textual reflows the whole scroll view on each
mount), so per-turn latency grows linearly with the length of the chat. Windows scale with the
turn count: warm-up = the first sixth, "early" = the second sixth (turns 50-100 of 300),
"late" = the last sixth (250-300 of 300).
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import weakref

import psutil
from textual.widgets import Markdown

from tests.robustness.helpers import load_all, send, wait_replies, wait_until
from tui.engine.fake import FakeBackend
from tui.widgets.message import MessageView

TURNS = int(os.environ.get("TCHAT_SOAK_TURNS", "60"))
SCRIPT = "A short **reply** with a `code` span and a list:\n\n- one\n- two"


def slope(ys: list[float], first: int) -> float:
    """Least-squares slope of ys[i] against turn number (first + i)."""
    xs = range(first, first + len(ys))
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


async def test_many_turns_stay_flat_and_a_new_chat_frees_the_old_widgets(
    make_app, sessions_dir
) -> None:
    app = make_app(FakeBackend(script=SCRIPT, delay=0.0))
    proc = psutil.Process()
    latency_ms: list[float] = []
    rss_kb: list[float] = []
    started = time.perf_counter()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.model_info is not None)
        for turn in range(1, TURNS + 1):
            t0 = time.perf_counter()
            await send(pilot, f"question {turn}")
            await wait_replies(pilot, turn, timeout=30)
            latency_ms.append((time.perf_counter() - t0) * 1000)
            rss_kb.append(proc.memory_info().rss / 1024)
        total_s = time.perf_counter() - started

        # No widget leak: one MessageView per message, nothing else left behind.
        views = app.conversation.views()
        assert len(views) == len(app.session.messages) == 2 * TURNS
        assert views[-1].query_one(Markdown).source == SCRIPT
        await wait_until(pilot, lambda: app.status.saved == "saved")
        old = [weakref.ref(v) for v in views]
        old_markdown = [weakref.ref(v.body) for v in views]
        del views

        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: not app.session.messages and not app.conversation.views())
        # Textual keeps the conversation's last few layouts (a FIFO cache of 4 arrangements,
        # which reference the removed widgets) until the next layout change: the first turn of
        # the new chat. Bounded, so not a leak; after that turn nothing of the old chat remains.
        await send(pilot, "a new chat")
        await wait_replies(pilot, TURNS + 1)
        await pilot.pause(0.2)
        gc.collect()
        alive = sum(r() is not None for r in old) + sum(r() is not None for r in old_markdown)
        assert alive == 0, f"{alive} widgets of the old chat are still referenced"
        assert len(app.conversation.views()) == 2

    saved = {len(s.messages) for s in load_all(sessions_dir)}
    assert saved == {2 * TURNS, 2}  # every turn of both chats reached the disk

    sixth = TURNS // 6
    ms_slope = slope(latency_ms[sixth:], sixth + 1)
    kb_slope = slope(rss_kb[sixth:], sixth + 1)
    early = statistics.median(latency_ms[sixth : 2 * sixth])
    late = statistics.median(latency_ms[-sixth:])
    print(
        f"\nsoak: {TURNS} turns in {total_s:.1f} s; latency median turns {sixth + 1}-"
        f"{2 * sixth} {early:.0f} ms, last {sixth} {late:.0f} ms; slope {ms_slope:.2f} ms per "
        f"turn per turn; RSS {rss_kb[sixth] / 1024:.0f} -> {rss_kb[-1] / 1024:.0f} MB, slope "
        f"{kb_slope:.0f} KB per turn"
    )
    # Flat enough: the late turns are not 3x slower than the early ones (a cost quadratic in
    # the chat's length would be), and memory grows by what a turn holds, not leaked copies.
    assert late < 3 * early, f"latency grew from {early:.0f} to {late:.0f} ms"
    assert kb_slope < 250, f"RSS grows {kb_slope:.0f} KB per turn"
