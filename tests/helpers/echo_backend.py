"""A second backend as small as one can be: it answers with the last message, word by word.

It exists to check the backend seam (issue 14): a backend is its own module plus one entry in
`tui/engine/registry.py`, and then `--backend NAME` works in the full-screen app and in `-p`,
with nothing else changed. tests/unit/test_backend_seam.py registers it and drives both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from tui.engine.backend import Backend, LoadSpec, ModelInfo, ProgressFn, Reply
from tui.store.session import GenerationSettings, ReplyStats


class EchoBackend(Backend):
    """Declares no capability beyond loading and streaming: every default of the seam applies."""

    def load(self, spec: LoadSpec, progress: ProgressFn | None = None) -> ModelInfo:
        self.info = ModelInfo(id="echo", name="echo", device="cpu", dtype="fp32")
        return self.info

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return sum(len(m["content"].split()) for m in messages)

    def stream(
        self,
        messages: list[dict[str, str]],
        settings: GenerationSettings,
        cancel: threading.Event,
        continue_final: bool = False,
    ) -> Reply:
        words = messages[-1]["content"].split()
        stats = ReplyStats(prompt_tokens=self.count_tokens(messages))
        start = time.monotonic()

        def chunks() -> Iterator[str]:
            for word in words:
                if cancel.is_set():
                    stats.stop_reason = "cancelled"
                    return
                stats.new_tokens += 1
                yield word + " "
            stats.stop_reason = "end_of_turn"
            stats.total_s = time.monotonic() - start

        return Reply(chunks=chunks(), stats=stats)
