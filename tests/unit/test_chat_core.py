"""The chat core (tui/chat) on its own: what send, regenerate, edit, continue, delete and stop
do to a chat, with the fake backend and no Textual. The app and `tchat -p` drive this same
object, so these are the rules a user meets in both."""

from __future__ import annotations

import pytest

from tui.chat import Chat, ChatRefused, ReplyInFlight
from tui.engine.backend import LoadSpec
from tui.engine.fake import FakeBackend
from tui.store.session import Message, ReplyStats, Session


class Saves:
    """What the chat handed to its saver, as copies of the messages at that moment."""

    def __init__(self) -> None:
        self.snapshots: list[list[tuple[str, str]]] = []

    def __call__(self, session: Session) -> None:
        self.snapshots.append([(m.role, m.content) for m in session.messages])


def _chat(script: str = "one two three", **kwargs: object) -> tuple[Chat, Saves]:
    backend = FakeBackend(script=script, **kwargs)  # type: ignore[arg-type]
    saves = Saves()
    chat = Chat(Session(), backend, saves)
    chat.model_info = backend.load(LoadSpec(model="fake"))
    return chat, saves


def _answer(chat: Chat, text: str) -> Message:
    """Send `text` and stream the whole reply, as the app's worker does."""
    chat.send(text)
    chat.start_reply()
    reply = chat.launch()
    stream, _ = chat.open_stream(reply)
    for chunk in stream:
        chat.add_text(chunk)
    message = chat.finish(stream.stats, stream.error)
    assert message is not None
    return message


def test_what_the_user_typed_is_saved_before_any_reply_starts() -> None:
    chat, saves = _chat()
    chat.send("hello")
    assert saves.snapshots == [[("user", "hello")]]
    assert chat.session.title == "hello"


def test_a_reply_is_in_the_chat_from_its_first_moment_and_saved_when_done() -> None:
    chat, saves = _chat()
    chat.send("hello")
    reply = chat.start_reply()
    assert chat.session.messages[-1] is reply.message
    assert reply.message.stats is not None and reply.message.stats.stop_reason == "streaming"
    assert chat.busy and not chat.generating  # waiting for launch (the model)
    chat.launch()
    stream, dropped = chat.open_stream(reply)
    for chunk in stream:
        chat.add_text(chunk)
    chat.finish(stream.stats, stream.error)
    assert dropped == 0 and not chat.busy
    assert saves.snapshots[-1] == [("user", "hello"), ("assistant", "one two three")]
    assert chat.session.messages[-1].model.id == "fake"


def _stream(chat: Chat, reply: ReplyInFlight) -> Message:
    """Stream a reply the chat has asked for to its end, as the app's worker does."""
    chat.launch()
    stream, _ = chat.open_stream(reply)
    for chunk in stream:
        chat.add_text(chunk)
    message = chat.finish(stream.stats, stream.error)
    assert message is not None
    return message


def _texts(chat: Chat) -> list[str]:
    return [m.content for m in chat.session.messages]


def _replies(*texts: str) -> dict[str, object]:
    """FakeBackend arguments answering each prompt with the next of `texts`."""
    queue = list(texts)
    return {"reply_for": lambda messages: queue.pop(0) if queue else "again"}


def test_regenerate_adds_a_version_and_keeps_the_old_reply() -> None:
    chat, saves = _chat(**_replies("a1", "b1", "b2", "b3"))
    _answer(chat, "a")
    _answer(chat, "b")
    last = chat.session.messages[-1]
    reply = chat.regenerate(last)
    assert reply.prompt[-1] == {"role": "user", "content": "b"}  # the prompt: the path shown
    assert _texts(chat) == ["a", "a1", "b", ""] and last in chat.session.branches
    _stream(chat, reply)
    _stream(chat, chat.regenerate(chat.session.messages[-1]))
    assert _texts(chat) == ["a", "a1", "b", "b3"]
    assert chat.versions(chat.session.messages[-1]) == (3, 3)
    assert chat.switch_version(chat.session.messages[-1], -1).content == "b2"
    assert chat.switch_version(chat.session.messages[-1], -1).content == "b1"
    assert chat.switch_version(chat.session.messages[-1], -1) is None  # the first one
    assert _texts(chat) == ["a", "a1", "b", "b1"] and saves.snapshots[-1][-1][1] == "b1"


def test_an_earlier_reply_can_be_regenerated_and_its_later_turns_wait_in_its_branch() -> None:
    chat, _ = _chat(**_replies("a1", "b1", "a2"))
    first = _answer(chat, "a")
    _answer(chat, "b")
    reply = chat.regenerate(first)
    assert reply.prompt[-1] == {"role": "user", "content": "a"}
    _stream(chat, reply)
    assert _texts(chat) == ["a", "a2"]
    chat.switch_version(chat.session.messages[1], -1)
    assert _texts(chat) == ["a", "a1", "b", "b1"]  # the old reply with its later turns


def test_each_reply_keeps_the_settings_and_model_that_wrote_it() -> None:
    chat, _ = _chat(**_replies("cold", "hot"))
    chat.session.settings.temperature = 0.1
    cold = _answer(chat, "q")
    chat.session.settings.temperature = 1.3
    chat.model_info = chat.backend.load(LoadSpec(model="other-fake"))
    hot = _stream(chat, chat.regenerate(cold))
    assert cold.settings is not None and cold.settings.temperature == 0.1
    assert hot.settings is not None and hot.settings.temperature == 1.3
    assert cold.model.id == "fake" and hot.model.id == "other-fake"


def test_edit_and_resend_makes_a_new_version_and_keeps_the_old_turns() -> None:
    backend_replies = _replies("r1", "r2", "r3")
    chat, _ = _chat(**backend_replies)
    _answer(chat, "first")
    _answer(chat, "second")
    with pytest.raises(ChatRefused, match="Only your own messages"):
        chat.begin_edit(chat.session.messages[1])
    assert chat.begin_edit(chat.session.messages[0]) == 3
    user, rewound = chat.send("first, again")
    assert rewound and chat.session.messages == [user]
    assert chat.editing is None
    _stream(chat, chat.start_reply())
    assert _texts(chat) == ["first, again", "r3"]
    assert chat.backend.prompts[-1][-1] == {"role": "user", "content": "first, again"}  # type: ignore[attr-defined]
    assert chat.versions(user) == (2, 2)
    chat.switch_version(user, -1)
    assert _texts(chat) == ["first", "r1", "second", "r2"]
    chat.switch_version(chat.session.messages[0], 1)
    assert _texts(chat) == ["first, again", "r3"]


def test_switching_back_shows_each_branch_as_it_was_left() -> None:
    chat, _ = _chat(**_replies("r1", "x1", "x2", "y1", "r2"))
    _answer(chat, "q")  # q r1
    _answer(chat, "x")  # q r1 x x1
    _stream(chat, chat.regenerate(chat.session.messages[-1]))  # ... x x2
    chat.switch_version(chat.session.messages[-1], -1)  # ... x x1 (the one left there)
    _answer(chat, "y")  # q r1 x x1 y y1
    _stream(chat, chat.regenerate(chat.session.messages[1]))  # q r2
    chat.switch_version(chat.session.messages[1], -1)
    assert _texts(chat) == ["q", "r1", "x", "x1", "y", "y1"]


def test_deleting_a_version_takes_its_later_turns_and_shows_the_next_one() -> None:
    chat, _ = _chat(**_replies("r1", "s1", "r2"))
    _answer(chat, "q")
    _answer(chat, "s")  # q r1 s s1
    _stream(chat, chat.regenerate(chat.session.messages[1]))  # q r2
    chat.switch_version(chat.session.messages[1], -1)  # q r1 s s1
    assert chat.deletion(chat.session.messages[1]) == (3, 2)
    assert chat.delete(chat.session.messages[1]) == 3
    assert _texts(chat) == ["q", "r2"] and not chat.session.branches
    assert chat.versions(chat.session.messages[1]) == (1, 1)


def test_deleting_a_lone_message_keeps_the_turns_after_it() -> None:
    chat, _ = _chat(**_replies("r1", "r2"))
    _answer(chat, "q1")
    _answer(chat, "q2")
    assert chat.deletion(chat.session.messages[1]) == (1, 1)
    assert chat.delete(chat.session.messages[1]) == 1
    assert _texts(chat) == ["q1", "q2", "r2"]


def test_deleting_a_whole_turn_takes_every_version_and_what_followed() -> None:
    chat, _ = _chat(**_replies("r1", "s1", "r2"))
    _answer(chat, "q")
    _answer(chat, "s")
    _stream(chat, chat.regenerate(chat.session.messages[1]))
    assert chat.deletion(chat.session.messages[1], whole_turn=True) == (4, 2)
    assert chat.delete_turn(chat.session.messages[1]) == 4
    assert _texts(chat) == ["q"] and not chat.session.branches


def test_fork_copies_the_path_shown_up_to_a_message_into_a_new_chat() -> None:
    chat, _ = _chat(**_replies("r1", "s1", "r2"))
    _answer(chat, "q")
    _answer(chat, "s")
    _stream(chat, chat.regenerate(chat.session.messages[-1]))
    forked = chat.fork(chat.session.messages[1])
    assert forked.id != chat.session.id and not forked.branches
    assert [m.content for m in forked.messages] == ["q", "r1"]
    assert forked.messages[0] is not chat.session.messages[0]  # a copy: edits stay apart
    assert forked.system_prompt == chat.session.system_prompt


def test_a_withdrawn_regeneration_shows_the_old_reply_again() -> None:
    from tui.engine.backend import EngineError

    chat, _ = _chat(context_length=600)
    first = _answer(chat, "short")
    chat.session.settings.max_new_tokens = 598
    reply = chat.regenerate(first)
    with pytest.raises(EngineError, match="does not fit"):
        chat.open_stream(chat.launch())
    assert reply.message is chat.session.messages[-1]
    chat.withdraw()
    assert chat.session.messages[-1] is first and not chat.session.branches


def test_a_picked_token_branches_the_reply_and_generation_carries_on_from_it() -> None:
    chat, _ = _chat(script="alpha beta gamma delta")
    chat.backend.keep_alternatives(3)
    reply = _answer(chat, "go")
    steps = chat.trace(reply)
    assert steps is not None and [s.chosen.text for s in steps] == [
        "alpha",
        " beta",
        " gamma",
        " delta",
    ]
    assert all(len(s.alternatives) == 3 for s in steps)
    other = next(c for c in steps[1].alternatives if c.text != " beta")
    again = chat.branch_at_token(reply, 1, other)
    assert again is not None and again.carry_on
    assert again.message.content == "alpha" + other.text
    branched = _stream(chat, again)
    assert branched.content == "alpha" + other.text + " gamma delta"
    assert chat.backend.prompts[-1][-1] == {"role": "assistant", "content": "alpha" + other.text}  # type: ignore[attr-defined]
    assert chat.versions(branched) == (2, 2) and reply in chat.session.branches
    new_steps = chat.trace(branched)
    assert new_steps is not None and len(new_steps) == 4 and new_steps[1].chosen == other
    assert branched.stats is not None and branched.stats.new_tokens == 4


def test_without_asking_no_token_probabilities_are_kept() -> None:
    chat, _ = _chat()
    assert chat.trace(_answer(chat, "go")) is None


def test_cancelling_an_edit_changes_nothing() -> None:
    chat, _ = _chat()
    _answer(chat, "first")
    chat.begin_edit(chat.session.messages[0])
    assert chat.cancel_edit() and not chat.cancel_edit()
    _, rewound = chat.send("next")
    assert not rewound and [m.content for m in chat.session.messages][::2] == ["first", "next"]


def test_continue_carries_on_a_stopped_reply_and_counts_all_its_tokens() -> None:
    chat, _ = _chat(script="alpha beta gamma delta")
    chat.send("go")
    chat.start_reply()
    reply = chat.launch()
    stream, _ = chat.open_stream(reply)
    for i, chunk in enumerate(stream):
        chat.add_text(chunk)
        if i == 1:
            chat.stop()
    stopped = chat.finish(stream.stats, stream.error)
    assert stopped is not None and stopped.stats is not None
    assert stopped.stats.stop_reason == "cancelled" and stopped.content == "alpha beta"
    again = chat.continue_reply(stopped)
    assert again.carry_on and again.message is stopped
    chat.launch()
    stream, _ = chat.open_stream(again)
    for chunk in stream:
        chat.add_text(chunk)
    done = chat.finish(stream.stats, stream.error)
    assert done is stopped and done.content == "alpha beta gamma delta"
    assert done.stats is not None and done.stats.new_tokens == 4
    with pytest.raises(ChatRefused, match="finished on its own") as refused:
        chat.continue_reply(done)
    assert refused.value.severity == "information"


def test_nothing_can_change_the_chat_while_a_reply_is_on_its_way() -> None:
    chat, _ = _chat()
    last = _answer(chat, "a")
    chat.send("b")
    chat.start_reply()
    for act in (lambda: chat.send("c"), lambda: chat.regenerate(last), lambda: chat.delete(last)):
        with pytest.raises(ChatRefused, match="still on its way"):
            act()


def test_stop_before_the_model_is_loaded_drops_the_waiting_reply() -> None:
    chat, _ = _chat()
    chat.send("hi")
    chat.start_reply()
    assert chat.stop() == "dropped"
    chat.finish(ReplyStats(stop_reason="cancelled"), None)
    assert chat.stop() is None and not chat.busy


def test_a_deleted_chat_is_never_saved_again() -> None:
    chat, saves = _chat()
    _answer(chat, "a")
    count = len(saves.snapshots)
    chat.deleted = True
    chat.save()
    chat.delete(chat.session.messages[-1])
    assert len(saves.snapshots) == count


def test_an_exit_mid_reply_saves_it_as_stopped() -> None:
    chat, saves = _chat()
    chat.send("hi")
    chat.start_reply()
    chat.launch()
    chat.add_text("partial")
    chat.mark_interrupted()
    chat.save()
    assert saves.snapshots[-1][-1] == ("assistant", "partial")
    stats = chat.session.messages[-1].stats
    assert stats is not None and stats.stop_reason == "cancelled"


def test_long_chats_leave_the_oldest_turns_out_of_the_prompt_not_the_session() -> None:
    chat, _ = _chat(script="ok", context_length=560)  # 512 of it kept for the reply
    for i in range(6):
        _answer(chat, f"question {i} " + "word " * 6)
    chat.send("last one")
    chat.start_reply()
    stream, dropped = chat.open_stream(chat.launch())
    assert dropped > 0 and len(chat.session.messages) == 14
    sent = chat.backend.prompts[-1]  # type: ignore[attr-defined]
    assert sent[-1]["content"] == "last one" and len(sent) < 13
    for chunk in stream:
        chat.add_text(chunk)


def test_a_prompt_that_cannot_fit_is_withdrawn_without_an_empty_reply() -> None:
    from tui.engine.backend import EngineError

    chat, _ = _chat(context_length=520)
    chat.send("x " * 200)
    chat.start_reply()
    with pytest.raises(EngineError, match="does not fit"):
        chat.open_stream(chat.launch())
    chat.withdraw()
    assert [m.role for m in chat.session.messages] == ["user"] and not chat.busy


def test_the_inspector_sees_the_prompt_with_the_draft_or_the_reply_in_flight() -> None:
    chat, _ = _chat()
    _answer(chat, "a")
    assert chat.prompt_to_inspect("draft")[-1] == {"role": "user", "content": "draft"}
    chat.send("b")
    chat.start_reply()
    assert chat.prompt_to_inspect("ignored")[-1] == {"role": "user", "content": "b"}


def test_a_continued_reply_keeps_one_trace_for_all_its_tokens() -> None:
    chat, _ = _chat(script="alpha beta gamma delta")
    chat.backend.keep_alternatives(2)
    chat.send("go")
    reply = chat.start_reply()
    chat.launch()
    stream, _ = chat.open_stream(reply)
    for i, chunk in enumerate(stream):
        chat.add_text(chunk)
        if i == 1:
            chat.stop()
    stopped = chat.finish(stream.stats, stream.error)
    assert stopped is not None and len(chat.trace(stopped) or []) == 2
    done = _stream(chat, chat.continue_reply(stopped))
    steps = chat.trace(done)
    assert steps is not None and "".join(s.chosen.text for s in steps) == done.content
