"""The streamer between `generate` and a reply's reader: token ids in, text pieces out.

Why not transformers' TextIteratorStreamer as it is: it decodes in `put`, that is on the
generate thread, between two decode steps. Where a step is one compiled call (the CPU fast
path, which releases Python's lock for its whole 10 ms), `put` here only counts, timestamps
and queues the new ids, and the reader's thread decodes them while the next step runs: with
the Runner's lean inputs (aot_decode.attach) that took generate's Python per token from 4.6
to 0.9 ms (bench decode_gap, 4-bit compiled, AVX-512 EPYC). An eager step is hundreds of
small ops, each taking the lock back: a reader decoding beside it cost it 15% (bench
app_vs_generate 0.84 against 1.02), so there `put` decodes, as TextIteratorStreamer does.
Either way the text is cut where TextStreamer cuts it (at a line break, a CJK character or
the last space), so a word is never shown half-decoded.

It also keeps the reply's figures: new tokens, the first and last token's time (time to
first token and tokens/s), the last id (end of turn or length), and gives each piece the
token count at its decode (`Counted`), which the chat core's thinking count reads.
"""

from __future__ import annotations

import queue
import time
from typing import Any

from tui.engine.backend import Counted
from tui.store.session import ReplyStats


def make_streamer(
    tokenizer: Any,
    stats: ReplyStats,
    started: float,
    drop: frozenset[int] | None = None,
    decode_in_reader: bool = False,
) -> Any:
    """`drop`: for a reasoning format whose markers are special tokens, the other special ids
    (the text keeps the markers for the chat core's parser; hf_chat.dropped_specials).
    `decode_in_reader`: decode on the reader's thread (a compiled step), else in `put`."""
    from transformers import TextStreamer

    class ReplyStreamer(TextStreamer):  # type: ignore[misc]
        """Defined inside a function because the base class exists only once transformers is
        imported, which happens in the loading worker. TextStreamer gives the decoding state
        (token_cache, print_len) and its CJK test; put, end and the iterator are this one's."""

        def __init__(self) -> None:
            super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=drop is None)
            self.new_tokens = 0
            self.first_at: float | None = None
            self.last_at: float | None = None
            self.last_token: int | None = None
            # Token ids (decoded by the reader) or text (decoded in put), with the count.
            self._queue: queue.SimpleQueue[tuple[list[int] | str, int] | None] = queue.SimpleQueue()
            self._ended = False

        # ---- the generate thread -------------------------------------------------------

        def put(self, value: Any) -> None:
            if self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            now = time.perf_counter()
            ids = value.reshape(-1).tolist()
            self.new_tokens += len(ids)
            if self.first_at is None:
                self.first_at = now
                stats.ttft_s = now - started
            self.last_at = now
            stats.new_tokens = self.new_tokens  # live, for the gauges while streaming
            if ids:
                self.last_token = int(ids[-1])
            if drop is not None:
                ids = [i for i in ids if i not in drop]
            if not ids:
                return
            if decode_in_reader:
                self._queue.put((ids, self.new_tokens))
                return
            self.token_cache.extend(ids)
            text = self._printable(ended=False)
            if text:
                self._queue.put((text, self.new_tokens))

        def end(self) -> None:
            self._queue.put(None)  # the reader decodes what is left (generate is done then)

        # ---- the reader's thread -------------------------------------------------------

        def __iter__(self) -> ReplyStreamer:
            return self

        def __next__(self) -> str:
            while not self._ended:
                item = self._queue.get()
                if item is None:
                    self._ended = True
                    text, count = self._printable(ended=True), self.new_tokens
                else:
                    piece, count = item
                    if isinstance(piece, str):
                        text = piece
                    else:
                        self.token_cache.extend(piece)
                        text = self._printable(ended=False)
                if text:
                    return Counted.of(text, count)
            raise StopIteration

        def _printable(self, ended: bool) -> str:
            if not self.token_cache:
                return ""
            text = str(self.tokenizer.decode(self.token_cache, **self.decode_kwargs))
            if ended or text.endswith("\n"):
                printable = text[self.print_len :]
                self.token_cache = []
                self.print_len = 0
            elif len(text) > 0 and self._is_chinese_char(ord(text[-1])):
                printable = text[self.print_len :]
                self.print_len += len(printable)
            else:
                printable = text[self.print_len : text.rfind(" ") + 1]
                self.print_len += len(printable)
            return printable

    return ReplyStreamer()
