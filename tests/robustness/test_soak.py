"""Soak: hundreds of turns in one app stay as fast and as small as the first ones.

Guards against leaks a short test never sees: widgets that pile up, per-turn work that grows
with the length of the chat (quadratic behaviour), memory that new chats do not give back.

300 turns against the fake backend at full speed (no delay, short script), in one app, driven
through the prompt like a user. Per turn: latency (Enter to reply finished, saved) and RSS.
A least-squares line over turns 50..300 gives the slopes (ms per turn per turn, KB per turn),
printed for the record; the asserted bounds are generous, so the test catches leaks and
quadratic blow-ups, not noise on a shared 2-core machine. Then ctrl+n must drop every
MessageView of the old chat: garbage-collected, not just unmounted.
"""

from __future__ import annotations

import gc
import statistics
import time
import weakref

import psutil
from textual.widgets import Markdown

from tests.robustness.helpers import load_all, send, wait_replies, wait_until
from tui.engine.fake import FakeBackend
from tui.widgets.message import MessageView

TURNS = 300
SCRIPT = "A short **reply** with a `code` span and a list:\n\n- one\n- two"


def slope(ys: list[float], first: int) -> float:
    """Least-squares slope of ys[i] against turn number (first + i)."""
    xs = range(first, first + len(ys))
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


async def test_three_hundred_turns_stay_flat_and_a_new_chat_frees_the_old_widgets(
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
        await pilot.pause(0.2)  # let Textual finish removing the old widgets
        gc.collect()
        alive = sum(r() is not None for r in old) + sum(r() is not None for r in old_markdown)
        assert alive == 0, f"{alive} widgets of the old chat are still referenced"

    [saved] = load_all(sessions_dir)
    assert len(saved.messages) == 2 * TURNS  # and every turn reached the disk

    steady = latency_ms[49:]  # turns 50..300: after start-up and first-use costs
    ms_slope = slope(steady, 50)
    kb_slope = slope(rss_kb[49:], 50)
    early = statistics.median(latency_ms[49:100])
    late = statistics.median(latency_ms[-50:])
    print(
        f"\nsoak: {TURNS} turns in {total_s:.1f} s; latency median turns 50-100 {early:.1f} ms, "
        f"last 50 {late:.1f} ms; slope {ms_slope:.3f} ms/turn/turn; "
        f"RSS {rss_kb[49] / 1024:.0f} -> {rss_kb[-1] / 1024:.0f} MB, slope {kb_slope:.1f} KB/turn"
    )
    # Flat enough: the last turns are not 3x slower than turns 50-100 (a quadratic cost in
    # chat length would be), and memory grows by what a turn holds, not by leaked copies.
    assert late < 3 * early, f"latency grew from {early:.0f} to {late:.0f} ms"
    assert kb_slope < 250, f"RSS grows {kb_slope:.0f} KB per turn"
