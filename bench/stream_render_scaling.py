"""stream_render_scaling: is the UI's cost of a streamed reply linear in its length?

A 5,000-token Markdown reply (paragraphs, lists, code blocks) and a 500-token one are streamed
through the real app (headless, `run_test`) from `FakeBackend(delay=0)`: an unthrottled
producer. The pump is set to hand over every token as its own message, the most UI updates a
reply can cause, so any per-update cost that grows with the reply's length shows. Measured:
CPU time of the UI thread (`time.thread_time()` read on it) from the reply's start to its end
on screen, per token. Goal: 5,000-token cost per token <= 1.5x the 500-token one.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import tui.app
from bench import Result
from bench._common import Run, median, spread
from tui.app import TchatApp
from tui.engine.fake import FakeBackend
from tui.engine.pump import Pacer
from tui.launch import LaunchConfig
from tui.screens.chat.events import ReplyHandled, ReplyStarted
from tui.store.session import GenerationSettings
from tui.widgets.prompt import PromptInput

NAME = "stream_render_scaling"
SHORT, LONG = 500, 5000

_BLOCKS = (
    "Here is a paragraph that explains the next step in plain words, with some **bold** "
    "and `inline code` so the renderer has a little work to do on every line of it.\n\n",
    "- first point of a short list\n- second point, a little longer than the first\n"
    "- third point with a [link](https://example.com)\n\n",
    "```python\ndef step(n):\n    total = 0\n    for i in range(n):\n        total += i * i\n"
    "    return total\n```\n\n",
    "1. numbered item one\n2. numbered item two\n3. numbered item three\n\n",
)


def markdown_reply(tokens: int) -> str:
    """Markdown of about `tokens` whitespace-separated words, as the fake backend counts."""
    parts: list[str] = []
    count = 0
    i = 0
    while count < tokens:
        block = _BLOCKS[i % len(_BLOCKS)]
        parts.append(block)
        count += len(block.split())
        i += 1
    words = "".join(parts).split(" ")
    return " ".join(words)


class UiTimedApp(TchatApp):
    """The real app, reading the UI thread's CPU clock when a reply starts and ends."""

    CSS_PATH = str(Path(tui.app.__file__).with_name(str(TchatApp.CSS_PATH)))
    started_cpu = 0.0
    ui_cpu_s = 0.0
    wall_s = 0.0
    _started_wall = 0.0

    def on_reply_started(self, event: ReplyStarted) -> None:
        self.started_cpu, self._started_wall = time.thread_time(), time.perf_counter()

    def on_reply_handled(self, _event: ReplyHandled) -> None:
        # The chat screen posts it once a reply's end is shown and saved; it reaches the app.
        self.ui_cpu_s = time.thread_time() - self.started_cpu
        self.wall_s = time.perf_counter() - self._started_wall


async def _one(tokens: int, sessions: Path) -> tuple[float, float, int]:
    """(UI CPU ms per token, wall ms per token, tokens) for one streamed reply."""
    backend = FakeBackend(script=markdown_reply(tokens), delay=0, context_length=4 * tokens)
    app = UiTimedApp(LaunchConfig(sessions_dir=sessions), backend=backend)
    # Every token its own UI message: the most updates a reply can make (see the docstring).
    app.chat_screen.pacer = Pacer.fixed(0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.chat_screen.model_info is None:
            await pilot.pause(0.02)
        app.chat_screen.session.settings = GenerationSettings(max_new_tokens=2 * tokens)
        # What Enter in the prompt posts; pressing it through the pilot would wait for the
        # screen to go idle, which an unthrottled stream of thousands of updates may not do
        # within the pilot's timeout on a loaded machine.
        app.query_one(PromptInput).post_message(PromptInput.Submitted("go"))
        while app.chat_screen.replies_finished == 0:
            await asyncio.sleep(0.01)
        stats = app.chat_screen.session.messages[-1].stats
        n = stats.new_tokens if stats else 0
        if n < tokens:
            raise RuntimeError(f"the reply stopped at {n} of {tokens} tokens: {stats}")
    return app.ui_cpu_s * 1000 / n, app.wall_s * 1000 / n, n


def run(run: Run) -> list[Result]:
    reps = run.reps(3, 1)
    per_token: dict[int, list[float]] = {SHORT: [], LONG: []}
    wall: dict[int, list[float]] = {SHORT: [], LONG: []}
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_one(SHORT, Path(tmp)))  # warm-up: imports, CSS, first mounts
        for _ in range(reps):
            for size in (SHORT, LONG):
                cpu_ms, wall_ms, _n = asyncio.run(_one(size, Path(tmp)))
                per_token[size].append(cpu_ms)
                wall[size].append(wall_ms)
    ratio = median(per_token[LONG]) / median(per_token[SHORT])
    return [
        Result(
            NAME,
            ratio,
            "x",
            goal=("<=", 1.5),
            detail=(
                f"UI-thread CPU per token: {LONG} tokens {spread(per_token[LONG], '{:.2f}')} ms, "
                f"{SHORT} tokens {spread(per_token[SHORT], '{:.2f}')} ms; one UI update per "
                f"token; median of {reps}"
            ),
        ),
        Result(
            "stream_render_ms_per_token",
            median(per_token[LONG]),
            "ms",
            detail=(
                f"UI-thread CPU per token of the {LONG}-token reply (wall "
                f"{median(wall[LONG]):.2f} ms/token incl. the producer)"
            ),
        ),
    ]
