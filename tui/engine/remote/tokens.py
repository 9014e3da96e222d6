"""Counting a prompt's tokens for a server that cannot count them (no `/tokenize`).

`transformers serve` (and an unknown OpenAI-compatible server) has no way to ask how long a
prompt is before sending it, and `transformers serve` accepts a prompt longer than the model's
context and spends minutes on it. So tchat estimates, on purpose a little high: UTF-8 bytes
over 3.5 (English prose runs about 4 to 4.5 bytes a token, code and other scripts fewer), plus
a few tokens per message for the template's markers. Once a reply has come back, the server's
own `usage.prompt_tokens` for the prompt it was sent calibrates the estimate for the rest of the
chat (a template that adds a long default system prompt is caught that way). The figure is
then kept `MARGIN` above the calibrated one. The UI marks such counts with "~".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BYTES_PER_TOKEN = 3.5
PER_MESSAGE = 6  # role markers, separators
PER_PROMPT = 4  # the generation prompt
MARGIN = 0.10  # kept this much above the estimate: context fitting errs on the safe side
NOTE = (
    "token counts are estimated (this server cannot count them): from the text, calibrated "
    "on the server's own count after each reply, kept 10% high"
)


def raw_estimate(messages: Sequence[dict[str, str]]) -> float:
    text_tokens = sum(len(m.get("content", "").encode("utf-8")) for m in messages)
    return text_tokens / BYTES_PER_TOKEN + PER_MESSAGE * len(messages) + PER_PROMPT


class Estimator:
    """Estimates, calibrated by what the server reported for the last prompt it was sent."""

    def __init__(self) -> None:
        self.scale = 1.0  # server's count / raw estimate, from the latest reply

    def count(self, messages: Sequence[dict[str, str]]) -> int:
        return math.ceil(raw_estimate(messages) * self.scale * (1 + MARGIN))

    def calibrate(self, messages: Sequence[dict[str, str]], server_count: int) -> None:
        """The server said `server_count` tokens for `messages`."""
        raw = raw_estimate(messages)
        if raw > 0 and server_count > 0:
            self.scale = min(4.0, max(0.5, server_count / raw))
