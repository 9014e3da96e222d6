"""Keys on a focused message: regenerate, edit and resend, continue, delete, copy."""

from __future__ import annotations

from tests.app.test_chat import saved_sessions, type_and_send, wait_replies
from tui.engine.fake import FakeBackend
from tui.widgets.message_view import MessageView
from tui.widgets.prompt import PromptInput


def replies_by(texts: list[str]):  # noqa: ANN201
    """A reply_for hook that answers with the next text each time."""
    queue = list(texts)
    return lambda messages: queue.pop(0) if queue else "again"


async def chat(pilot, *prompts: str) -> None:  # noqa: ANN001
    for i, prompt in enumerate(prompts, start=pilot.app.chat_screen.replies_finished + 1):
        await type_and_send(pilot, prompt)
        await wait_replies(pilot, i)


async def test_shift_tab_reaches_messages_and_up_down_walk_them(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await chat(pilot, "one")
        await pilot.press("shift+tab")
        assert app.focused is app.query(MessageView)[-1]
        await pilot.press("up")
        assert app.focused is app.query(MessageView)[0]
        await pilot.press("down", "down")
        assert isinstance(app.focused, PromptInput)


async def test_regenerate_shows_a_new_version_and_keeps_the_old_one(make_app, sessions_dir):
    app = make_app(FakeBackend(reply_for=replies_by(["first answer", "second answer"])))
    async with app.run_test(size=(80, 24)) as pilot:
        await chat(pilot, "question")
        await pilot.press("shift+tab", "r")
        await wait_replies(pilot, 2)
        assert [m.content for m in app.chat_screen.session.messages] == [
            "question",
            "second answer",
        ]
        assert len(app.query(MessageView)) == 2
        assert "‹ 2/2 ›" in str(app.query(MessageView)[-1].role_label.render())
    [session] = saved_sessions(sessions_dir)
    assert session.messages[-1].content == "second answer"
    assert [m.content for m in session.branches] == ["first answer"]


async def test_ctrl_r_regenerates_from_the_prompt(make_app):
    app = make_app(FakeBackend(reply_for=replies_by(["first", "second"])))
    async with app.run_test(size=(80, 24)) as pilot:
        await chat(pilot, "q")
        await pilot.press("ctrl+r")
        await wait_replies(pilot, 2)
        assert app.chat_screen.session.messages[-1].content == "second"


async def test_edit_resend_makes_a_new_version_and_keeps_the_old_turns(make_app, sessions_dir):
    backend = FakeBackend(reply_for=replies_by(["a1", "a2", "a3"]))
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat(pilot, "q1", "q2")
        app.query(MessageView)[0].focus()
        await pilot.press("e")
        prompt = app.query_one(PromptInput)
        assert prompt.text == "q1"
        assert "the 3 message(s) after it are kept" in str(prompt.border_title)
        prompt.text = "q1 edited"
        await pilot.press("enter")
        await wait_replies(pilot, 3)
        assert [m.content for m in app.chat_screen.session.messages] == ["q1 edited", "a3"]
        assert backend.prompts[-1] == [{"role": "user", "content": "q1 edited"}]
    [session] = saved_sessions(sessions_dir)
    assert [m.content for m in session.messages] == ["q1 edited", "a3"]
    assert sorted(m.content for m in session.branches) == ["a1", "a2", "q1", "q2"]


async def test_escape_cancels_an_edit(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await chat(pilot, "keep me")
        app.query(MessageView)[0].focus()
        await pilot.press("e", "escape")
        assert app.chat_screen.editing is None and app.query_one(PromptInput).text == ""
        assert app.query_one(PromptInput).border_title in (None, "")


async def test_continue_carries_on_a_reply_stopped_at_the_length_limit(make_app):
    backend = FakeBackend(script="one two three four five six")
    app = make_app(backend)
    app.chat_screen.session.settings.max_new_tokens = 3
    async with app.run_test(size=(80, 24)) as pilot:
        await chat(pilot, "count")
        reply = app.chat_screen.session.messages[-1]
        assert reply.stats.stop_reason == "length" and reply.content == "one two three"
        app.chat_screen.session.settings.max_new_tokens = 100
        await pilot.press("shift+tab", "plus")
        await wait_replies(pilot, 2)
        assert len(app.chat_screen.session.messages) == 2
        assert reply.content == "one two three four five six"
        assert reply.stats.stop_reason == "end_of_turn"
        assert reply.stats.new_tokens == 6
        assert backend.prompts[-1][-1] == {"role": "assistant", "content": "one two three"}


async def test_delete_removes_a_message_from_screen_and_file(make_app, sessions_dir):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await chat(pilot, "first", "second")
        app.query(MessageView)[0].focus()
        await pilot.press("d")
        await pilot.pause(0.2)
        assert [m.content for m in app.chat_screen.session.messages][0] != "first"
        assert len(app.query(MessageView)) == 3
        app.chat_screen.autosaver.flush()
    [session] = saved_sessions(sessions_dir)
    assert "first" not in [m.content for m in session.messages]


async def test_copy_code_cycles_through_blocks(make_app, monkeypatch):
    copied: list[str] = []
    from tui import clipboard

    def fake_copy(text, write, **kwargs):  # noqa: ANN001, ANN003, ANN202
        copied.append(text)
        return clipboard.CopyResult(True, "OSC 52", len(text))

    monkeypatch.setattr(clipboard, "copy", fake_copy)
    script = "Two blocks:\n\n```\nfirst()\n```\n\nand\n\n```python\nsecond()\n```\n"
    app = make_app(FakeBackend(script=script))
    async with app.run_test(size=(80, 24)) as pilot:
        await chat(pilot, "code please")
        await pilot.press("shift+tab", "y", "y", "y", "c")
        assert copied == ["first()", "second()", "first()", script]
