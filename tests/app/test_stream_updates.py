"""Streamed text reaches the screen in batches, a few a second, not one update per token.

Each update costs the UI thread a relayout and a frame, and that thread shares Python's lock
with generate: at one update per token the app decoded 15-25% slower than bare generate on a
2-core CPU (bench/app_vs_generate.py). The user sees the same text either way.
"""

from __future__ import annotations

from pathlib import Path

import tui.app
from tests.app.test_chat import type_and_send, wait_replies
from tui.app import TchatApp
from tui.cli import LaunchConfig
from tui.engine.fake import FakeBackend
from tui.engine.pump import UPDATE_INTERVAL_S as STREAM_UPDATE_INTERVAL_S
from tui.messages import ReplyChunked
from tui.store.session import GenerationSettings

TOKENS = 300
DELAY = 0.005  # 200 tokens a second: a small model on a GPU


class CountingApp(TchatApp):
    """The real app, keeping every batch of streamed text it is handed."""

    CSS_PATH = str(Path(tui.app.__file__).with_name(str(TchatApp.CSS_PATH)))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.batches: list[ReplyChunked] = []

    def on_reply_chunked(self, event: ReplyChunked) -> None:
        # Textual then calls TchatApp's own handler too: it walks the class hierarchy.
        self.batches.append(event)


async def test_a_fast_reply_reaches_the_screen_in_a_few_batches_a_second(
    sessions_dir: Path,
) -> None:
    backend = FakeBackend(script="word " * TOKENS, delay=DELAY)
    app = CountingApp(LaunchConfig(sessions_dir=sessions_dir), backend=backend)
    async with app.run_test(size=(100, 30)) as pilot:
        app.session.settings = GenerationSettings(max_new_tokens=TOKENS)
        await type_and_send(pilot, "go")
        await wait_replies(pilot, 1, timeout=30)
    seen = app.batches
    reply = app.session.messages[-1]
    assert "".join(b.text for b in seen) == reply.content  # every word arrived, in order
    assert reply.stats is not None and reply.stats.new_tokens >= TOKENS
    elapsed = seen[-1].elapsed_s
    # At most one batch per interval (plus the first and the last), far fewer than tokens.
    assert len(seen) <= elapsed / STREAM_UPDATE_INTERVAL_S + 2
    assert len(seen) < TOKENS / 10
