"""Tiny random-weight models in the shape of each chat-model family, built by the tests.

Each family gets a byte-level tokenizer (any text round-trips) with that family's special
tokens, a chat template written here in the shape the family's model card and tokenizer_config
document, a generation_config.json with the family's recommended sampling values and
end-of-turn ids, and a 2-layer model of the family's own architecture where transformers has
a small config for it. Nothing is downloaded: templates are our own transcriptions, kept short
(no tools, no images), and the weights are random. The replies a test wants to see are
scripted as token ids (`script_ids`) and fed through the real backend's streamer.

`FAMILIES` lists them; `build_family(name, folder)` writes one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LLAMA3 = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)

QWEN25 = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message.role == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Qwen3: thinking kept only for the turn after the last user message (read from
# reasoning_content, or split out of the content); enable_thinking=False writes an empty block.
QWEN3 = (
    "{%- if messages[0].role == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- set ns = namespace(last_query_index=0) %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' %}{%- set ns.last_query_index = loop.index0 %}{%- endif %}"
    "{%- endfor %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'assistant' %}"
    "{%- set content = message.content %}"
    "{%- set reasoning_content = '' %}"
    "{%- if message.reasoning_content is string %}"
    "{%- set reasoning_content = message.reasoning_content %}"
    "{%- elif '</think>' in content %}"
    "{%- set reasoning_content = content.split('</think>')[0].rstrip('\\n')"
    ".split('<think>')[-1].lstrip('\\n') %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}"
    "{%- endif %}"
    "{%- if loop.index0 > ns.last_query_index and (loop.last or reasoning_content) %}"
    "{{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + "
    "'\\n</think>\\n\\n' + content.lstrip('\\n') }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message.role + '\\n' + content }}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)

# DeepSeek-R1 distills: the system prompt right after BOS, earlier answers without their
# thinking, and the generation prompt opening <think>.
DEEPSEEK_R1 = (
    "{%- set ns = namespace(system_prompt='') %}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'system' %}{%- set ns.system_prompt = message['content'] %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{{- bos_token + ns.system_prompt }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{{- '<｜User｜>' + message['content'] }}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- set content = message['content'] %}"
    "{%- if '</think>' in content %}{%- set content = content.split('</think>')[-1] %}"
    "{%- endif %}"
    "{{- '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<｜Assistant｜><think>\\n' }}{%- endif %}"
)

# gpt-oss harmony: a system header tchat does not write, the user's system prompt as the
# developer message, earlier replies by their final channel; `thinking` is read for a last
# assistant turn being continued.
GPT_OSS = (
    "{{- '<|start|>system<|message|>You are ChatGPT, a large language model trained by "
    "OpenAI.\\nKnowledge cutoff: 2024-06\\n\\nReasoning: ' + (reasoning_effort | default("
    "'medium')) + '\\n\\n# Valid channels: analysis, commentary, final. Channel must be "
    "included for every message.<|end|>' }}"
    "{%- if messages[0].role == 'system' %}"
    "{{- '<|start|>developer<|message|># Instructions\\n\\n' + messages[0].content + "
    "'<|end|>' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' %}"
    "{{- '<|start|>user<|message|>' + message.content + '<|end|>' }}"
    "{%- elif message.role == 'assistant' %}"
    "{%- if loop.last and not add_generation_prompt and message.thinking is defined %}"
    "{{- '<|start|>assistant<|channel|>analysis<|message|>' + message.thinking + '<|end|>' }}"
    "{%- endif %}"
    "{{- '<|start|>assistant<|channel|>final<|message|>' + message.content + '<|end|>' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start|>assistant' }}{%- endif %}"
)

# Gemma 3: no system role; the template itself puts the system prompt at the top of the first
# user turn, as Gemma's documentation says. Replies are the "model" role.
GEMMA3 = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}"
    "{%- set first_user_prefix = '' %}"
    "{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('Conversation roles must alternate user/assistant/user/"
    "assistant/...') }}"
    "{%- endif %}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{- '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') + "
    "message['content'] | trim + '<end_of_turn>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}"
)

# Gemma 2: refuses a system message outright (tchat folds it in, the way Gemma 3 does).
GEMMA2 = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- raise_exception('System role not supported') }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{- '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}"
)

# Mistral Instruct v0.3: the system prompt joins the last user message; no generation prompt.
MISTRAL = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}"
    "{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{{- bos_token }}"
    "{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('After the optional system message, conversation roles must "
    "alternate user/assistant/user/assistant/...') }}"
    "{%- endif %}"
    "{%- if message['role'] == 'user' %}"
    "{%- if loop.last and system_message is defined %}"
    "{{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}"
    "{%- else %}"
    "{{- '[INST] ' + message['content'] + '[/INST]' }}"
    "{%- endif %}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- ' ' + message['content'] + eos_token }}"
    "{%- endif %}"
    "{%- endfor %}"
)

# Phi-3.5-mini-instruct.
PHI3 = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'system' and message['content'] %}"
    "{{- '<|system|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{%- elif message['role'] == 'user' %}"
    "{{- '<|user|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- '<|assistant|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|assistant|>\\n' }}{%- else %}{{- eos_token }}"
    "{%- endif %}"
)

# SmolLM3: the reasoning mode read from /think or /no_think in the system prompt.
SMOLLM3 = (
    "{%- set reasoning_mode = '/think' %}"
    "{%- set custom = 'You are a helpful AI assistant named SmolLM, trained by Hugging Face.' %}"
    "{%- if messages[0].role == 'system' %}"
    "{%- if '/no_think' in messages[0].content %}{%- set reasoning_mode = '/no_think' %}"
    "{%- elif '/think' in messages[0].content %}{%- set reasoning_mode = '/think' %}"
    "{%- endif %}"
    "{%- set custom = messages[0].content.replace('/no_think', '').replace('/think', '')"
    ".strip() %}"
    "{%- endif %}"
    "{{- '<|im_start|>system\\n## Metadata\\n\\nReasoning Mode: ' + reasoning_mode + "
    "'\\n\\n## Custom Instructions\\n\\n' + custom + '\\n\\n<|im_end|>\\n' }}"
    "{%- for message in messages %}"
    "{%- if message.role != 'system' %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{%- if reasoning_mode == '/think' %}{{- '<|im_start|>assistant\\n' }}"
    "{%- else %}{{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n' }}{%- endif %}"
    "{%- endif %}"
)


@dataclass(frozen=True)
class Family:
    """One family's tokenizer, template, generation config and architecture."""

    name: str
    template: str
    specials: tuple[str, ...]  # special tokens (skipped when decoding)
    bos: str | None
    eos: str  # the tokenizer's eos_token
    pad: str
    end_of_turn: tuple[str, ...]  # generation_config eos_token_id, by token
    sampling: dict[str, Any] = field(default_factory=dict)  # generation_config values
    plain_added: tuple[str, ...] = ()  # added tokens that are not special (<think>)
    arch: str = "llama"
    # A reply as the family writes it, and how tchat should show it: (thinking, answer).
    reply: str = ""
    shown: tuple[str, str] = ("", "")


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family(
            "llama3",
            LLAMA3,
            (
                "<|begin_of_text|>",
                "<|end_of_text|>",
                "<|start_header_id|>",
                "<|end_header_id|>",
                "<|eot_id|>",
            ),
            bos="<|begin_of_text|>",
            eos="<|end_of_text|>",  # as first shipped: only generation_config knows <|eot_id|>
            pad="<|end_of_text|>",
            end_of_turn=("<|end_of_text|>", "<|eot_id|>"),
            sampling={"do_sample": True, "temperature": 0.6, "top_p": 0.9},
            reply="Hello! How can I help you today?<|eot_id|>",
            shown=("", "Hello! How can I help you today?"),
        ),
        Family(
            "qwen2.5",
            QWEN25,
            ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
            bos=None,
            eos="<|im_end|>",
            pad="<|endoftext|>",
            end_of_turn=("<|im_end|>", "<|endoftext|>"),
            sampling={
                "do_sample": True,
                "repetition_penalty": 1.05,
                "temperature": 0.7,
                "top_p": 0.8,
                "top_k": 20,
            },
            arch="qwen2",
            reply="Hi! I'm Qwen.<|im_end|>",
            shown=("", "Hi! I'm Qwen."),
        ),
        Family(
            "qwen3",
            QWEN3,
            ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
            bos=None,
            eos="<|im_end|>",
            pad="<|endoftext|>",
            end_of_turn=("<|im_end|>", "<|endoftext|>"),
            sampling={"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20},
            plain_added=("<think>", "</think>"),
            arch="qwen3",
            reply="<think>\nThe user said hello. Greet back.\n</think>\n\nHello there!<|im_end|>",
            shown=("The user said hello. Greet back.", "Hello there!"),
        ),
        Family(
            "deepseek-r1-distill",
            DEEPSEEK_R1,
            ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"),
            bos="<｜begin▁of▁sentence｜>",
            eos="<｜end▁of▁sentence｜>",
            pad="<｜end▁of▁sentence｜>",
            end_of_turn=("<｜end▁of▁sentence｜>",),
            sampling={"do_sample": True, "temperature": 0.6, "top_p": 0.95},
            plain_added=("<think>", "</think>"),
            arch="qwen2",
            reply="Okay, a greeting. Keep it short.\n</think>\n\nHi!<｜end▁of▁sentence｜>",
            shown=("Okay, a greeting. Keep it short.", "Hi!"),
        ),
        Family(
            "gpt-oss",
            GPT_OSS,
            (
                "<|startoftext|>",
                "<|endoftext|>",
                "<|start|>",
                "<|end|>",
                "<|message|>",
                "<|channel|>",
                "<|constrain|>",
                "<|return|>",
                "<|call|>",
            ),
            bos="<|startoftext|>",
            eos="<|return|>",
            pad="<|endoftext|>",
            end_of_turn=("<|return|>", "<|endoftext|>", "<|call|>"),
            sampling={"do_sample": True},
            arch="gpt_oss",
            reply="<|channel|>analysis<|message|>User greets. Reply politely.<|end|><|start|>"
            "assistant<|channel|>final<|message|>Hello! **How** can I help?<|return|>",
            shown=("User greets. Reply politely.", "Hello! **How** can I help?"),
        ),
        Family(
            "gemma3",
            GEMMA3,
            ("<bos>", "<eos>", "<pad>", "<start_of_turn>", "<end_of_turn>"),
            bos="<bos>",
            eos="<eos>",
            pad="<pad>",
            end_of_turn=("<eos>", "<end_of_turn>"),
            sampling={"do_sample": True, "top_k": 64, "top_p": 0.95},
            arch="gemma3_text",
            reply="Hello from Gemma.<end_of_turn>",
            shown=("", "Hello from Gemma."),
        ),
        Family(
            "gemma2",
            GEMMA2,
            ("<bos>", "<eos>", "<pad>", "<start_of_turn>", "<end_of_turn>"),
            bos="<bos>",
            eos="<eos>",
            pad="<pad>",
            end_of_turn=("<eos>", "<end_of_turn>"),
            reply="Hello from Gemma 2.<end_of_turn>",
            shown=("", "Hello from Gemma 2."),
        ),
        Family(
            "mistral",
            MISTRAL,
            ("<s>", "</s>", "[INST]", "[/INST]"),
            bos="<s>",
            eos="</s>",
            pad="</s>",
            end_of_turn=("</s>",),
            arch="mistral",
            reply=" Bonjour! Ask away.</s>",
            shown=("", " Bonjour! Ask away."),
        ),
        Family(
            "phi3",
            PHI3,
            ("<s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"),
            bos="<s>",
            eos="<|endoftext|>",
            pad="<|endoftext|>",
            end_of_turn=("<|endoftext|>", "<|assistant|>", "<|end|>"),
            arch="phi3",
            reply="Hello from Phi.<|end|>",
            shown=("", "Hello from Phi."),
        ),
        Family(
            "smollm3",
            SMOLLM3,
            ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
            bos=None,
            eos="<|im_end|>",
            pad="<|endoftext|>",
            end_of_turn=("<|im_end|>",),
            sampling={"do_sample": True, "temperature": 0.6, "top_p": 0.95},
            plain_added=("<think>", "</think>"),
            reply="<think>\nA hello. Answer.\n</think>\nHello!<|im_end|>",
            shown=("A hello. Answer.", "Hello!"),
        ),
    ]
}


def build_tokenizer(family: Family):  # noqa: ANN201
    """A byte-level tokenizer with the family's special tokens, template and eos/bos/pad."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in family.specials]
    )
    if family.plain_added:
        core.add_tokens(
            [AddedToken(t, special=False, normalized=False) for t in family.plain_added]
        )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=family.eos,
        pad_token=family.pad,
        bos_token=family.bos,
    )
    tok.chat_template = family.template
    return tok


def _config(family: Family, tok: Any) -> Any:
    import transformers

    ids = {t: tok.convert_tokens_to_ids(t) for t in (*family.specials, *family.plain_added)}
    common: dict[str, Any] = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=4096,
        eos_token_id=ids[family.eos],
        pad_token_id=ids[family.pad],
        bos_token_id=ids[family.bos] if family.bos else None,
        tie_word_embeddings=False,
    )
    extra: dict[str, Any] = {
        "llama": {},
        "qwen2": {},
        "qwen3": {},
        "mistral": {"sliding_window": None},
        "phi3": {},
        "gemma3_text": {"sliding_window": 64, "query_pre_attn_scalar": 8},
        "gpt_oss": {
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "sliding_window": 64,
            "intermediate_size": 32,
        },
    }[family.arch]
    try:
        return transformers.AutoConfig.for_model(family.arch, **{**common, **extra})
    except Exception:  # noqa: BLE001 - an architecture this transformers cannot make small
        return transformers.LlamaConfig(**common)


def build_family(name: str, folder: Path) -> Path:
    """Write the family's tiny model, tokenizer and generation_config.json to `folder`."""
    import torch
    from transformers import AutoModelForCausalLM

    family = FAMILIES[name]
    tok = build_tokenizer(family)
    config = _config(family, tok)
    torch.manual_seed(0)
    try:
        model = AutoModelForCausalLM.from_config(config)
    except Exception:  # noqa: BLE001 - fall back to Llama: the template is what is tested
        import transformers

        model = AutoModelForCausalLM.from_config(
            transformers.LlamaConfig(
                **{
                    k: getattr(config, k)
                    for k in (
                        "vocab_size",
                        "hidden_size",
                        "intermediate_size",
                        "num_hidden_layers",
                        "num_attention_heads",
                        "num_key_value_heads",
                        "max_position_embeddings",
                        "eos_token_id",
                        "pad_token_id",
                        "bos_token_id",
                    )
                }
            )
        )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    generation = {
        "eos_token_id": [tok.convert_tokens_to_ids(t) for t in family.end_of_turn],
        "pad_token_id": tok.convert_tokens_to_ids(family.pad),
        **family.sampling,
    }
    if family.bos:
        generation["bos_token_id"] = tok.convert_tokens_to_ids(family.bos)
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2), "utf-8")
    return folder


def script_ids(tokenizer: Any, text: str) -> list[int]:
    """`text` (with the family's special tokens written out) as the ids a model emits."""
    return list(tokenizer.encode(text, add_special_tokens=False))
