"""Tiny random chat models, built on disk by the tests: real Transformers code, no download.

A byte-level tokenizer (256 byte tokens + specials) handles any text; a 2-layer Llama (or a
Mixtral-style MoE) with a few thousand parameters generates in milliseconds. Replies are
gibberish, which is fine: the tests check plumbing, stats and stop reasons, not wisdom.
"""

from __future__ import annotations

from pathlib import Path

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tokenizer(chat_template: str | None = CHATML):  # noqa: ANN201
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    for tok in SPECIALS:
        vocab[tok] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token="<|im_start|>",
        additional_special_tokens=SPECIALS,
    )
    if chat_template:
        tok.chat_template = chat_template
    return tok


def build_model(
    folder: Path,
    *,
    moe: bool = False,
    chat_template: str | None = CHATML,
    intermediate_size: int = 64,
) -> Path:
    """Write a tiny random model + tokenizer to `folder` (created) and return it."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, MixtralConfig

    tok = build_tokenizer(chat_template)
    common = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=intermediate_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
    )
    config = (
        MixtralConfig(num_local_experts=4, num_experts_per_tok=2, **common)
        if moe
        else LlamaConfig(**common)
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
