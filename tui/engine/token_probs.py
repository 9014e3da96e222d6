"""Token probabilities from the local engine: recorded while `model.generate` runs.

A logits processor sees the model's scores at each step (after the repetition penalty, before
temperature, top-k and top-p, which transformers appends after any processor it is given) and
keeps the log-softmax and its top alternatives; a stopping criterion, called once the step's
token is chosen, notes which token that was. Nothing is decoded while generating: the texts
are made once, when the reply ends (`steps`). Kept apart from transformers_backend.py so the
streaming code there stays about streaming; torch and transformers are imported lazily.

Cost on the default model (SmolLM2-135M, this repo's CPU box): see the `token_alternatives`
rows of bench/token_alternatives.py (and the README).
"""

from __future__ import annotations

from typing import Any

from tui.engine.tokens import TokenChoice, TokenStep


class Recorder:
    """Top-`top` alternatives and the chosen token's log probability at every step."""

    def __init__(self, top: int) -> None:
        self.top = top
        self._last: Any = None  # the latest step's log-softmax (a tensor)
        self._top: list[tuple[list[float], list[int]]] = []
        self._chosen: list[tuple[int, float]] = []

    def attach(self, kwargs: dict[str, Any]) -> None:
        """Add the recorder to `model.generate` keyword arguments."""
        import torch
        from transformers import (
            LogitsProcessor,
            LogitsProcessorList,
            StoppingCriteria,
            StoppingCriteriaList,
        )

        recorder = self

        class Scores(LogitsProcessor):
            def __call__(self, input_ids: Any, scores: Any) -> Any:
                logprobs = torch.log_softmax(scores[0].float(), dim=-1)
                values, ids = torch.topk(logprobs, recorder.top)
                recorder._last = logprobs
                recorder._top.append((values.tolist(), ids.tolist()))
                return scores

        class Chosen(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                token = int(input_ids[0, -1])
                if recorder._last is not None and len(recorder._chosen) < len(recorder._top):
                    recorder._chosen.append((token, float(recorder._last[token])))
                return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

        processors = kwargs.get("logits_processor") or LogitsProcessorList()
        processors.append(Scores())
        kwargs["logits_processor"] = processors
        criteria = kwargs.get("stopping_criteria") or StoppingCriteriaList()
        criteria.append(Chosen())
        kwargs["stopping_criteria"] = criteria

    def steps(self, tokenizer: Any) -> list[TokenStep]:
        """The recorded steps with their texts; call once generation has ended."""
        chosen = self._chosen
        if not chosen:
            return []
        ids = [t for t, _ in chosen]
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        pieces = _pieces(tokenizer, ids)
        alt_ids = sorted({i for _, top in self._top[: len(chosen)] for i in top})
        alt_text = dict(zip(alt_ids, tokenizer.batch_decode([[i] for i in alt_ids]), strict=True))
        out: list[TokenStep] = []
        for (token, logprob), piece, (values, top) in zip(chosen, pieces, self._top, strict=False):
            mine = TokenChoice(
                _special_name(tokenizer, token) if token in special else piece,
                logprob,
                token,
                token in special,
            )
            alternatives = tuple(
                mine
                if i == token
                else TokenChoice(
                    _special_name(tokenizer, i) if i in special else alt_text[i],
                    v,
                    i,
                    i in special,
                )
                for v, i in zip(values, top, strict=True)
            )
            out.append(TokenStep(mine, alternatives))
        return out


def _special_name(tokenizer: Any, token: int) -> str:
    return str(tokenizer.convert_ids_to_tokens(token))


def _pieces(tokenizer: Any, ids: list[int]) -> list[str]:
    """Each token's share of the decoded text, so the pieces add up to what was streamed (a
    character split over several byte tokens belongs to the last of them)."""
    pieces: list[str] = []
    done = ""
    for n in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:n], skip_special_tokens=True)
        if text.endswith("\ufffd") or not text.startswith(done):
            pieces.append("")  # an unfinished character: its bytes show with the next token
            continue
        pieces.append(text[len(done) :])
        done = text
    if pieces and text.startswith(done) and len(text) > len(done):
        pieces[-1] += text[len(done) :]  # a character the reply ended inside, as streamed
    return pieces
