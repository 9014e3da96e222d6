"""Split a streamed reply into its thinking and its answer, as the text arrives.

Reasoning models write their thinking before the answer, in one of a few shapes:

- **tags**: `<think>…</think>` then the answer (Qwen3, QwQ, SmolLM3, DeepSeek-R1). Some
  templates open `<think>` in the prompt themselves (DeepSeek-R1 and its distills), so the
  reply starts inside the thinking: the caller says so (`TagParser(inside=True)`), from the
  rendered prompt's tail (`prompt_opens_thinking`).
- **harmony** (gpt-oss): messages between special tokens, each on a channel:
  `<|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final<|message|>…
  <|return|>`. `analysis` is thinking, `final` the answer, `commentary` a tool call or a
  preamble: shown with the thinking (folded), never run. The backend must decode these from
  token ids with the special tokens kept: with them stripped, the channel names run into the
  text ("analysis…assistantfinal…").
- **already split**: a remote server's `reasoning` / `reasoning_content` field, handed over as
  `Thinking` chunks (tui/engine/backend.py): they pass through as thinking.

A parser is fed chunks of any size and returns pieces: `Thinking` for thinking, plain `str`
for answer. A tag split across chunks at any position parses the same (tests stream every
sample split at every position): text that might be the start of a tag is held back until the
next chunk says what it is. Once the answer has started, chunks pass through untouched, so a
model that never thinks costs nothing here. No Textual, no torch.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from tui.engine.backend import Counted, Thinking
from tui.engine.chat_format import ChatFormat
from tui.store.session import ReplyStats

OPEN, CLOSE = "<think>", "</think>"


def prompt_opens_thinking(prompt: str) -> bool:
    """The rendered prompt ends inside an open `<think>` (the reply starts as thinking)."""
    tail = prompt[-80:].rstrip()
    return tail.endswith(OPEN)


def _partial(text: str, *tokens: str) -> int:
    """How many characters at the end of `text` could begin one of `tokens` (to hold back)."""
    i = text.rfind("<")
    if i < 0:
        return 0
    rest = text[i:]
    return len(rest) if any(t.startswith(rest) and t != rest for t in tokens) else 0


class TagParser:
    """`<think>…</think>` before the answer. States: start (nothing but whitespace yet),
    inside (thinking), after (thinking closed, blank lines before the answer), answer."""

    def __init__(
        self, inside: bool = False, answering: bool = False, resumed: bool = False
    ) -> None:
        self.state = "answer" if answering else ("inside" if inside else "start")
        self._held = ""
        # Strip the blank lines that open the thinking; not in a continued one, where the
        # first piece goes on from the last word ("greets" + " me.").
        self._lead = inside and not resumed

    @property
    def thinking(self) -> bool:
        return self.state == "inside"

    def feed(self, chunk: str) -> list[str]:
        if isinstance(chunk, Thinking):  # split by the engine already
            if self.state == "start":
                self.state, self._held = "after", ""
            return [chunk] if chunk else []
        if self.state == "answer":
            return [chunk] if chunk else []
        text, self._held = self._held + chunk, ""
        out: list[str] = []
        while text:
            if self.state == "start":
                body = text.lstrip()
                if body.startswith(OPEN):
                    self.state, self._lead, text = "inside", True, body[len(OPEN) :]
                elif not body or OPEN.startswith(body):
                    self._held, text = text, ""  # whitespace, or maybe the start of <think>
                else:
                    self.state = "answer"
                    out.append(text)
                    text = ""
            elif self.state == "inside":
                if self._lead:
                    text = text.lstrip()
                    if not text:
                        break
                    self._lead = False
                end = text.find(CLOSE)
                if end >= 0:
                    if text[:end].strip():
                        out.append(Thinking(text[:end].rstrip()))
                    self.state, text = "after", text[end + len(CLOSE) :]
                    continue
                cut = len(text) - _partial(text, CLOSE)
                shown = text[:cut].rstrip()  # trailing blanks wait: they may precede </think>
                if shown:
                    out.append(Thinking(shown))
                self._held, text = text[len(shown) :], ""
            else:  # after
                text = text.lstrip()
                if text:
                    self.state = "answer"
                    out.append(text)
                    text = ""
        return out

    def finish(self) -> list[str]:
        """What was held back, once the reply has ended."""
        held, self._held = self._held, ""
        if self.state == "inside" and held.strip():
            return [Thinking(held.rstrip())]
        if self.state == "start" and held:
            return [held]
        return []


# Harmony's special tokens (the gpt-oss tokenizer's names).
START, END, MESSAGE, CHANNEL = "<|start|>", "<|end|>", "<|message|>", "<|channel|>"
RETURN, CALL, ENDOFTEXT = "<|return|>", "<|call|>", "<|endoftext|>"
_SPECIALS = (START, END, MESSAGE, CHANNEL, "<|constrain|>", RETURN, CALL, ENDOFTEXT)
_ENDS = (END, RETURN, CALL, ENDOFTEXT)
_CHANNEL_RE = re.compile(r"<\|channel\|>\s*(\w+)")
_RECIPIENT_RE = re.compile(r"to=([^\s<]+)")


class HarmonyParser:
    """gpt-oss's harmony messages: `analysis` (and any other channel but `final`) is
    thinking, `final` is the answer, `commentary` shows what the model wanted to call. States:
    header (reading a message's header up to <|message|>), body, idle (between messages),
    done (after <|return|> / <|call|>)."""

    def __init__(self, channel: str | None = None) -> None:
        # The prompt ends with `<|start|>assistant`: the reply begins with a message header.
        self.state = "body" if channel else "header"
        self.channel = channel or ""
        self._header = ""
        self._held = ""
        self._thought = channel is not None and channel != "final"  # thinking shown already
        self._gap = False  # the next thinking text starts a new message: a blank line first

    @property
    def thinking(self) -> bool:
        return self.state != "done" and self.channel != "final"

    def feed(self, chunk: str) -> list[str]:
        if isinstance(chunk, Thinking):
            return [chunk] if chunk else []
        text, self._held = self._held + chunk, ""
        out: list[str] = []
        while text and self.state != "done":
            if self.state == "idle":
                if text.startswith(START):
                    self.state, self._header, text = "header", "", text[len(START) :]
                elif START.startswith(text):
                    self._held, text = text, ""
                else:  # text outside any message: take it as answer
                    self.state, self.channel = "body", "final"
            elif self.state == "header":
                if not self._header:
                    if text.startswith(START):
                        text = text[len(START) :]
                        continue
                    if not text.startswith((CHANNEL, "assistant")):
                        if any(t.startswith(text) for t in (CHANNEL, "assistant", START)):
                            self._held, text = text, ""
                        else:  # no header at all: a plain answer
                            self.state, self.channel = "body", "final"
                        continue
                text, self._header = self._header + text, ""
                end = text.find(MESSAGE)
                if end < 0:
                    self._header, text = text, ""
                    continue
                header, text = text[:end], text[end + len(MESSAGE) :]
                out.extend(self._open(header))
            else:  # body
                ends = [(text.find(t), t) for t in _ENDS if t in text]
                if ends:
                    at, token = min(ends)
                    out.extend(self._body(text[:at]))
                    text = text[at + len(token) :]
                    self.state = "idle" if token == END else "done"
                    continue
                cut = len(text) - _partial(text, *_SPECIALS)
                out.extend(self._body(text[:cut]))
                self._held, text = text[cut:], ""
        return out

    def _open(self, header: str) -> list[str]:
        """A message begins: its channel (and, for commentary, whom it addresses)."""
        found = _CHANNEL_RE.search(header)
        self.channel = found.group(1) if found else "final"
        self.state = "body"
        self._gap = self._thought
        if self.channel != "commentary":
            return []
        recipient = _RECIPIENT_RE.search(header)
        what = (
            f"Tool call to {recipient.group(1)} (not run: tchat runs no tools):"
            if recipient
            else "Commentary:"
        )
        gap, self._gap, self._thought = ("\n\n" if self._gap else ""), False, True
        return [Thinking(f"{gap}{what}\n")]

    def _body(self, text: str) -> list[str]:
        if not text:
            return []
        if self.channel == "final":
            return [text]
        gap, self._gap, self._thought = ("\n\n" if self._gap else ""), False, True
        return [Thinking(gap + text)]

    def finish(self) -> list[str]:
        held, self._held = self._held, ""
        if self.state == "body" and held:
            return self._body(held)
        return []


Parser = TagParser | HarmonyParser


def make_parser(
    fmt: ChatFormat | None,
    prompt_tail: str = "",
    carried_thinking: bool = False,
    carried_answer: bool = False,
) -> Parser:
    """The parser for a reply: harmony for gpt-oss-shaped templates, tags otherwise (cheap
    for a model that never thinks). A continued reply starts where it stopped."""
    if fmt is not None and fmt.reasoning == "harmony":
        if carried_answer:
            return HarmonyParser("final")
        return HarmonyParser("analysis" if carried_thinking else None)
    if carried_answer:
        return TagParser(answering=True)
    if carried_thinking:
        return TagParser(inside=True, resumed=True)
    return TagParser(inside=prompt_opens_thinking(prompt_tail))


def split_reply(
    chunks: Iterator[str], parser: Parser, stats: ReplyStats, started: float
) -> Iterator[str]:
    """`chunks` as thinking and answer pieces. While the reply thinks, `stats` counts its
    thinking tokens and seconds (the engine's live token count at that moment)."""
    tags = parser if isinstance(parser, TagParser) else None
    try:
        for chunk in chunks:
            if tags is not None and tags.state == "answer" and type(chunk) is not Thinking:
                yield chunk  # the common case, kept cheap: an answer passes untouched
                continue
            was = parser.thinking
            pieces = parser.feed(chunk)
            if was or parser.thinking or any(isinstance(p, Thinking) for p in pieces):
                # Counted text carries the exact count; else the engine's live figure.
                tokens = chunk.tokens if isinstance(chunk, Counted) else stats.new_tokens
                stats.thinking_tokens = tokens
                stats.thinking_s = time.perf_counter() - started
            yield from pieces
        yield from parser.finish()
    finally:
        close = getattr(chunks, "close", None)  # a closed reply closes the engine's stream
        if close is not None:
            close()


def in_thinking(parser: Parser) -> bool:
    """The reply ended while still thinking (e.g. out of tokens before the answer)."""
    return parser.thinking
