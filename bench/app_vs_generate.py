"""app_vs_generate: does the app cost decode speed? Goal: >= 0.97x bare `model.generate`.

The app's path is everything between the model and the screen: the engine's generate thread
and streamer, the pump that batches text, the worker posting messages, and the UI thread
appending Markdown and updating the gauges. Measured on a headless app under `run_test`, from
the first reply text the UI receives to the reply being finished on screen, against bare
`generate` on the same model, prompt, greedy settings and token count (its prefill taken out
by timing 1 token and N tokens). Runs alternate bare, app, bare, app, ..., bare, and each app
run is compared with the mean of the bare runs just before and after it, so a machine that
slows down or speeds up over the run (a shared box) moves both sides of each ratio alike; the
figure is the median of those ratios.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import tui.app
from bench import Result
from bench._common import Run, median, spread
from bench._model import GREEDY, NEW_TOKENS, PROMPT, backend, raw_decode_tps
from tui.app import TchatApp
from tui.launch import LaunchConfig
from tui.screens.chat.events import ReplyChunked, ReplyHandled
from tui.widgets.prompt import PromptInput

NAME = "app_vs_generate"


class TimedApp(TchatApp):
    """The real app, noting when reply text first reaches the UI and when a reply is done."""

    # Textual resolves a relative CSS_PATH beside the class's own module: point at tui's.
    CSS_PATH = str(Path(tui.app.__file__).with_name(str(TchatApp.CSS_PATH)))
    first_at: float | None = None
    first_tokens = 0
    done_at: float | None = None
    # Set when a reply is done. The bench waits on it instead of polling: a poll loop would
    # be UI-thread work of the bench's own, charged to the app.
    reply_done: asyncio.Event | None = None

    def on_reply_chunked(self, event: ReplyChunked) -> None:
        # Textual calls this before TchatApp's own handler (it walks the MRO).
        if self.first_at is None:
            self.first_at, self.first_tokens = time.perf_counter(), event.new_tokens

    def on_reply_handled(self, _event: ReplyHandled) -> None:
        # The chat screen posts it once a reply's end is shown and saved; it reaches the app.
        self.done_at = time.perf_counter()
        if self.reply_done is not None:
            self.reply_done.set()


async def _app_runs(
    reps: int, sessions: Path
) -> tuple[list[float], list[float], list[float], float]:
    """(app decode tok/s and engine tok/s for each repetition, bare generate tok/s before the
    first and after each, the pacer's final interval): reps app runs between reps + 1 bare
    ones."""
    b = backend("off")
    app = TimedApp(LaunchConfig(sessions_dir=sessions), backend=b)
    app_tps: list[float] = []
    raw_tps: list[float] = []
    engine_tps: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.chat_screen.model_info is None:
            await pilot.pause(0.05)
        for rep in range(reps + 1):  # the first is the warm-up
            if rep:
                raw_tps.append(raw_decode_tps(b.model, b.tokenizer))
            await app.chat_screen.action_new_chat()
            app.chat_screen.session.settings = replace(GREEDY)
            app.first_at = app.done_at = None
            app.reply_done = asyncio.Event()
            prompt = app.query_one(PromptInput)
            prompt.focus()
            prompt.text = PROMPT[0]["content"]
            await pilot.press("enter")
            await app.reply_done.wait()
            stats = app.chat_screen.session.messages[-1].stats
            if stats is None or stats.new_tokens != NEW_TOKENS or app.first_at is None:
                raise RuntimeError(f"the app's reply did not run to {NEW_TOKENS} tokens: {stats}")
            assert app.done_at is not None
            tps = (stats.new_tokens - app.first_tokens) / (app.done_at - app.first_at)
            if rep:
                app_tps.append(tps)
                engine_tps.append(stats.decode_tps or 0.0)
        raw_tps.append(raw_decode_tps(b.model, b.tokenizer))
    return app_tps, raw_tps, engine_tps, app.chat_screen.pacer.interval


def run(run: Run) -> list[Result]:
    reps = run.reps(9, 3)  # single runs move by +-5% on a shared host: a median of 9
    with tempfile.TemporaryDirectory() as tmp:
        app_tps, raw_tps, engine_tps, interval = asyncio.run(_app_runs(reps, Path(tmp)))
    ratios = [
        app / ((before + after) / 2)
        for app, before, after in zip(app_tps, raw_tps[:-1], raw_tps[1:], strict=True)
    ]
    ratio = median(ratios)
    return [
        Result(
            NAME,
            ratio,
            "x",
            goal=(">=", 0.97),
            detail=(
                f"app {spread(app_tps)} tok/s vs bare generate {spread(raw_tps)} tok/s "
                f"(engine's own figure {median(engine_tps):.1f}); per-run ratios "
                f"{spread(ratios, '{:.3f}')}; text handed to the UI every {interval:.2f} s "
                f"(paced); {NEW_TOKENS} greedy tokens, median of {reps}"
            ),
        )
    ]
