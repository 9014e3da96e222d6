"""Branches in the app, as a user meets them: "‹ 2/3 ›" on a message with versions, left and
right to switch (the rest of the chat follows), delete a version or a whole turn (y/n), fork
into a new chat, and the token inspector whose pick branches a reply."""

from __future__ import annotations

from tests.app.test_chat import saved_sessions, type_and_send, wait_replies, wait_until
from tests.app.test_message_actions import replies_by
from tui.engine.fake import FakeBackend
from tui.screens.confirm import ConfirmScreen
from tui.screens.token_inspector import TokenInspector
from tui.widgets.message_view import MessageView
from tui.widgets.prompt import PromptInput


async def chat(pilot, *prompts: str) -> None:  # noqa: ANN001
    for prompt in prompts:
        done = pilot.app.chat_screen.replies_finished + 1
        await type_and_send(pilot, prompt)
        await wait_replies(pilot, done)


def shown(app) -> list[str]:  # noqa: ANN001
    return [v.message.content for v in app.query(MessageView) if v.id != "system"]


def label(view: MessageView) -> str:
    return str(view.role_label.render())


async def test_regenerate_twice_then_browse_the_three_replies(make_app, sessions_dir):
    app = make_app(FakeBackend(reply_for=replies_by(["one", "two", "three"])))
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "q")
        await pilot.press("shift+tab", "r")
        await wait_replies(pilot, 2)
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("r")
        await wait_replies(pilot, 3)
        view = app.chat_screen.conversation.views()[-1]
        assert view.message.content == "three" and "‹ 3/3 ›" in label(view)
        view.focus()
        await pilot.press("left")
        await wait_until(pilot, lambda: shown(app) == ["q", "two"])
        assert "‹ 2/3 ›" in label(app.chat_screen.conversation.views()[-1])
        assert app.focused is app.chat_screen.conversation.views()[-1]  # still on the turn switched
        await pilot.press("h")
        await wait_until(pilot, lambda: shown(app) == ["q", "one"])
        await pilot.press("left")  # already the first: nothing changes
        await pilot.press("l", "right")
        await wait_until(pilot, lambda: shown(app) == ["q", "three"])
        app.chat_screen.autosaver.flush()
    [session] = saved_sessions(sessions_dir)
    assert [m.content for m in session.messages] == ["q", "three"]
    assert sorted(m.content for m in session.branches) == ["one", "two"]


async def test_an_edited_early_message_gets_its_branch_and_the_old_one_keeps_its_turns(
    make_app, sessions_dir
):
    backend = FakeBackend(reply_for=replies_by(["a1", "a2", "b1"]))
    app = make_app(backend)
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "q1", "q2")
        app.chat_screen.conversation.views()[0].focus()
        await pilot.press("e")
        app.query_one(PromptInput).text = "q1 again"
        await pilot.press("enter")
        await wait_replies(pilot, 3)
        assert shown(app) == ["q1 again", "b1"]
        assert backend.prompts[-1] == [{"role": "user", "content": "q1 again"}]
        first = app.chat_screen.conversation.views()[0]
        assert "‹ 2/2 ›" in label(first)
        first.focus()
        await pilot.press("left")
        await wait_until(pilot, lambda: shown(app) == ["q1", "a1", "q2", "a2"])
        assert "‹ 1/2 ›" in label(app.chat_screen.conversation.views()[0])
        await chat(pilot, "q3")  # the prompt is built from the branch shown
        assert [m["content"] for m in backend.prompts[-1]] == ["q1", "a1", "q2", "a2", "q3"]


async def test_deleting_a_version_asks_and_shows_the_other(make_app, sessions_dir):
    app = make_app(FakeBackend(reply_for=replies_by(["one", "two"])))
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "q")
        await pilot.press("shift+tab", "r")
        await wait_replies(pilot, 2)
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # kept
        await pilot.pause(0.1)
        assert shown(app) == ["q", "two"]
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: shown(app) == ["q", "one"])
        assert "‹" not in label(app.chat_screen.conversation.views()[-1])  # the only version left
        app.chat_screen.autosaver.flush()
    [session] = saved_sessions(sessions_dir)
    assert [m.content for m in session.messages] == ["q", "one"] and not session.branches


async def test_shift_d_deletes_the_turn_in_every_version(make_app):
    app = make_app(FakeBackend(reply_for=replies_by(["one", "two"])))
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "q")
        await pilot.press("shift+tab", "r")
        await wait_replies(pilot, 2)
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: shown(app) == ["q"])
        assert not app.chat_screen.session.branches


async def test_fork_opens_a_new_chat_with_the_path_up_to_the_message(make_app, sessions_dir):
    app = make_app(FakeBackend(reply_for=replies_by(["a1", "a2"])))
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "q1", "q2")
        old_id = app.chat_screen.session.id
        app.chat_screen.conversation.views()[1].focus()
        await pilot.press("f")
        await wait_until(pilot, lambda: app.chat_screen.session.id != old_id)
        assert shown(app) == ["q1", "a1"]
        await chat(pilot, "q2 in the fork")
        app.chat_screen.autosaver.flush()
    sessions = {s.id: s for s in saved_sessions(sessions_dir)}
    assert [m.content for m in sessions[old_id].messages] == ["q1", "a1", "q2", "a2"]
    [fork] = [s for i, s in sessions.items() if i != old_id]
    assert [m.content for m in fork.messages][:3] == ["q1", "a1", "q2 in the fork"]


async def test_picking_a_token_branches_the_reply_and_it_carries_on(make_app, sessions_dir):
    backend = FakeBackend(script="alpha beta gamma delta")
    backend.keep_alternatives(4)
    app = make_app(backend)
    async with app.run_test(size=(100, 34)) as pilot:
        await chat(pilot, "go")
        original = app.chat_screen.session.messages[-1]
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, TokenInspector))
        inspector = app.screen
        assert isinstance(inspector, TokenInspector) and len(inspector.steps) == 4
        inspector.at = 0
        await pilot.press("right")  # token 2, " beta"
        assert inspector.at == 1
        await pilot.press("down", "enter")  # the likeliest other token there
        await wait_replies(pilot, 2)
        reply = app.chat_screen.session.messages[-1]
        assert reply is not original and reply.content.startswith("alpha ")
        assert reply.content != original.content and reply.content.endswith(" gamma delta")
        assert "‹ 2/2 ›" in label(app.chat_screen.conversation.views()[-1])
        app.chat_screen.autosaver.flush()
    [session] = saved_sessions(sessions_dir)
    assert [m.content for m in session.branches] == ["alpha beta gamma delta"]


async def test_without_recorded_probabilities_the_key_says_how_to_get_them(make_app):
    backend = FakeBackend(script="alpha beta", device="cuda:0")  # on a GPU: off until asked
    app = make_app(backend)
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "go")
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("a")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, TokenInspector)
        assert backend.alternatives > 0  # asked for from the next reply on
        await pilot.press("r")
        await wait_replies(pilot, 2)
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, TokenInspector))


async def test_the_config_file_can_ask_for_token_probabilities_from_the_first_reply(
    sessions_dir,
):
    from tui.app import TchatApp
    from tui.config import Config
    from tui.launch import LaunchConfig

    backend = FakeBackend(script="alpha beta")
    app = TchatApp(
        LaunchConfig(sessions_dir=sessions_dir),
        backend=backend,
        config=Config(token_alternatives=True),
    )
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "go")
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, TokenInspector))


async def test_a_switch_far_up_a_long_chat_mounts_a_screenful_and_the_rest_on_scrolling(
    make_app, sessions_dir
):
    from tui.store import Message, Session, SessionStore, tree
    from tui.widgets.conversation import SHOW_LAST, LaterMessages

    s = Session(title="long")
    for i in range(40):
        s.messages += [Message("user", f"q{i}"), Message("assistant", f"a{i}")]
    tree.cut(s, 61)  # a30 regenerated: its old version keeps the 18 turns after it
    s.messages.append(Message("assistant", "a30 again"))
    path = SessionStore(sessions_dir).save(s)
    app = make_app(resume=str(path))
    async with app.run_test(size=(90, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.conversation.views())
        view = app.chat_screen.conversation.views()[-1]
        assert view.message.content == "a30 again" and "‹ 2/2 ›" in label(view)
        view.focus()
        await pilot.press("left")
        await wait_until(pilot, lambda: app.chat_screen.conversation.later_count > 0)
        assert app.chat_screen.session.messages[-1].content == "a39"
        mounted = len(app.chat_screen.conversation.views())
        assert mounted <= 2 * SHOW_LAST and app.query(LaterMessages)
        assert app.focused is not None and app.focused.message.content == "a30"  # type: ignore[attr-defined]
        await pilot.press("end")  # on a message: the last one, after the rest are shown
        await wait_until(
            pilot, lambda: app.chat_screen.conversation.views()[-1].message.content == "a39"
        )
        assert app.chat_screen.conversation.later_count == 0


async def test_a_model_on_the_cpu_records_token_probabilities_from_the_start(make_app):
    backend = FakeBackend(script="alpha beta")  # device "cpu"
    app = make_app(backend)
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "go")
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, TokenInspector))


async def test_keys_pressed_in_a_burst_after_a_switch_do_not_act_on_the_old_version(make_app):
    # Two keys queued on one view (held left, or left then r): the first switches the version
    # shown, the second must not act on the version that is no longer on screen.
    app = make_app(FakeBackend(reply_for=replies_by(["one", "two"])))
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "q")
        await pilot.press("shift+tab", "r")
        await wait_replies(pilot, 2)
        view = app.chat_screen.conversation.views()[-1]
        for action in ("previous_version", "previous_version", "regenerate"):
            view.post_message(MessageView.ActionRequested(view, action))
        await wait_until(pilot, lambda: shown(app) == ["q", "one"])
        await pilot.pause(0.3)
        assert app.is_running and shown(app) == ["q", "one"]
        assert app.chat_screen.replies_finished == 2  # the stale r regenerated nothing


async def test_token_alternatives_are_still_there_after_leaving_the_chat_and_coming_back(
    make_app, sessions_dir
):
    app = make_app(FakeBackend(script="alpha beta"))  # on the CPU: recorded from the start
    async with app.run_test(size=(90, 30)) as pilot:
        await chat(pilot, "go")
        first = app.chat_screen.session.id
        await pilot.press("ctrl+n")
        await chat(pilot, "another chat")
        app.chat_screen.autosaver.flush()
        await app.chat_screen.dialogs.open_session_file(sessions_dir / f"{first}.toml")
        assert app.chat_screen.session.id == first
        app.chat_screen.conversation.views()[-1].focus()
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, TokenInspector))
