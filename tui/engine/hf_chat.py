"""A transformers tokenizer's chat template as tchat uses it: prompts with the chat's thinking
switch, continuation, the special tokens a reasoning format needs in the decoded text, and the
ids that end a turn.

Kept out of transformers_backend.py so the backend stays about loading and generating. The
tokenizer is any transformers tokenizer; nothing here imports torch (tensors come back from
the tokenizer itself).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from tui.engine import chat_format, generation_defaults
from tui.engine.chat_format import ChatFormat

Messages = list[dict[str, str]]

# Special tokens a reply's reasoning is written with: kept when decoding, so the chat core's
# parser can see where thinking ends (harmony's channel markers are special tokens in the
# gpt-oss tokenizer; some tokenizers mark <think> special too).
REASONING_MARKERS = (
    "<think>",
    "</think>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|constrain|>",
    "<|return|>",
    "<|call|>",
)


def _render(tokenizer: Any, messages: Messages, **kwargs: Any) -> str:
    return tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False, **kwargs
    )


def detect(tokenizer: Any) -> ChatFormat:
    """The template's format (chat_format.py), from its source and probe renders."""
    source = tokenizer.chat_template
    if not isinstance(source, str):  # a dict of named templates: the default one
        source = (source or {}).get("default", "") if isinstance(source, dict) else ""
    return chat_format.detect(source, partial(_render, tokenizer))


def render(
    tokenizer: Any, messages: Messages, fmt: ChatFormat | None, thinking: bool | None
) -> str:
    """The prompt text for a new reply (the prompt inspector's text)."""
    messages, kwargs = chat_format.template_inputs(messages, fmt, thinking)
    return _render(tokenizer, messages, **kwargs)


def encode(
    tokenizer: Any,
    messages: Messages,
    fmt: ChatFormat | None,
    thinking: bool | None,
    continue_final: bool = False,
) -> Any:
    """Token ids (a BatchEncoding of tensors). With `continue_final`, the last message is an
    unfinished reply. For a reasoning template it is the prompt up to a new reply, then the
    reply's text exactly as it stands (the chat core wrote its thinking back in the model's
    own shape): those templates rewrite a final assistant turn (Qwen3 adds an empty think
    block to it). Other templates continue their own final turn, as transformers does."""
    messages, kwargs = chat_format.template_inputs(messages, fmt, thinking)
    raw = fmt is not None and fmt.thinks
    if continue_final and raw and messages and messages[-1]["role"] == "assistant":
        head = _render(tokenizer, messages[:-1], **kwargs)
        return tokenizer(
            head + messages[-1]["content"], add_special_tokens=False, return_tensors="pt"
        )
    return tokenizer.apply_chat_template(
        messages,
        add_generation_prompt=not continue_final,
        continue_final_message=continue_final,
        return_tensors="pt",
        return_dict=True,
        **kwargs,
    )


def dropped_specials(tokenizer: Any, fmt: ChatFormat | None) -> frozenset[int] | None:
    """The special token ids to leave out of the decoded reply when its reasoning markers are
    special tokens (then the text is decoded with specials kept, minus these); None when the
    markers are plain text and decoding can skip every special token as usual."""
    if fmt is None or not fmt.thinks:
        return None
    special: set[int] = set(getattr(tokenizer, "all_special_ids", []) or [])
    decoder = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    special |= {i for i, tok in decoder.items() if getattr(tok, "special", False)}
    markers = {
        i for i, tok in decoder.items() if getattr(tok, "content", str(tok)) in REASONING_MARKERS
    }
    if not markers & special:
        return None
    return frozenset(special - markers)


def end_ids(tokenizer: Any, model_config: Any, fmt: ChatFormat | None) -> list[int]:
    """Every id that ends a turn: the generation config's (one or several: Llama 3's
    <|eot_id|>, gpt-oss's <|return|> and <|call|>), the tokenizer's eos, and for harmony its
    two turn-ending tokens even where a config forgot them."""
    more: list[int] = []
    if fmt is not None and fmt.reasoning == "harmony":
        vocab = tokenizer.get_vocab()
        more = [vocab[t] for t in ("<|return|>", "<|call|>") if t in vocab]
    eos = getattr(model_config, "eos_token_id", None)
    return generation_defaults.end_ids({"eos_token_id": eos}, tokenizer.eos_token_id, more)
