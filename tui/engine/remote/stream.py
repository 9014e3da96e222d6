"""Reading a streamed chat completion, chunk by chunk, as real servers send it.

The client library parses the server-sent events; this turns each chunk (a plain dict) into
reply pieces and figures. What servers actually send, and what is done with it:

- a first chunk with only `delta.role` (and vLLM's `content: ""`): nothing to show;
- deltas with empty content (vLLM holds back bytes of a partial UTF-8 character): normal;
- `delta.reasoning` (vLLM) or `delta.reasoning_content` (SGLang, llama-server, transformers
  serve): the reply's thinking, yielded as `Thinking` pieces;
- `finish_reason` on the last content chunk ("stop", "length", "tool_calls", vLLM's "abort");
- `usage` in a separate last chunk with empty `choices` (vLLM, SGLang, llama-server when asked
  with `stream_options.include_usage`), in every chunk (vLLM's `continuous_usage_stats`), or in
  the finish chunk (transformers serve); llama-server's `timings` in each chunk.

Token counts come from `usage` (or llama-server's `timings`), never from counting chunks: a
server batches several tokens into one event when the client reads slowly. Until a count
arrives the live figure is the number of chunks with text, a floor that the final `usage`
replaces. Time to first token and decode speed are measured here, from chunk arrival times.
"""

from __future__ import annotations

from typing import Any

from tui.engine.backend import Thinking
from tui.store.session import ReplyStats

# finish_reason -> ReplyStats.stop_reason
_STOP = {
    "stop": "end_of_turn",
    "eos": "end_of_turn",
    "tool_calls": "end_of_turn",
    "function_call": "end_of_turn",
    "length": "length",
}


class ChunkReader:
    """Feeds on chunk dicts for one reply and keeps its `stats` up to date.

    `started` is when the request was sent (perf_counter seconds); `feed(chunk, now)` returns
    the pieces to show, in order. `finish(now)` settles the final figures."""

    def __init__(self, stats: ReplyStats, started: float) -> None:
        self.stats = stats
        self.started = started
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.finish_reason: str | None = None
        self.chunks_with_text = 0
        self.counted = False  # a server count (usage or timings) has arrived
        self.usage_seen = False
        self.prompt_tokens: int | None = None
        self.timings: dict[str, Any] | None = None

    def feed(self, chunk: dict[str, Any], now: float) -> list[str]:
        pieces: list[str] = []
        choices = chunk.get("choices") or []
        for choice in choices[:1]:  # one reply asked for (n=1): the first choice is it
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning")
            if reasoning is None:
                reasoning = delta.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                pieces.append(Thinking(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                pieces.append(content)
            reason = choice.get("finish_reason")
            if reason:
                self.finish_reason = str(reason)
        if pieces:
            self.chunks_with_text += 1
            if self.first_at is None:
                self.first_at = now
                self.stats.ttft_s = now - self.started
            self.last_at = now
        self._count(chunk)
        return pieces

    def _count(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            completion = usage.get("completion_tokens")
            prompt = usage.get("prompt_tokens")
            if isinstance(completion, int):
                self.stats.new_tokens = completion
                self.counted = self.usage_seen = True
            if isinstance(prompt, int) and prompt > 0:
                self.prompt_tokens = prompt
            return
        timings = chunk.get("timings")
        if isinstance(timings, dict):  # llama-server: predicted_n so far, prompt_n
            self.timings = timings
            predicted = timings.get("predicted_n")
            if isinstance(predicted, int):
                self.stats.new_tokens = predicted
                self.counted = True
            prompt = timings.get("prompt_n")
            if isinstance(prompt, int) and prompt > 0:
                self.prompt_tokens = prompt
            return
        if not self.counted:
            self.stats.new_tokens = self.chunks_with_text  # a floor until the server counts

    def finish(self, now: float) -> None:
        """The stream ended (any way): final counts, speed and, unless set, why it stopped."""
        stats = self.stats
        stats.total_s = now - self.started
        if self.prompt_tokens:
            stats.prompt_tokens = self.prompt_tokens
        if self.finish_reason is not None and stats.stop_reason == "streaming":
            stats.stop_reason = _STOP.get(self.finish_reason, "end_of_turn")
        first, last = self.first_at, self.last_at
        if first is not None and last is not None and last > first and stats.new_tokens > 1:
            stats.decode_tps = (stats.new_tokens - 1) / (last - first)

    @property
    def aborted_by_server(self) -> bool:
        """vLLM ends a request it dropped (out of memory, shut down) with finish_reason "abort"."""
        return self.finish_reason == "abort"
