"""The reply streamer gives the same text whichever thread decodes, never half a word.

Fed token by token as `generate` feeds it, with the default model's real tokenizer: decoded
in `put` (eager replies) or on the reader's thread (compiled CPU steps), the pieces join to
the reply's text, each but the last ends where a word does, and each carries the token count
at its decode (the chat core's thinking count reads it).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tui.engine.backend import Counted
from tui.engine.reply_streamer import make_streamer
from tui.store.session import ReplyStats

TEXT = "Paris is the capital of France.\nIt has about 2.1 million people, café terraces and 🥐."


@pytest.mark.parametrize("in_reader", [False, True])
def test_pieces_join_to_the_text_and_end_at_word_boundaries(
    default_model_dir: Path, in_reader: bool
) -> None:
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(default_model_dir))
    ids = tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    stats = ReplyStats()
    streamer = make_streamer(tokenizer, stats, time.perf_counter(), decode_in_reader=in_reader)

    def generate() -> None:
        streamer.put(torch.tensor([[1, 2, 3]]))  # the prompt: skipped
        for token in ids:
            streamer.put(torch.tensor([token]))
            time.sleep(0.001)
        streamer.end()

    thread = threading.Thread(target=generate)
    thread.start()
    pieces = list(streamer)
    thread.join()
    assert "".join(pieces) == TEXT
    assert all(p.endswith((" ", "\n")) for p in pieces[:-1])  # no half-decoded word shown
    assert all(isinstance(p, Counted) for p in pieces)
    counts = [p.tokens for p in pieces]
    assert counts == sorted(counts) and counts[-1] == len(ids)
    assert streamer.new_tokens == stats.new_tokens == len(ids)
    assert streamer.last_token == ids[-1] and stats.ttft_s is not None
