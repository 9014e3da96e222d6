"""A scripted backend behind the real interface, for tests, demos and benchmarks.

It streams a canned Markdown reply word by word at a set pace, honours cancel between
tokens exactly like the real engine, and can be told to fail mid-reply. Selected with
`tchat --backend fake` (TCHAT_FAKE_DELAY and TCHAT_FAKE_SCRIPT set its pace and text); this
is what lets the UI be tested on machines without the time or memory for a real model.
"""

from __future__ import annotations

import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from tui.engine.backend import (
    Backend,
    Capabilities,
    EngineError,
    LoadSpec,
    ModelInfo,
    ProgressFn,
    Reply,
)
from tui.store.session import GenerationSettings, ReplyStats

DEFAULT_SCRIPT = (
    "Here is a short answer with **Markdown**:\n\n"
    "- a list item\n- another item\n\n"
    "```python\nprint('hello')\n```\n\nThat is all."
)


class FakeBackend(Backend):
    """Streams `script` (or `reply_for(messages)`) one whitespace-delimited token at a time."""

    capabilities = Capabilities(continue_reply=True, prompt_text=True)

    @classmethod
    def create(cls, fast: str = "auto") -> FakeBackend:
        """`--backend fake`: TCHAT_FAKE_SCRIPT (a file) and TCHAT_FAKE_DELAY set text and pace."""
        script_file = os.environ.get("TCHAT_FAKE_SCRIPT")
        script = Path(script_file).read_text("utf-8") if script_file else DEFAULT_SCRIPT
        return cls(script=script, delay=float(os.environ.get("TCHAT_FAKE_DELAY", "0.02")))

    def __init__(
        self,
        script: str = DEFAULT_SCRIPT,
        delay: float = 0.0,
        load_delay: float = 0.0,
        fail_after: int | None = None,
        fail_load: str | None = None,
        reply_for: Callable[[list[dict[str, str]]], str] | None = None,
        context_length: int = 2048,
        device: str = "cpu",
    ) -> None:
        self.script = script
        self.delay = delay
        self.load_delay = load_delay
        self.fail_after = fail_after
        self.fail_load = fail_load
        self.reply_for = reply_for
        self.context_length = context_length
        self.device = device
        self.info: ModelInfo | None = None
        self.prompts: list[list[dict[str, str]]] = []  # what each reply was asked, for tests

    def load(self, spec: LoadSpec, progress: ProgressFn | None = None) -> ModelInfo:
        if progress:
            progress("Loading fake model…", 0.5)
        time.sleep(self.load_delay)
        if self.fail_load:
            raise EngineError(self.fail_load, "This is the fake backend's scripted failure.")
        self.info = ModelInfo(
            id=spec.model or "fake",
            name=spec.model or "fake",
            device=self.device,
            dtype="fp32" if self.device == "cpu" else "bf16",
            context_length=self.context_length,
            parameters=1_000_000,
            load_s=self.load_delay,
        )
        return self.info

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages) + 2

    def render_prompt(self, messages: list[dict[str, str]]) -> str:
        return "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages) + "<|assistant|>\n"

    def token_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """Stand-in ids, as many as `count_tokens` says, stable for the same text."""
        ids: list[int] = []
        for m in messages:
            words = [zlib.crc32(w.encode()) % 49_000 + 100 for w in m["content"].split()]
            ids += [1, 2, 3, *words, 4]
        return [*ids, 1, 5]

    def stream(
        self,
        messages: list[dict[str, str]],
        settings: GenerationSettings,
        cancel: threading.Event,
        continue_final: bool = False,
    ) -> Reply:
        if self.info is None:
            raise EngineError("No model is loaded yet.")
        self.prompts.append([dict(m) for m in messages])
        text = self.reply_for(messages) if self.reply_for else self.script
        partial = messages[-1]["content"] if continue_final and messages else ""
        if partial and text.startswith(partial):
            text = text[len(partial) :]  # carry on where the stopped reply left off
        tokens = re.findall(r"\s*\S+|\s+", text)
        started = time.perf_counter()
        reply = Reply(chunks=iter(()), stats=ReplyStats(prompt_tokens=self.count_tokens(messages)))

        def chunks() -> Iterator[str]:
            stats = reply.stats
            first: float | None = None
            last = 0.0
            try:
                for i, tok in enumerate(tokens):
                    if cancel.is_set():
                        stats.stop_reason = "cancelled"
                        return
                    if i >= settings.max_new_tokens:
                        stats.stop_reason = "length"
                        return
                    if self.fail_after is not None and i >= self.fail_after:
                        stats.stop_reason = "error"
                        reply.error = "Generation failed: RuntimeError: scripted failure"
                        return
                    if self.delay:
                        time.sleep(self.delay)
                    last = time.perf_counter()
                    if first is None:
                        first = last
                        stats.ttft_s = first - started
                    stats.new_tokens += 1
                    yield tok
                stats.stop_reason = "end_of_turn"
            finally:
                stats.total_s = time.perf_counter() - started
                if first is not None:
                    stats.ttft_s = first - started
                    if stats.new_tokens > 1 and last > first:
                        stats.decode_tps = (stats.new_tokens - 1) / (last - first)

        reply.chunks = chunks()
        return reply
