"""Chatting in the app, driven by keys through Pilot, with a scripted backend."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Markdown, Static

from tui.engine.fake import FakeBackend
from tui.store import SessionStore
from tui.widgets.conversation import Notice
from tui.widgets.message_view import MessageView
from tui.widgets.prompt import PromptInput


async def type_and_send(pilot, text: str) -> None:  # noqa: ANN001
    pilot.app.query_one(PromptInput).focus()
    await pilot.press(*text)
    await pilot.press("enter")


async def wait_until(pilot, predicate, timeout: float = 5.0) -> None:  # noqa: ANN001
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


async def wait_replies(pilot, count: int, timeout: float = 10.0) -> None:  # noqa: ANN001
    """Wait until `count` replies have been fully handled (streamed, shown, saved)."""
    await wait_until(pilot, lambda: pilot.app.chat_screen.replies_finished >= count, timeout)


def saved_sessions(folder: Path) -> list:
    store = SessionStore(folder)
    return [store.load(p) for p in sorted(folder.glob("*.toml"))]


async def test_question_gets_a_streamed_markdown_reply_that_is_saved(make_app, sessions_dir):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "hello")
        await wait_replies(pilot, 1)
        await pilot.pause(0.2)
        views = app.query(MessageView)
        assert [v.message.role for v in views] == ["user", "assistant"]
        reply_md = views[1].query_one(Markdown)
        assert "Markdown" in app.chat_screen.session.messages[1].content
        assert reply_md.source.startswith("Here is a short answer")
        assert "tok/s" in str(app.chat_screen.status.render())
    [session] = saved_sessions(sessions_dir)
    assert [m.role for m in session.messages] == ["user", "assistant"]
    assert session.messages[0].content == "hello"
    assert session.messages[1].stats.stop_reason == "end_of_turn"
    assert session.title == "hello"


async def test_escape_stops_a_reply_and_keeps_the_partial_text(make_app, sessions_dir):
    backend = FakeBackend(script="word " * 400, delay=0.02)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "tell me a long story")
        await wait_until(
            pilot,
            lambda: (
                app.chat_screen.reply_message is not None
                and app.chat_screen.reply_message.content.count("word") >= 5
            ),
        )
        await pilot.press("escape")
        await wait_replies(pilot, 1)
        reply = app.chat_screen.session.messages[-1]
        assert reply.stats.stop_reason == "cancelled"
        assert 5 <= reply.content.count("word") < 400
        meta = app.query(MessageView)[-1].query_one(".meta", Static)
        assert "stopped by you" in str(meta.render())
    [session] = saved_sessions(sessions_dir)
    assert session.messages[-1].content == reply.content
    assert session.messages[-1].stats.stop_reason == "cancelled"


async def test_a_prompt_sent_while_the_model_loads_is_answered_once_ready(make_app):
    app = make_app(FakeBackend(load_delay=3.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "early bird")
        await pilot.pause(0.2)
        assert app.chat_screen.model_info is None and app.chat_screen.waiting_for_model
        meta = app.query(MessageView)[-1].query_one(".meta", Static)
        assert "waiting for the model" in str(meta.render())
        await wait_replies(pilot, 1)
        assert app.chat_screen.session.messages[-1].content.startswith("Here is")


async def test_load_failure_is_shown_and_the_app_keeps_working(make_app):
    app = make_app(FakeBackend(fail_load="No model called 'x/y' on the Hugging Face hub."))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.query(Notice)))
        assert "No model called" in str(app.query_one(Notice).render())
        await type_and_send(pilot, "anyone there?")
        await wait_until(
            pilot,
            lambda: (
                app.chat_screen.session.messages
                and app.chat_screen.session.messages[0].role == "user"
            ),
        )
        assert (
            app.chat_screen.session.messages[0].content == "anyone there?"
        )  # the typed text is kept


async def test_generation_error_keeps_partial_reply_and_next_message_works(make_app):
    backend = FakeBackend(script="one two three four five six", fail_after=3)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "first")
        await wait_replies(pilot, 1)
        failed = app.chat_screen.session.messages[1]
        assert failed.stats.stop_reason == "error" and failed.error
        assert failed.content.split() == ["one", "two", "three"]
        backend.fail_after = None
        await type_and_send(pilot, "second")
        await wait_replies(pilot, 2)


async def test_markup_and_escape_sequences_are_shown_literally(make_app):
    hostile = "[bold red]not bold[/] \x1b]52;c;aGk=\x07 \x1b[2J done"
    app = make_app(FakeBackend(script=hostile))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "[link=http://x]click[/link]")
        await wait_replies(pilot, 1)
        await pilot.pause(0.2)
        user_body = app.query(MessageView)[0].body
        assert "[link=http://x]click[/link]" in str(user_body.render())
        reply_md = app.query(MessageView)[1].query_one(Markdown)
        assert "[bold red]not bold[/]" in reply_md.source
        assert "\x1b" not in reply_md.source and "\x07" not in reply_md.source
        assert "␛]52;c;aGk=␇" in reply_md.source
        assert (
            app.chat_screen.session.messages[1].content == hostile
        )  # stored exactly, shown safely


async def test_ctrl_j_inserts_a_newline_and_enter_sends(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a", "ctrl+j", "b")
        assert app.query_one(PromptInput).text == "a\nb"
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: (
                app.chat_screen.session.messages
                and app.chat_screen.session.messages[0].content == "a\nb"
            ),
        )
        assert app.query_one(PromptInput).text == ""
        await wait_replies(pilot, 1)


async def test_new_chat_saves_the_old_one_and_starts_empty(make_app, sessions_dir):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "first chat")
        await wait_replies(pilot, 1)
        old_id = app.chat_screen.session.id
        await pilot.press("ctrl+n")
        await pilot.pause(0.2)
        assert app.chat_screen.session.id != old_id and app.chat_screen.session.messages == []
        assert not app.query(MessageView)
    [session] = saved_sessions(sessions_dir)
    assert session.id == old_id


async def test_system_prompt_from_the_command_line_and_edited_in_the_app(make_app, sessions_dir):
    backend = FakeBackend()
    app = make_app(backend, system="Be brief.")
    async with app.run_test(size=(80, 24)) as pilot:
        assert "Be brief." in str(app.query_one("#system").body.render())
        await pilot.press("f2")
        await pilot.pause(0.1)
        area = app.screen.query_one("#system-text")
        area.text = "Answer in French."
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert app.chat_screen.session.system_prompt == "Answer in French."
        await type_and_send(pilot, "hi")
        await wait_until(pilot, lambda: backend.prompts)
        assert backend.prompts[0][0] == {"role": "system", "content": "Answer in French."}
        await wait_replies(pilot, 1)


async def test_quit_saves_a_streaming_reply(make_app, sessions_dir):
    backend = FakeBackend(script="word " * 400, delay=0.02)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "long one")
        await wait_until(
            pilot,
            lambda: (
                app.chat_screen.reply_message is not None
                and app.chat_screen.reply_message.content.count("word") >= 3
            ),
        )
        await pilot.press("ctrl+q")
        await pilot.pause(1.5)
    [session] = saved_sessions(sessions_dir)
    assert session.messages[0].content == "long one"
    assert session.messages[1].content.count("word") >= 3
    assert session.messages[1].stats.stop_reason == "cancelled"


async def test_resume_shows_the_conversation_and_it_continues(make_app, sessions_dir):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "remember me")
        await wait_replies(pilot, 1)
        first_id = app.chat_screen.session.id
    app = make_app(resume="")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert app.chat_screen.session.id == first_id
        assert [v.message.content for v in app.query(MessageView)][0] == "remember me"
        await type_and_send(pilot, "and again")
        await wait_replies(pilot, 1)
    [session] = saved_sessions(sessions_dir)
    assert [m.content for m in session.messages if m.role == "user"] == ["remember me", "and again"]


async def test_corrupt_session_is_reported_and_never_overwritten(make_app, sessions_dir):
    sessions_dir.mkdir(parents=True)
    bad = sessions_dir / "20260101-000000-abcdef.toml"
    bad.write_bytes(b'format_version = 1\nid = "20260101-000000-abcdef"\nmessages = [oops')
    before = bad.read_bytes()
    app = make_app(resume=str(bad))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        assert app.chat_screen.session.messages == []
        await type_and_send(pilot, "new chat works")
        await wait_replies(pilot, 1)
        assert app.chat_screen.session.id != "20260101-000000-abcdef"
    assert bad.read_bytes() == before


async def test_format_json_saves_json_sessions(make_app, sessions_dir):
    app = make_app(format="json")
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "in json please")
        await wait_replies(pilot, 1)
        app.chat_screen.autosaver.flush()
    [path] = list(sessions_dir.glob("*.json"))
    assert SessionStore(sessions_dir).load(path).messages[0].content == "in json please"
    assert not list(sessions_dir.glob("*.toml"))


async def test_example_sessions_open_in_the_app(make_app):
    repo = Path(__file__).resolve().parent.parent.parent
    titles = {"example.toml": "Lists vs tuples in Python", "example.json": "Find big files"}
    for name, title in titles.items():
        app = make_app(resume=str(repo / "sessions" / name))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            assert app.chat_screen.session.title.startswith(title)
            assert (
                len(app.query(MessageView)) == len(app.chat_screen.session.messages) + 1
            )  # + system


async def test_errors_with_brackets_are_shown_as_text(make_app):
    app = make_app(FakeBackend(fail_load="[Errno 28] No space left on device: '[bold]x'"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.query(Notice)))
        assert "[Errno 28]" in str(app.query_one(Notice).render())
        await pilot.pause(0.2)
        toasts = list(app._notifications)
        assert any("[Errno 28]" in t.message and "[bold]x" in t.message for t in toasts)
        assert not any(t.markup for t in toasts)  # shown as typed, never parsed as markup
