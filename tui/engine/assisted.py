"""Assisted generation (speculative decoding): a draft proposes tokens, the chat model checks them.

Decoding is bound by memory bandwidth: one forward pass reads every weight to produce one token.
Checking several proposed tokens costs the same single pass, so a cheap proposer that is often
right makes replies faster without changing them: with greedy decoding the output is exactly
what the model alone would write (every token is the model's own choice), and with sampling
the distribution is the same (rejection sampling, Leviathan et al. 2023). Two proposers:

- a *draft model*: a small model of the same family (same tokenizer), passed to
  `model.generate(assistant_model=draft)`;
- *prompt lookup*: copies n-grams from the chat itself (`prompt_lookup_num_tokens=10`), free,
  and good at replies that quote code or text from the prompt.

How well it works is measured per reply, without touching transformers' internals, with a
forward pre-hook on the chat model (`AcceptanceMeter`). In transformers' assisted loop each
iteration is exactly one forward of the chat model over `candidates + 1` positions (the first
one also covers the prompt), after which `n_accepted + 1` tokens are kept and streamed in one
`streamer.put` (the +1 is the model's own next token). So over a reply with F forwards over P
positions, prompt length L and N new tokens:

    drafted  = P - L - (F - 1)      accepted = N - F      tokens per forward = N / F

and the accepted rate is accepted / drafted. This is torch's public hook API, so it holds for a
draft model, prompt lookup, and the tokenizer-translating path alike.

`DraftSlot` is the object `TransformersBackend` holds for the draft in use; the backend calls it
at four points (load, install, each reply, end of reply). No Textual here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from tui.engine.backend import EngineError, LoadSpec, ProgressFn
from tui.models.config_shape import moe_from_config
from tui.models.estimates import MOE_ASSISTED_GENERATION_NOTE
from tui.store.session import GenerationSettings, ReplyStats

PROMPT_LOOKUP = "prompt-lookup"  # LoadSpec.draft value for prompt-lookup decoding
PROMPT_LOOKUP_NAME = "prompt lookup"
# Tokens copied per lookup: transformers' documented example value; a wrong guess costs only
# the extra positions in one forward pass, which is nearly free when decoding is memory bound.
PROMPT_LOOKUP_TOKENS = 10
# A plain reply this short gives too noisy a tok/s to compare assisted replies against.
MIN_PLAIN_TOKENS = 8

PADDED_VOCAB_SAMPLING_NOTE = (
    "This draft's vocabulary is padded to a different size than the model's: transformers "
    "can only use it for greedy replies (do_sample off). Sampled replies decode normally."
)
DRAFT_NOT_SMALLER_NOTE = (
    "The draft model is not smaller than the chat model, so it cannot make replies faster."
)


@dataclass(frozen=True)
class AssistStats:
    """How assisted generation went for one reply.

    `steps` is the number of forward passes of the chat model; without assistance it would
    have needed `new_tokens`. `speedup` compares decode tok/s with the last plain reply on
    the same model (None until there was one): a rough figure, as context lengths differ.
    """

    steps: int
    new_tokens: int
    drafted: int
    accepted: int
    speedup: float | None = None

    @property
    def accepted_rate(self) -> float | None:
        """Share of proposed tokens the model agreed with (None when nothing was proposed)."""
        return self.accepted / self.drafted if self.drafted > 0 else None

    @property
    def tokens_per_step(self) -> float:
        """New tokens per forward of the chat model: 1.0 is no gain at all."""
        return self.new_tokens / self.steps if self.steps else 0.0

    def summary(self) -> str:
        """ "accepted 62% · 2.4 tok/step · 1.8x" for a status line."""
        parts = []
        if self.accepted_rate is not None:
            parts.append(f"accepted {self.accepted_rate:.0%}")
        parts.append(f"{self.tokens_per_step:.1f} tok/step")
        if self.speedup is not None:
            parts.append(f"{self.speedup:.1f}x")
        return " · ".join(parts)


class AcceptanceMeter:
    """Counts the chat model's forward passes and the positions they cover (see the module
    docstring for why that measures acceptance). The hook stays attached while the draft is in
    use and counts only between `start` and `stop`, so plain code paths pay one flag check."""

    def __init__(self, model: Any) -> None:
        self._armed = False
        self.forwards = 0
        self.positions = 0
        self.prompt_tokens = 0
        self._handle = model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, _module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not self._armed:
            return
        ids = kwargs.get("input_ids")
        if ids is None:
            ids = kwargs.get("inputs_embeds")
        if ids is None and args:
            ids = args[0]
        if ids is not None and getattr(ids, "ndim", 0) >= 2:
            self.forwards += 1
            self.positions += int(ids.shape[1])

    def start(self, prompt_tokens: int) -> None:
        self.forwards = self.positions = 0
        self.prompt_tokens = prompt_tokens
        self._armed = True

    def stop(self, new_tokens: int) -> AssistStats | None:
        armed, self._armed = self._armed, False
        if not armed or self.forwards == 0:
            return None
        drafted = max(0, self.positions - self.prompt_tokens - (self.forwards - 1))
        accepted = min(max(0, new_tokens - self.forwards), drafted)
        return AssistStats(self.forwards, new_tokens, drafted, accepted)

    def close(self) -> None:
        self._armed = False
        self._handle.remove()


@dataclass
class Assistant:
    """The proposer attached to the loaded chat model, and what `generate` needs for it."""

    kind: Literal["model", "prompt-lookup"]
    name: str
    meter: AcceptanceMeter
    draft_model: Any = None
    # Set when the draft's tokenizer equals the model's but its config pads the vocabulary
    # to another size (Qwen2.5 0.5B vs 7B): transformers then insists on both tokenizers.
    tokenizers: tuple[Any, Any] | None = None
    note: str | None = None

    def generate_kwargs(self, settings: GenerationSettings) -> dict[str, Any]:
        """Extra `generate` arguments; {} means this reply decodes without assistance."""
        if self.kind == "prompt-lookup":
            return {"prompt_lookup_num_tokens": PROMPT_LOOKUP_TOKENS}
        if self.tokenizers is not None:
            if settings.do_sample:
                # transformers 5.24 fails inside its vocabulary translator when sampling.
                return {}
            main_tok, draft_tok = self.tokenizers
            return {
                "assistant_model": self.draft_model,
                "tokenizer": main_tok,
                "assistant_tokenizer": draft_tok,
            }
        return {"assistant_model": self.draft_model}

    def close(self) -> None:
        self.meter.close()
        self.draft_model = None
        self.tokenizers = None


def check_same_tokenizer(main_tok: Any, draft_tok: Any, main_name: str, draft_name: str) -> None:
    """Raise a clear EngineError unless both tokenizers map the same strings to the same ids.

    transformers itself only compares `vocab_size`, which two unrelated 32000-token vocabularies
    pass (the draft would then propose nonsense and never be accepted) and which the same
    tokenizer fails when one config pads its embedding (that case is handled, not refused).
    """
    main_vocab, draft_vocab = main_tok.get_vocab(), draft_tok.get_vocab()
    if main_vocab == draft_vocab:
        return
    if len(main_vocab) != len(draft_vocab):
        detail = f"{main_name} has {len(main_vocab):,} tokens, {draft_name} {len(draft_vocab):,}"
    else:
        token, index = next(
            (t, i)
            for t, i in sorted(main_vocab.items(), key=lambda kv: kv[1])
            if draft_vocab.get(t) != i
        )
        other = draft_vocab.get(token)
        where = f"id {other}" if other is not None else "missing"
        detail = f"token {token!r} is id {index} in {main_name} but {where} in {draft_name}"
    raise EngineError(
        f"The draft and main model use different tokenizers: {detail}.",
        "Pick a draft from the same family (a smaller size of the same model), "
        "or use prompt lookup.",
    )


def _vocab_size(model: Any) -> int | None:
    config = model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return getattr(text, "vocab_size", None)


def _parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def moe_note(model: Any) -> str | None:
    """The MoE caveat when the chat model routes tokens to experts."""
    try:
        cfg = model.config.to_dict()
    except Exception:  # noqa: BLE001 - a config that cannot be dumped is not MoE-checked
        return None
    return MOE_ASSISTED_GENERATION_NOTE if moe_from_config(cfg) is not None else None


def build_assistant(
    draft: str,
    main_model: Any,
    main_tokenizer: Any,
    main_name: str,
    load_pair: Callable[[LoadSpec], tuple[Any, Any, str]],
    spec: LoadSpec,
) -> Assistant:
    """Prompt lookup, or load the draft with `load_pair(spec)` -> (tokenizer, model, name) and
    check it can assist `main_model`. `spec` carries dtype/device/trust settings for the draft.
    Raises EngineError (with a hint) for a draft that cannot work."""
    notes = [n for n in (moe_note(main_model),) if n]
    if draft.strip().lower() in (PROMPT_LOOKUP, PROMPT_LOOKUP_NAME, "prompt_lookup"):
        meter = AcceptanceMeter(main_model)
        return Assistant("prompt-lookup", PROMPT_LOOKUP_NAME, meter, note=_join(notes))
    draft_tok, draft_model, name = load_pair(replace(spec, model=draft, quantize=None, draft=None))
    check_same_tokenizer(main_tokenizer, draft_tok, main_name, name)
    draft_model.eval()
    tokenizers = None
    if _vocab_size(draft_model) != _vocab_size(main_model):
        tokenizers = (main_tokenizer, draft_tok)
        notes.append(PADDED_VOCAB_SAMPLING_NOTE)
    if _parameters(draft_model) >= _parameters(main_model):
        notes.append(DRAFT_NOT_SMALLER_NOTE)
    meter = AcceptanceMeter(main_model)
    return Assistant("model", name, meter, draft_model, tokenizers, note=_join(notes))


def _join(notes: Iterable[str]) -> str | None:
    text = " ".join(notes)
    return text or None


# Loads a draft (tokenizer, model, short name) by a spec, the way the backend loads models.
LoadDraft = Callable[[LoadSpec, ProgressFn], "tuple[Any, Any, str]"]


class DraftSlot:
    """The draft in use by one backend, and the figures it produced. The backend holds one
    and calls it at four points: `prepare` in load (before the new model replaces the old one,
    so a draft that fails leaves the old model working), `install` after, `generate_kwargs`
    for each reply, and `reply_done` once a reply ended."""

    def __init__(self, load_draft: LoadDraft) -> None:
        self._load_draft = load_draft
        self.assistant: Assistant | None = None
        self.last_assist: AssistStats | None = None  # the last assisted reply's figures
        self.plain_tps: float | None = None  # the last plain reply's decode tok/s

    def prepare(
        self,
        spec: LoadSpec,
        model: Any,
        tokenizer: Any,
        name: str,
        device: str,
        dtype: str,
        report: ProgressFn,
    ) -> Assistant | None:
        """The assistant `spec.draft` asks for, for a model not yet installed; None for none.
        The draft goes on the chat model's (first) device in the same dtype: a draft on
        another device would pay a copy per proposed token."""
        if not spec.draft:
            return None
        first_device = str(getattr(model, "device", device))
        draft_spec = replace(spec, device=first_device, dtype=dtype)
        return build_assistant(
            spec.draft,
            model,
            tokenizer,
            name,
            lambda s: self._load_draft(s, report),
            draft_spec,
        )

    def install(self, assistant: Assistant | None, new_model: bool = True) -> None:
        """Swap in `assistant` (None: plain decoding). `new_model`: the chat model changed too,
        so the plain speed measured on the old one no longer compares."""
        old, self.assistant = self.assistant, assistant
        if old is not None:
            old.close()
        self.last_assist = None
        if new_model:
            self.plain_tps = None

    def generate_kwargs(self, settings: GenerationSettings, prompt_tokens: int) -> dict[str, Any]:
        """Arguments for `generate`; arms the meter when this reply is assisted."""
        assistant = self.assistant
        if assistant is None:
            return {}
        kwargs = assistant.generate_kwargs(settings)
        if kwargs:
            assistant.meter.start(prompt_tokens)
        return kwargs

    def reply_done(self, stats: ReplyStats) -> None:
        """Fill `stats.accepted_rate` and `last_assist`, or remember a plain reply's speed."""
        assistant = self.assistant
        result = assistant.meter.stop(stats.new_tokens) if assistant is not None else None
        if result is None:
            if stats.decode_tps and stats.new_tokens >= MIN_PLAIN_TOKENS:
                self.plain_tps = stats.decode_tps
            return
        if stats.decode_tps and self.plain_tps:
            result = replace(result, speedup=stats.decode_tps / self.plain_tps)
        stats.accepted_rate = result.accepted_rate
        self.last_assist = result


@dataclass(frozen=True)
class SpeedComparison:
    """One prompt answered plainly and assisted, greedy, same length: the honest A/B."""

    plain_text: str
    assisted_text: str
    plain_tps: float | None
    assisted_tps: float | None
    assist: AssistStats | None

    @property
    def same_text(self) -> bool:
        return self.plain_text == self.assisted_text

    @property
    def speedup(self) -> float | None:
        if self.plain_tps and self.assisted_tps:
            return self.assisted_tps / self.plain_tps
        return None


def compare_speed(
    backend: Any,
    messages: list[dict[str, str]],
    max_new_tokens: int = 64,
) -> SpeedComparison:
    """Answer `messages` greedily without and then with the backend's assistant and compare
    tok/s. Blocking (two replies): for a "measure speed-up" command and the benchmarks. Greedy
    because only then must both texts be identical, which this also checks."""
    drafts = backend.drafts
    if drafts.assistant is None:
        raise EngineError("No draft is in use.", "Pick a draft model or prompt lookup first.")
    settings = GenerationSettings(max_new_tokens=max_new_tokens, do_sample=False)
    saved = drafts.assistant
    drafts.assistant = None
    try:
        plain = backend.stream(messages, settings, threading.Event())
        plain_text = "".join(plain)
    finally:
        drafts.assistant = saved
    assisted = backend.stream(messages, settings, threading.Event())
    assisted_text = "".join(assisted)
    return SpeedComparison(
        plain_text,
        assisted_text,
        plain.stats.decode_tps,
        assisted.stats.decode_tps,
        drafts.last_assist,
    )
