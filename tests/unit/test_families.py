"""Every major chat-model family, with a tiny random model of its shape (tests/helpers/
family_models.py) behind the real Transformers backend and the chat core.

What a user of each family notices: the prompt is the one the family documents (a system
prompt on a template without a system role folded in the family's way), a reply in the
family's own output shape shows its thinking apart and a clean answer (gpt-oss decoded from
token ids with its channel markers), the model's recommended sampling values are used unless
the user set others, every end-of-turn id stops a reply, the thinking switch reaches the
template where there is one, and a reply that ran out while thinking carries on thinking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers.family_models import FAMILIES, build_family, script_ids
from tui.chat import Chat, ran_out_while_thinking
from tui.engine.backend import LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.store.session import GenerationSettings, Message, Session

SYSTEM, FIRST, REPLY, SECOND = "Be brief.", "hello", "Hi.", "And you?"
CHAT = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": FIRST},
    {"role": "assistant", "content": REPLY},
    {"role": "user", "content": SECOND},
]

# What each family's documentation gives for CHAT (a system prompt, two user turns).
PROMPTS = {
    "llama3": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|><|start_header_id|>assistant"
    "<|end_header_id|>\n\nHi.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd you?"
    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "qwen2.5": "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n"
    "<|im_start|>assistant\nHi.<|im_end|>\n<|im_start|>user\nAnd you?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "qwen3": "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n"
    "<|im_start|>assistant\nHi.<|im_end|>\n<|im_start|>user\nAnd you?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "deepseek-r1-distill": "<｜begin▁of▁sentence｜>Be brief.<｜User｜>hello<｜Assistant｜>Hi."
    "<｜end▁of▁sentence｜><｜User｜>And you?<｜Assistant｜><think>\n",
    "gpt-oss": "<|start|>system<|message|>You are ChatGPT, a large language model trained by "
    "OpenAI.\nKnowledge cutoff: 2024-06\n\nReasoning: medium\n\n# Valid channels: analysis, "
    "commentary, final. Channel must be included for every message.<|end|><|start|>developer"
    "<|message|># Instructions\n\nBe brief.<|end|><|start|>user<|message|>hello<|end|><|start|>"
    "assistant<|channel|>final<|message|>Hi.<|end|><|start|>user<|message|>And you?<|end|>"
    "<|start|>assistant",
    # No system role: the system prompt opens the first user turn (Gemma's documented way).
    "gemma3": "<bos><start_of_turn>user\nBe brief.\n\nhello<end_of_turn>\n<start_of_turn>model\n"
    "Hi.<end_of_turn>\n<start_of_turn>user\nAnd you?<end_of_turn>\n<start_of_turn>model\n",
    # Gemma 2's template refuses a system message: tchat folds it in the same way.
    "gemma2": "<bos><start_of_turn>user\nBe brief.\n\nhello<end_of_turn>\n<start_of_turn>model\n"
    "Hi.<end_of_turn>\n<start_of_turn>user\nAnd you?<end_of_turn>\n<start_of_turn>model\n",
    # Mistral v0.3: the system prompt joins the last user message.
    "mistral": "<s>[INST] hello[/INST] Hi.</s>[INST] Be brief.\n\nAnd you?[/INST]",
    "phi3": "<|system|>\nBe brief.<|end|>\n<|user|>\nhello<|end|>\n<|assistant|>\nHi.<|end|>\n"
    "<|user|>\nAnd you?<|end|>\n<|assistant|>\n",
    "smollm3": "<|im_start|>system\n## Metadata\n\nReasoning Mode: /think\n\n## Custom "
    "Instructions\n\nBe brief.\n\n<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n"
    "<|im_start|>assistant\nHi.<|im_end|>\n<|im_start|>user\nAnd you?<|im_end|>\n"
    "<|im_start|>assistant\n",
}
NAMES = list(FAMILIES)


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: build_family(name, root / name) for name in NAMES}


def loaded(family_dirs: dict[str, Path], name: str) -> TransformersBackend:
    backend = TransformersBackend(fast="off")
    backend.load(LoadSpec(model=str(family_dirs[name]), device="cpu"))
    return backend


class Scripted:
    """Stands in for `model.generate`: emits scripted replies' token ids to the real
    streamer (stopping at max_new_tokens or an end-of-turn id, as generate does), and keeps
    what each call was given."""

    def __init__(self, backend: TransformersBackend, replies: list[str]) -> None:
        self.backend, self.replies = backend, list(replies)
        self.calls: list[dict[str, Any]] = []
        backend.model.generate = self

    def __call__(self, **kwargs: Any) -> None:
        import torch

        self.calls.append(kwargs)
        streamer, prompt = kwargs["streamer"], kwargs["input_ids"]
        streamer.put(prompt.cpu())
        stops = set(kwargs.get("eos_token_id") or [])
        for n, token in enumerate(script_ids(self.backend.tokenizer, self.replies.pop(0))):
            if n >= kwargs["max_new_tokens"]:
                break
            streamer.put(torch.tensor([token]))
            if token in stops:
                break
        streamer.end()

    def prompt_text(self, call: int = -1) -> str:
        ids = self.calls[call]["input_ids"][0].tolist()
        return self.backend.tokenizer.decode(ids, skip_special_tokens=False)


def answer(chat: Chat, text: str | None = None, carry: Message | None = None) -> Message:
    if text is not None:
        chat.send(text)
    reply = chat.continue_reply(carry) if carry else chat.start_reply()
    chat.launch()
    stream, _ = chat.open_stream(reply)
    for chunk in stream:
        chat.add_text(chunk)
    message = chat.finish(stream.stats, stream.error)
    assert message is not None
    return message


@pytest.mark.parametrize("name", NAMES)
def test_each_family_renders_the_prompt_its_documentation_gives(family_dirs, name) -> None:
    backend = loaded(family_dirs, name)
    assert backend.render_prompt(CHAT) == PROMPTS[name]
    assert backend.count_tokens(CHAT) == len(backend.token_ids(CHAT))


@pytest.mark.parametrize("name", NAMES)
def test_a_scripted_reply_in_each_familys_shape_shows_thinking_apart(family_dirs, name) -> None:
    family = FAMILIES[name]
    backend = loaded(family_dirs, name)
    scripted = Scripted(backend, [family.reply])
    chat = Chat(Session(system_prompt=SYSTEM), backend, lambda s: None)
    chat.model_info = backend.info
    message = answer(chat, FIRST)
    assert (message.thinking or "", message.content) == family.shown
    assert message.stats is not None and message.stats.stop_reason == "end_of_turn"
    if family.shown[0]:
        assert (
            message.stats.thinking_tokens
            and message.stats.thinking_tokens < message.stats.new_tokens
        )
    # Every end-of-turn id of the generation config is handed to generate.
    ends = {backend.tokenizer.convert_tokens_to_ids(t) for t in family.end_of_turn}
    assert ends <= set(scripted.calls[0]["eos_token_id"])


def test_gpt_oss_channels_and_a_tool_call_come_from_token_ids(family_dirs) -> None:
    backend = loaded(family_dirs, "gpt-oss")
    Scripted(
        backend,
        [
            "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant"
            "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
            '{"city":"Paris"}<|call|>'
        ],
    )
    chat = Chat(Session(), backend, lambda s: None)
    chat.model_info = backend.info
    message = answer(chat, "weather?")
    assert message.content == ""  # nothing was run, nothing answered
    assert message.thinking == (
        "Need the weather.\n\nTool call to functions.get_weather (not run: tchat runs no "
        'tools):\n{"city":"Paris"}'
    )
    assert message.stats is not None and message.stats.stop_reason == "end_of_turn"


def test_the_models_own_sampling_values_apply_unless_the_user_set_them(family_dirs) -> None:
    backend = loaded(family_dirs, "qwen3")
    chat = Chat(
        Session(settings_chosen=[]), backend, lambda s: None, config_settings={"top_p": 0.5}
    )
    chat.model_info = backend.info
    settings = chat.session.settings
    assert (settings.temperature, settings.top_k, settings.top_p) == (0.6, 20, 0.5)
    sources = chat.sampling.sources()
    assert sources["temperature"] == sources["top_k"] == "model"
    assert sources["top_p"] == "config" and sources["repetition_penalty"] == "tchat"
    chat.choose_settings(GenerationSettings(**{**vars(settings), "temperature": 0.9}))
    assert chat.sampling.sources()["temperature"] == "chat"
    # Another model: what the chat chose stays, the rest follow the new model.
    chat.model_info = loaded(family_dirs, "qwen2.5").info
    settings = chat.session.settings
    assert (settings.temperature, settings.top_k, settings.repetition_penalty) == (0.9, 20, 1.05)
    assert chat.session.settings_chosen == ["temperature"]
    scripted = Scripted(backend, ["Hi<|im_end|>"])
    chat.backend = backend
    answer(chat, "hi")
    assert scripted.calls[0]["temperature"] == 0.9 and scripted.calls[0]["top_p"] == 0.5


@pytest.mark.parametrize(
    ("name", "tail_on", "tail_off"),
    [
        ("qwen3", "<|im_start|>assistant\n", "<|im_start|>assistant\n<think>\n\n</think>\n\n"),
        ("smollm3", "Reasoning Mode: /think", "Reasoning Mode: /no_think"),
    ],
)
def test_the_thinking_switch_reaches_the_template(family_dirs, name, tail_on, tail_off) -> None:
    backend = loaded(family_dirs, name)
    fmt = backend.info.chat_format
    assert fmt is not None and fmt.switch is not None and fmt.thinks_by_default
    chat = Chat(Session(), backend, lambda s: None)
    chat.model_info = backend.info
    messages = [{"role": "user", "content": "hi"}]
    assert tail_on in backend.render_prompt(messages)
    chat.set_thinking(False)
    off = backend.render_prompt(messages)
    assert tail_off in off and (tail_on not in off or tail_on in tail_off)
    # With thinking off the prompt already closed the block: the reply is all answer.
    Scripted(backend, ["Straight answer.<|im_end|>"])
    message = answer(chat, "hi")
    assert (message.thinking, message.content) == (None, "Straight answer.")


@pytest.mark.parametrize("name", ["deepseek-r1-distill", "gpt-oss", "llama3"])
def test_models_that_cannot_switch_say_so(family_dirs, name) -> None:
    fmt = loaded(family_dirs, name).info.chat_format
    assert fmt is not None and fmt.switch is None
    assert {"deepseek-r1-distill": "opens <think>", "gpt-oss": "always reasons"}.get(
        name, "does not think"
    ) in fmt.note


@pytest.mark.parametrize("name", ["qwen3", "deepseek-r1-distill", "gpt-oss"])
def test_earlier_thinking_stays_out_of_later_prompts(family_dirs, name) -> None:
    family = FAMILIES[name]
    backend = loaded(family_dirs, name)
    scripted = Scripted(backend, [family.reply, family.reply])
    chat = Chat(Session(), backend, lambda s: None)
    chat.model_info = backend.info
    first = answer(chat, FIRST)
    answer(chat, SECOND)
    later = scripted.prompt_text()
    assert first.thinking and first.thinking not in later and first.content in later
    key = backend.info.chat_format.history_key
    sent = chat.prompt_messages()[1]
    assert sent.get(key or "none") == (first.thinking if key else None)  # passed where read


@pytest.mark.parametrize("name", ["qwen3", "deepseek-r1-distill", "gpt-oss"])
def test_out_of_tokens_while_thinking_is_said_and_continues_the_thinking(family_dirs, name) -> None:
    backend = loaded(family_dirs, name)
    opens = {
        "qwen3": "<think>\nStep one. Step two",
        "deepseek-r1-distill": "Step one. Step two",
        "gpt-oss": "<|channel|>analysis<|message|>Step one. Step two",
    }[name]
    rest = {
        "qwen3": " done.\n</think>\n\nAnswer.<|im_end|>",
        "deepseek-r1-distill": " done.\n</think>\n\nAnswer.<｜end▁of▁sentence｜>",
        "gpt-oss": " done.<|end|><|start|>assistant<|channel|>final<|message|>Answer.<|return|>",
    }[name]
    scripted = Scripted(backend, [opens, rest])
    budget = len(script_ids(backend.tokenizer, opens)) - 2  # runs out two tokens short
    session = Session(settings=GenerationSettings(max_new_tokens=budget))
    chat = Chat(session, backend, lambda s: None)
    chat.model_info = backend.info
    message = answer(chat, "think hard")
    assert message.content == "" and message.thinking and ran_out_while_thinking(message)
    chat.session.settings.max_new_tokens = 200
    again = answer(chat, carry=message)
    assert again is message and message.content == "Answer."
    assert message.thinking is not None and message.thinking.startswith("Step one.")
    assert message.thinking.endswith("done.")
    continued = scripted.prompt_text(1)
    marker = {
        "qwen3": "<think>\nStep one",
        "deepseek-r1-distill": "<think>\nStep one",
        "gpt-oss": "<|channel|>analysis<|message|>Step one",
    }[name]
    assert marker in continued and "</think>" not in continued.split(marker)[-1]


@pytest.mark.parametrize(("name", "stop"), [("llama3", "<|eot_id|>"), ("gpt-oss", "<|call|>")])
def test_every_end_of_turn_id_in_the_generation_config_stops_a_real_reply(
    family_dirs, name, stop
) -> None:
    """The real generate, with the model rigged to say `stop` first: one token, ended."""
    import torch

    backend = loaded(family_dirs, name)
    model = backend.model
    stop_id = backend.tokenizer.convert_tokens_to_ids(stop)
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[stop_id] = 10.0
    model.lm_head = head
    session = Session(settings=GenerationSettings(max_new_tokens=20, do_sample=False))
    chat = Chat(session, backend, lambda s: None)
    chat.model_info = backend.info
    message = answer(chat, "hi")
    assert message.stats is not None and message.stats.new_tokens == 1
    assert message.stats.stop_reason == "end_of_turn"  # not "length": it stopped at once
    assert stop not in message.content and stop not in (message.thinking or "")
