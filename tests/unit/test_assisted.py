"""Assisted generation on tiny models the tests build: a draft model or prompt lookup must never
change a greedy reply, its acceptance must be measured, and a draft that cannot work must be
refused with a message that says what to pick instead."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.helpers.tiny_models import CHATML, build_model, build_tokenizer
from tui.engine.assisted import (
    DRAFT_NOT_SMALLER_NOTE,
    PADDED_VOCAB_SAMPLING_NOTE,
    PROMPT_LOOKUP,
    AcceptanceMeter,
    compare_speed,
)
from tui.engine.backend import EngineError, LoadSpec
from tui.engine.transformers_backend import TransformersBackend
from tui.models.estimates import MOE_ASSISTED_GENERATION_NOTE
from tui.store.codec import session_from_dict, session_to_dict
from tui.store.session import GenerationSettings, Message, ReplyStats, Session

# Repetitive on purpose: prompt lookup needs n-grams to copy.
CHAT = [{"role": "user", "content": "one two three, one two three, one two three"}]


def _save_llama(folder: Path, tokenizer, *, seed: int, vocab_size: int | None = None) -> Path:  # noqa: ANN001
    """A 1-layer Llama smaller than the main tiny model, saved with `tokenizer`."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(
        vocab_size=vocab_size or len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _other_tokenizer():  # noqa: ANN202
    """Same size as the byte tokenizer, different ids: the specials come first."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "</s>", "<pad>"]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[ch] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="</s>", pad_token="<pad>", bos_token="<s>"
    )
    tok.chat_template = CHATML
    return tok


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drafts")
    return {
        "small": _save_llama(root / "small-draft", build_tokenizer(), seed=1),
        "padded": _save_llama(root / "padded-draft", build_tokenizer(), seed=2, vocab_size=320),
        "foreign": _save_llama(root / "foreign-draft", _other_tokenizer(), seed=3),
        "moe": build_model(root / "tiny-mixtral", moe=True),
    }


def _greedy(n: int = 40) -> GenerationSettings:
    return GenerationSettings(max_new_tokens=n, do_sample=False)


def test_a_draft_model_never_changes_a_greedy_reply(tiny_model: Path, drafts) -> None:  # noqa: ANN001
    """The correctness property of speculative decoding: the model checks every token."""
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model), draft=str(drafts["small"])))
    assert info.draft == "small-draft" and info.draft_note is None
    result = compare_speed(backend, CHAT, max_new_tokens=40)
    assert result.same_text and result.plain_text
    assist = result.assist
    assert assist is not None and assist.new_tokens == 40
    # Every forward keeps the accepted drafts plus one token of the model's own.
    assert assist.steps + assist.accepted == assist.new_tokens
    assert 0 <= assist.accepted <= assist.drafted
    assert assist.speedup is not None and assist.speedup > 0


def test_a_draft_identical_to_the_model_is_always_accepted(tiny_model: Path) -> None:
    """The meter's arithmetic checked against the one case whose answer is known: a draft with
    the model's own weights proposes exactly what the model would pick."""
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model), draft=str(tiny_model)))
    assert info.draft_note == DRAFT_NOT_SMALLER_NOTE
    reply = backend.stream(CHAT, _greedy(30), threading.Event())
    "".join(reply)
    assert reply.stats.accepted_rate == 1.0
    assert backend.drafts.last_assist is not None
    assert backend.drafts.last_assist.tokens_per_step > 1.0
    assert backend.drafts.last_assist.steps < reply.stats.new_tokens


def test_prompt_lookup_never_changes_a_greedy_reply(tiny_model: Path) -> None:
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model), draft=PROMPT_LOOKUP))
    assert info.draft == "prompt lookup"
    result = compare_speed(backend, CHAT, max_new_tokens=40)
    assert result.same_text
    assist = result.assist
    assert assist is not None
    assert assist.steps + assist.accepted == assist.new_tokens == 40


def test_sampled_replies_work_with_a_draft(tiny_model: Path, drafts) -> None:  # noqa: ANN001
    backend = TransformersBackend()
    backend.load(LoadSpec(model=str(tiny_model), draft=str(drafts["small"])))
    settings = GenerationSettings(max_new_tokens=12, do_sample=True, seed=5, temperature=1.0)
    first = backend.stream(CHAT, settings, threading.Event())
    text = "".join(first)
    assert first.error is None and first.stats.new_tokens == 12
    assert text == "".join(backend.stream(CHAT, settings, threading.Event()))  # seeded


def test_a_draft_with_another_tokenizer_is_refused_and_the_old_model_stays(
    tiny_model: Path,
    drafts,  # noqa: ANN001
) -> None:
    backend = TransformersBackend()
    backend.load(LoadSpec(model=str(tiny_model)))
    old_model = backend.model
    with pytest.raises(EngineError) as err:
        backend.load(LoadSpec(model=str(tiny_model), draft=str(drafts["foreign"])))
    assert "different tokenizers" in err.value.message
    assert "'<s>'" in err.value.message or "id" in err.value.message
    assert "same family" in err.value.hint and "prompt lookup" in err.value.hint
    # A failed load leaves the previous model in place and working.
    assert backend.model is old_model and backend.drafts.assistant is None
    reply = backend.stream(CHAT, _greedy(4), threading.Event())
    assert "".join(reply) and reply.error is None


def test_a_padded_vocabulary_is_used_for_greedy_and_skipped_for_sampling(
    tiny_model: Path,
    drafts,  # noqa: ANN001
) -> None:
    """Same tokens, embedding padded to another size (Qwen2.5 0.5B vs 7B): transformers needs
    both tokenizers, and only its greedy path works."""
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(tiny_model), draft=str(drafts["padded"])))
    assert info.draft_note == PADDED_VOCAB_SAMPLING_NOTE
    result = compare_speed(backend, CHAT, max_new_tokens=20)
    assert result.same_text and result.assist is not None
    sampled = backend.stream(CHAT, GenerationSettings(max_new_tokens=6, seed=1), threading.Event())
    assert "".join(sampled) and sampled.error is None
    assert sampled.stats.accepted_rate is None  # decoded without the draft


def test_moe_models_get_the_assisted_generation_warning(drafts) -> None:  # noqa: ANN001
    backend = TransformersBackend()
    info = backend.load(LoadSpec(model=str(drafts["moe"]), draft=PROMPT_LOOKUP))
    assert info.draft_note == MOE_ASSISTED_GENERATION_NOTE


def test_set_draft_switches_without_reloading_the_model(tiny_model: Path) -> None:
    backend = TransformersBackend()
    backend.load(LoadSpec(model=str(tiny_model)))
    model = backend.model
    assert backend.set_draft(PROMPT_LOOKUP).draft == "prompt lookup"
    reply = backend.stream(CHAT, _greedy(10), threading.Event())
    "".join(reply)
    assert backend.drafts.last_assist is not None
    info = backend.set_draft(None)
    assert info.draft is None and backend.drafts.assistant is None and backend.model is model
    plain = backend.stream(CHAT, _greedy(10), threading.Event())
    "".join(plain)
    assert plain.stats.accepted_rate is None


def test_set_draft_needs_a_loaded_model() -> None:
    with pytest.raises(EngineError, match="No model is loaded"):
        TransformersBackend().set_draft(PROMPT_LOOKUP)


def test_the_meter_counts_forwards_and_positions() -> None:
    """Prompt of 5, then: forward over prompt+2 drafts (1 kept + bonus), forward over bonus+3
    drafts (3 kept + bonus) -> 6 new tokens in 2 steps, 5 drafted, 4 accepted."""
    import torch

    class Echo(torch.nn.Module):
        def forward(self, input_ids=None):  # noqa: ANN001, ANN202
            return input_ids

    model = Echo()
    meter = AcceptanceMeter(model)
    model(input_ids=torch.zeros(1, 3))  # not armed: ignored
    meter.start(prompt_tokens=5)
    model(input_ids=torch.zeros(1, 7))
    model(input_ids=torch.zeros(1, 4))
    stats = meter.stop(new_tokens=6)
    assert stats is not None
    assert (stats.steps, stats.drafted, stats.accepted) == (2, 5, 4)
    assert stats.accepted_rate == pytest.approx(0.8) and stats.tokens_per_step == 3.0
    assert "accepted 80%" in stats.summary()
    meter.close()
    assert meter.stop(new_tokens=1) is None


def test_accepted_rate_is_saved_with_the_reply() -> None:
    session = Session()
    session.messages.append(
        Message("assistant", "hi", stats=ReplyStats(new_tokens=2, accepted_rate=0.625))
    )
    back = session_from_dict(session_to_dict(session))
    assert back.messages[0].stats is not None
    assert back.messages[0].stats.accepted_rate == 0.625
    plain = Session()
    plain.messages.append(Message("assistant", "hi", stats=ReplyStats(new_tokens=2)))
    stats = session_to_dict(plain)["messages"][0]["stats"]
    assert "accepted_rate" not in stats  # optional: plain replies do not carry it
