"""The chat core (tui/chat) on its own: what send, regenerate, edit, continue, delete and stop
do to a chat, with the fake backend and no Textual. The app and `tchat -p` drive this same
object, so these are the rules a user meets in both."""

from __future__ import annotations

import pytest

from tui.chat import Chat, ChatRefused
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


def test_regenerate_replaces_only_the_last_reply() -> None:
    chat, _ = _chat()
    first = _answer(chat, "a")
    _answer(chat, "b")
    with pytest.raises(ChatRefused, match="Only the last reply can be regenerated"):
        chat.regenerate(first)
    last = chat.session.messages[-1]
    reply = chat.regenerate(last)
    assert last not in chat.session.messages
    assert reply.prompt[-1] == {"role": "user", "content": "b"}


def test_edit_and_resend_drops_the_turns_after_the_edited_message() -> None:
    chat, _ = _chat()
    _answer(chat, "first")
    _answer(chat, "second")
    with pytest.raises(ChatRefused, match="Only your own messages"):
        chat.begin_edit(chat.session.messages[1])
    assert chat.begin_edit(chat.session.messages[0]) == 3
    user, rewound = chat.send("first, again")
    assert rewound and chat.session.messages == [user]
    assert chat.editing is None


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
