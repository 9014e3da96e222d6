"""Thinking, sampling defaults and the thinking switch in the chat core, the one-shot mode and
the session file, with the scripted backend (no model, no Textual).

What a user notices: the thinking is kept apart from the answer in the chat and in the file;
`-p` prints only the answer (thinking to stderr with --show-thinking); the model's recommended
sampling values fill what neither the config file nor the chat set, and F5's choices stay the
chat's own across models and resumes; a batch of streamed text never mixes thinking and answer.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tui.chat import Chat
from tui.cli import parse_args
from tui.engine.backend import LoadSpec, Reply, Thinking
from tui.engine.chat_format import ChatFormat, fold_system, template_inputs
from tui.engine.fake import FakeBackend
from tui.engine.generation_defaults import end_ids, sampling_defaults
from tui.engine.pump import Pacer, pump
from tui.launch import LaunchConfig
from tui.oneshot import run_oneshot
from tui.store import SessionStore
from tui.store.codec import session_from_dict, session_to_dict
from tui.store.errors import SessionLoadError
from tui.store.session import GenerationSettings, Message, ReplyStats, Session

THOUGHT = "Two plus two.\nThat is four."
SCRIPT = f"<think>\n{THOUGHT}\n</think>\n\nIt is **4**."


def chat_on(backend: FakeBackend, session: Session | None = None, **kwargs: object) -> Chat:
    chat = Chat(session or Session(settings_chosen=[]), backend, lambda s: None, **kwargs)  # type: ignore[arg-type]
    chat.model_info = backend.load(LoadSpec(model="fake"))
    return chat


def answer(chat: Chat, text: str) -> Message:
    chat.send(text)
    reply = chat.start_reply()
    chat.launch()
    stream, _ = chat.open_stream(reply)
    for chunk in stream:
        chat.add_text(chunk)
    message = chat.finish(stream.stats, stream.error)
    assert message is not None
    return message


def test_thinking_is_kept_apart_and_left_out_of_the_next_prompt() -> None:
    backend = FakeBackend(script=SCRIPT)
    chat = chat_on(backend)
    first = answer(chat, "2+2?")
    assert (first.thinking, first.content) == (THOUGHT, "It is **4**.")
    assert (
        first.stats is not None and 0 < (first.stats.thinking_tokens or 0) < first.stats.new_tokens
    )
    answer(chat, "and 3+3?")
    sent = backend.prompts[-1]
    assert sent[1] == {"role": "assistant", "content": "It is **4**."}
    assert all("Two plus two" not in m["content"] for m in sent)


def test_where_a_template_reads_earlier_thinking_it_gets_it() -> None:
    backend = FakeBackend(script=SCRIPT)
    chat = chat_on(backend)
    answer(chat, "2+2?")
    chat.model_info.chat_format = ChatFormat(reasoning="tags", history_key="reasoning_content")  # type: ignore[union-attr]
    assert chat.prompt_messages()[1]["reasoning_content"] == THOUGHT


def test_a_batch_never_mixes_thinking_and_answer() -> None:
    stats = ReplyStats()
    pieces = [Thinking("a "), Thinking("b "), "c ", "d ", Thinking("e"), "f"]
    batches: list[str] = []
    reply = Reply(chunks=iter(pieces), stats=stats)
    text = pump(reply, lambda t, *_: batches.append(t), Pacer.fixed(10.0))  # one flush at the end
    assert text == "a b c d ef"
    assert [(type(b) is Thinking, str(b)) for b in batches] == [
        (True, "a b "),
        (False, "c d "),
        (True, "e"),
        (False, "f"),
    ]


def test_the_models_defaults_fill_what_the_config_and_the_chat_did_not_set() -> None:
    backend = FakeBackend(generation_defaults={"temperature": 0.6, "top_k": 20, "top_p": 0.95})
    chat = chat_on(backend, config_settings={"top_p": 0.8})
    s = chat.session.settings
    assert (s.temperature, s.top_k, s.top_p, s.repetition_penalty) == (0.6, 20, 0.8, 1.1)
    assert chat.sampling.sources() == {
        **{n: "tchat" for n in ("max_new_tokens", "do_sample", "repetition_penalty", "seed")},
        "temperature": "model",
        "top_k": "model",
        "top_p": "config",
        "thinking": "model",
    }
    chat.choose_settings(GenerationSettings(**{**vars(s), "top_k": 40}))
    assert chat.session.settings_chosen == ["top_k"]
    # An emptied field in F5 gives back the inherited value: no longer the chat's own.
    chat.choose_settings(GenerationSettings(**{**vars(chat.session.settings), "top_k": 20}))
    assert chat.session.settings_chosen == []


def test_a_chat_saved_before_sources_were_recorded_keeps_every_value() -> None:
    session = Session(settings=GenerationSettings(temperature=0.2))  # settings_chosen None
    chat = chat_on(FakeBackend(generation_defaults={"temperature": 0.6}), session)
    assert chat.session.settings.temperature == 0.2
    assert chat.sampling.sources()["temperature"] == "chat"


def test_the_session_file_keeps_the_new_keys_and_checks_them() -> None:
    session = Session(settings=GenerationSettings(thinking=False), settings_chosen=["thinking"])
    stats = ReplyStats(new_tokens=10, thinking_tokens=7, thinking_s=1.5)
    session.messages = [Message("user", "q"), Message("assistant", "a", stats=stats, thinking="t")]
    data = session_to_dict(session)
    assert data["settings"]["chosen"] == ["thinking"] and data["settings"]["thinking"] is False
    back = session_from_dict(data)
    assert back.settings_chosen == ["thinking"] and back.settings.thinking is False
    assert back.messages[1].stats == stats and back.messages[1].thinking == "t"
    data["settings"]["chosen"] = ["temperature", "colour"]
    with pytest.raises(SessionLoadError, match="'colour' is not a setting"):
        session_from_dict(data)


def test_generation_config_values_that_tchat_takes() -> None:
    assert sampling_defaults(
        {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20, "max_length": 9}
    ) == {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20}
    assert sampling_defaults({"temperature": 0.0}) == {"do_sample": False}  # greedy
    assert sampling_defaults({"top_p": 2, "top_k": -1, "temperature": "hot"}) == {}
    assert end_ids({"eos_token_id": [128001, 128009]}, 128001, [5]) == [5, 128001, 128009]


def test_a_system_prompt_is_folded_into_the_first_user_turn_where_there_is_no_system_role():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert fold_system(messages) == [{"role": "user", "content": "Be brief.\n\nhi"}]
    no_system = ChatFormat(system_role=False)
    assert template_inputs(messages, no_system, None)[0] == fold_system(messages)
    flag = ChatFormat(reasoning="tags", switch="system_flag", thinks_by_default=True)
    assert template_inputs(messages, flag, False)[0][0]["content"] == "Be brief.\n/no_think"
    assert template_inputs(messages, flag, None) == (messages, {})
    switch = ChatFormat(reasoning="tags", switch="enable_thinking", thinks_by_default=True)
    assert template_inputs(messages, switch, False)[1] == {"enable_thinking": False}


def run_p(tmp_path: Path, *args: str, script: str = SCRIPT) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    launch = parse_args(["--backend", "fake", "--sessions-dir", str(tmp_path), *args])
    code = run_oneshot(launch, launch.prompt or "", FakeBackend(script=script), out, err)
    return code, out.getvalue(), err.getvalue()


def test_p_prints_only_the_answer_and_show_thinking_adds_it_on_stderr(tmp_path: Path) -> None:
    code, out, err = run_p(tmp_path, "-p", "2+2?")
    assert (code, out, err) == (0, "It is **4**.\n", "")
    code, out, err = run_p(tmp_path, "-p", "2+2?", "--show-thinking")
    assert (code, out) == (0, "It is **4**.\n") and err == THOUGHT + "\n\n"
    store = SessionStore(tmp_path)
    reply = store.load(store.newest()).messages[-1]  # type: ignore[arg-type]
    assert (reply.thinking, reply.content) == (THOUGHT, "It is **4**.")


def test_p_says_when_the_tokens_ran_out_while_thinking(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[generation]\nmax_new_tokens = 3\n", "utf-8")
    code, out, err = run_p(tmp_path / "s", "--config", str(config), "-p", "2+2?")
    assert code == 0 and out.strip() == ""
    assert "out of tokens while thinking" in err


def test_show_thinking_is_a_launch_option() -> None:
    assert parse_args(["-p", "x", "--show-thinking"]).show_thinking is True
    assert LaunchConfig().show_thinking is False


def test_thinking_time_is_measured() -> None:
    backend = FakeBackend(script=SCRIPT, delay=0.01)
    message = answer(chat_on(backend), "2+2?")
    assert message.stats is not None and message.stats.thinking_s is not None
    assert 0 < message.stats.thinking_s <= message.stats.total_s + 0.05


def test_the_markdown_export_folds_the_thinking_above_the_answer() -> None:
    from tui.store.export import export_markdown

    session = Session(messages=[Message("user", "q"), Message("assistant", "A.", thinking="T.")])
    md = export_markdown(session)
    assert "<details><summary>Thinking</summary>\n\nT.\n\n</details>\n\nA." in md


def test_a_config_file_can_switch_thinking_off_for_new_chats() -> None:
    backend = FakeBackend(script=SCRIPT)
    chat = chat_on(
        backend,
        Session(settings=GenerationSettings(thinking=False), settings_chosen=[]),
        config_settings={"thinking": False},
    )
    assert backend.thinking_on is False and chat.sampling.sources()["thinking"] == "config"
    assert answer(chat, "2+2?").thinking is None
