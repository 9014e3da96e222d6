"""A scripted backend behind the real interface, for tests, demos and benchmarks.

It streams a canned Markdown reply word by word at a set pace, honours cancel between
tokens exactly like the real engine, and can be told to fail mid-reply. Selected with
`tchat --backend fake` (TCHAT_FAKE_DELAY and TCHAT_FAKE_SCRIPT set its pace and text); this
is what lets the UI be tested on machines without the time or memory for a real model.

A script that starts with `<think>…</think>` plays a reasoning model shaped like Qwen3: the
thinking streams as text with its tags (the chat core's parser splits it), or, with
`thinking="chunks"` (TCHAT_FAKE_THINKING=chunks), as `Thinking` chunks the way a remote server
hands over `reasoning_content`. Its thinking switch works like Qwen3's `enable_thinking`: off,
the prompt ends with an empty think block and the reply skips its thinking.
"""

from __future__ import annotations

import math
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
    Thinking,
)
from tui.engine.chat_format import NO_THINKING, ChatFormat
from tui.engine.tokens import TokenChoice, TokenStep
from tui.store.session import GenerationSettings, ReplyStats

DEFAULT_SCRIPT = (
    "Here is a short answer with **Markdown**:\n\n"
    "- a list item\n- another item\n\n"
    "```python\nprint('hello')\n```\n\nThat is all."
)


class FakeBackend(Backend):
    """Streams `script` (or `reply_for(messages)`) one whitespace-delimited token at a time."""

    # Its token counts are its own tokenizer's: exact, for the text it streams.
    capabilities = Capabilities(
        continue_reply=True, exact_token_counts=True, prompt_text=True, token_alternatives=True
    )

    @classmethod
    def create(cls, fast: str = "auto") -> FakeBackend:
        """`--backend fake`: TCHAT_FAKE_SCRIPT (a file) and TCHAT_FAKE_DELAY set text and pace."""
        script_file = os.environ.get("TCHAT_FAKE_SCRIPT")
        script = Path(script_file).read_text("utf-8") if script_file else DEFAULT_SCRIPT
        return cls(
            script=script,
            delay=float(os.environ.get("TCHAT_FAKE_DELAY", "0.02")),
            thinking=os.environ.get("TCHAT_FAKE_THINKING", "tags"),
        )

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
        thinking: str = "tags",
        generation_defaults: dict[str, object] | None = None,
    ) -> None:
        self.script = script
        self.delay = delay
        self.load_delay = load_delay
        self.fail_after = fail_after
        self.fail_load = fail_load
        self.reply_for = reply_for
        self.context_length = context_length
        self.device = device
        self.thinking = thinking  # "tags": <think> in the text; "chunks": Thinking chunks
        self.generation_defaults = dict(generation_defaults or {})
        self.thinking_on: bool | None = None  # the chat's switch (use_thinking)
        self.info: ModelInfo | None = None
        self.prompts: list[list[dict[str, str]]] = []  # what each reply was asked, for tests
        self.alternatives = 0  # keep_alternatives(): scripted token probabilities

    def keep_alternatives(self, top: int) -> None:
        self.alternatives = max(0, top)

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
            chat_format=self.chat_format,
            generation_defaults=dict(self.generation_defaults),
        )
        return self.info

    @property
    def chat_format(self) -> ChatFormat:
        """Qwen3's shape when the script thinks, else a model without thinking."""
        if self.script.lstrip().startswith("<think>"):
            return ChatFormat(reasoning="tags", switch="enable_thinking", thinks_by_default=True)
        return NO_THINKING

    def use_thinking(self, on: bool | None) -> None:
        self.thinking_on = on

    @property
    def _thinks(self) -> bool:
        return self.chat_format.thinking_on(self.thinking_on)

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages) + 2

    def render_prompt(self, messages: list[dict[str, str]]) -> str:
        text = "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages) + "<|assistant|>\n"
        if self.chat_format.thinks and not self._thinks:
            text += "<think>\n\n</think>\n\n"  # Qwen3's enable_thinking=False
        return text

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
        if self.chat_format.thinks and not self._thinks and "</think>" in text:
            text = text.split("</think>", 1)[1].lstrip()  # told not to think: it does not
        partial = messages[-1]["content"] if continue_final and messages else ""
        if partial:
            at = _resume_at(text, partial)  # carry on where the stopped reply left off
            if not at:  # a start the script never had (a token picked): go on after as many words
                at = _after_words(text, len(partial.split()))
            text = text[at:]
        tokens: list[str] = re.findall(r"\s*\S+|\s+", text)
        if self.thinking == "chunks" and text.lstrip().startswith("<think>"):
            tokens = _as_thinking_chunks(text)
        started = time.perf_counter()
        reply = Reply(chunks=iter(()), stats=ReplyStats(prompt_tokens=self.count_tokens(messages)))
        if self.alternatives:
            reply.tokens = []

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
                    if reply.tokens is not None and not isinstance(tok, Thinking):
                        reply.tokens.append(scripted_step(tok, self.alternatives))
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


# Words the scripted alternatives are made of.
_OTHER_WORDS = ("different", "another", "maybe", "really", "some", "quite", "also", "this")


def scripted_step(token: str, top: int) -> TokenStep:
    """A made-up but stable probability for `token` (from its text: the same word always gets
    the same figure) and `top` alternatives, the token among them."""
    lead = token[: len(token) - len(token.lstrip())]
    p = 0.04 + (zlib.crc32(token.encode()) % 93) / 100
    rest = 1.0 - p
    others = [
        TokenChoice(lead + w, math.log(rest / (2 ** (i + 1))))
        for i, w in enumerate(x for x in _OTHER_WORDS if x != token.strip())
    ]
    chosen = TokenChoice(token, math.log(p))
    ranked = sorted([chosen, *others[: max(0, top - 1)]], key=lambda c: -c.logprob)
    return TokenStep(chosen, tuple(ranked))


def _after_words(text: str, words: int) -> int:
    """Where `text` goes on after its first `words` words."""
    found = list(re.finditer(r"\s*\S+", text))
    return found[words - 1].end() if 0 < words <= len(found) else 0


def _resume_at(text: str, partial: str) -> int:
    """Where `text` goes on after `partial`, its start written again (by the chat core, with
    its own spacing and tags): matched character by character, whitespace aside. 0 when
    `partial` is not a start of `text` at all."""
    i = 0
    for ch in partial:
        if ch.isspace():
            continue
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text) or text[i] != ch:
            return 0
        i += 1
    return i


def _as_thinking_chunks(text: str) -> list[str]:
    """A thinking script as a server that separates reasoning streams it: Thinking chunks
    without the tags, then the answer's words."""
    head, _, answer = text.lstrip()[len("<think>") :].partition("</think>")
    thinking = [Thinking(t) for t in re.findall(r"\s*\S+|\s+", head.strip())]
    return [*thinking, *re.findall(r"\s*\S+|\s+", answer.lstrip())]
