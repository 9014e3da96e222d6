"""remote_stream_overhead: does the app slow down a served model's stream? Goal: >= 0.97x a bare
client reading the same server.

The app's path for a served model is the remote engine (the openai client, the chunk reader,
the watchdog), the pump, the worker posting messages and the UI thread drawing Markdown and the
gauges. Its decode speed is measured on a headless app under `run_test`, from the first reply
text the UI receives to the reply being finished on screen; the bare client is the openai
package streaming the same request from the same server, from its first content chunk to its
last; both count tokens from the server's `usage`. The server is `transformers serve` on the
default model, started on 127.0.0.1 for the run (or the one TCHAT_BENCH_ENDPOINT names, e.g. a
vLLM). Greedy, the same prompt and token count each time. Runs alternate bare, app, bare, ...,
bare, and each app run is compared with the mean of the bare runs around it (app_vs_generate
does the same); the figure is the median of those ratios.

On this 2-core machine the server runs on the same cores as the app, so whatever the app's UI
thread spends is taken from the server: the ratio measures that too. On a real deployment the
server has its own machine and the app only has to keep up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import tui.app
from bench import Result
from bench._common import Run, median, spread
from bench._model import PROMPT
from tui.app import TchatApp
from tui.launch import LaunchConfig
from tui.screens.chat.events import ReplyChunked, ReplyHandled
from tui.store.session import GenerationSettings
from tui.widgets.prompt import PromptInput

NAME = "remote_stream_overhead"
# TCHAT_BENCH_REMOTE_TOKENS shortens the replies on a box too busy for 128 a run.
NEW_TOKENS = int(os.environ.get("TCHAT_BENCH_REMOTE_TOKENS", "128"))
GREEDY = GenerationSettings(max_new_tokens=NEW_TOKENS, do_sample=False, repetition_penalty=1.0)


class TimedApp(TchatApp):
    """The real app, noting when reply text first reaches the UI and when a reply is done."""

    CSS_PATH = str(Path(tui.app.__file__).with_name(str(TchatApp.CSS_PATH)))
    first_at: float | None = None
    first_tokens = 0
    done_at: float | None = None
    reply_done: asyncio.Event | None = None

    def on_reply_chunked(self, event: ReplyChunked) -> None:
        if self.first_at is None:
            self.first_at, self.first_tokens = time.perf_counter(), event.new_tokens

    def on_reply_handled(self, _event: ReplyHandled) -> None:
        # The chat screen posts it once a reply's end is shown and saved; it reaches the app.
        self.done_at = time.perf_counter()
        if self.reply_done is not None:
            self.reply_done.set()


def bare_decode_tps(url: str, model: str) -> float:
    """One reply read with nothing but the openai client: decode tokens/s from chunk times."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model=model,
        messages=PROMPT,  # type: ignore[arg-type]
        max_tokens=NEW_TOKENS,
        temperature=0.0,
        stream=True,
        stream_options={"include_usage": True},  # vLLM counts only when asked
        extra_headers={"Authorization": openai.Omit()},
    )
    first = last = None
    tokens = 0
    for chunk in stream:
        now = time.perf_counter()
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or now
            last = now
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    client.close()
    if first is None or last is None or tokens != NEW_TOKENS:
        raise RuntimeError(f"the bare reply did not run to {NEW_TOKENS} tokens ({tokens})")
    return (tokens - 1) / (last - first)


async def _runs(url: str, reps: int, sessions: Path) -> tuple[list[float], list[float], str]:
    app = TimedApp(LaunchConfig(endpoint=url, backend="remote", sessions_dir=sessions))
    app_tps: list[float] = []
    bare_tps: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.chat_screen.model_info is None:
            await pilot.pause(0.05)
        model = app.chat_screen.model_info.id
        for rep in range(reps + 1):  # the first is the warm-up
            if rep:
                bare_tps.append(await asyncio.to_thread(bare_decode_tps, url, model))
            await app.chat_screen.action_new_chat()
            app.chat_screen.session.settings = GenerationSettings(**vars(GREEDY))
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
            if rep:
                app_tps.append((stats.new_tokens - app.first_tokens) / (app.done_at - app.first_at))
        bare_tps.append(await asyncio.to_thread(bare_decode_tps, url, model))
        server = app.chat_screen.model_info.server or "?"
    return app_tps, bare_tps, server


def _server() -> tuple[str, Any]:
    """(the API base, the server process to stop or None)."""
    url = os.environ.get("TCHAT_BENCH_ENDPOINT")
    if url:
        return url, None
    from tests.helpers import serving
    from tui.models import default_model

    folder = default_model.ensure_converted()
    log = Path(tempfile.mkdtemp(prefix="tchat-bench-")) / "transformers-serve.log"
    server = serving.transformers_serve(folder, log)
    return server.url, server


def _pipeline_only(reps: int) -> Result:
    """The same comparison against the tests' scripted server pacing 20 chunks a second: the
    app's own cost, without a model competing with it for the cores."""
    from tests.helpers.fake_openai_server import FakeServer, reply_steps

    server = FakeServer().start()
    usage = {"prompt_tokens": 5, "completion_tokens": NEW_TOKENS}
    server.chat = reply_steps([f" w{i}" for i in range(NEW_TOKENS)], pause=0.05, usage=usage)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app_tps, bare_tps, _ = asyncio.run(_runs(server.url, reps, Path(tmp)))
    finally:
        server.stop()
    ratios = [
        a / ((b + c) / 2) for a, b, c in zip(app_tps, bare_tps[:-1], bare_tps[1:], strict=True)
    ]
    return Result(
        "remote_stream_pipeline",
        median(ratios),
        "x",
        detail=(
            f"app {spread(app_tps)} vs bare {spread(bare_tps)} tok/s from a scripted server "
            f"sending {NEW_TOKENS} chunks at 20/s on loopback (no model on the cores)"
        ),
    )


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run(run: Run) -> list[Result]:
    try:
        import fastapi  # noqa: F401 - transformers serve needs the serving extra
    except ImportError:
        if not os.environ.get("TCHAT_BENCH_ENDPOINT"):
            return [
                Result(
                    NAME, None, "x", detail="needs the serving extra (make setup-dev)", skipped=True
                )
            ]
    reps = run.reps(5, 2)
    url, server = _server()
    # A `timeout` or kill -TERM must still stop the server this run started (its own session).
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app_tps, bare_tps, served_by = asyncio.run(_runs(url, reps, Path(tmp)))
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server is not None:
            server.stop()
    ratios = [
        app / ((before + after) / 2)
        for app, before, after in zip(app_tps, bare_tps[:-1], bare_tps[1:], strict=True)
    ]
    return [
        _pipeline_only(reps),
        Result(
            NAME,
            median(ratios),
            "x",
            goal=(">=", 0.97),
            detail=(
                f"app {spread(app_tps)} tok/s vs bare openai client {spread(bare_tps)} tok/s "
                f"from {served_by}; per-run ratios {spread(ratios, '{:.3f}')}; "
                f"{NEW_TOKENS} greedy tokens, median of {reps}"
            ),
        ),
    ]
