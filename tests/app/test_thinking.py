"""A reasoning model's thinking in the app, with the scripted backend (no model needed).

What a user sees: the thinking streams in its own dimmed block above the answer and folds to
"▸ Thought for … · N tokens" once the answer starts; `t` opens and folds it on a focused reply
and ctrl+f for every reply; the answer never shows the tags; the reply line counts thinking
and answer tokens apart; F7 switches thinking for the chat and F8 shows the template's
answer to it; a model that cannot switch says so; a resumed chat shows both; a reply that ran
out of tokens while thinking says so and `+` carries on; the session file keeps them apart.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Markdown, Static, Switch, TextArea

from tests.app.test_chat import saved_sessions, type_and_send, wait_replies, wait_until
from tui.engine.fake import FakeBackend
from tui.screens.prompt_inspector import PromptInspector
from tui.screens.settings import SettingsScreen
from tui.widgets.message_view import MessageView
from tui.widgets.thinking import ThinkingBlock

REPO = Path(__file__).resolve().parent.parent.parent
THOUGHT = "The user greets me.\nI should greet back, briefly, and offer help."
SCRIPT = f"<think>\n{THOUGHT}\n</think>\n\nHello! **How** can I help?"


def head(block: ThinkingBlock) -> str:
    return str(block.head.render())


def last_view(app) -> MessageView:  # noqa: ANN001
    return app.query(MessageView)[-1]


async def test_thinking_streams_in_its_block_then_folds_when_the_answer_starts(
    make_app, sessions_dir
):
    backend = FakeBackend(script=SCRIPT, delay=0.05)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_until(pilot, lambda: last_view(app).thinking is not None)
        block = last_view(app).thinking
        assert block is not None and block.live and not block.folded
        await wait_until(pilot, lambda: "greets" in str(block.body.render()))
        assert "Thinking…" in head(block)
        await wait_replies(pilot, 1)
        await pilot.pause(0.1)
        view = last_view(app)
        assert view.thinking is block and block.folded
        assert head(block).startswith("▸ Thought for") and "tokens" in head(block)
        assert view.query_one(Markdown).source == "Hello! **How** can I help?"
        meta = str(view.meta.render())
        assert "thinking +" in meta and "answer tokens" in meta
    [session] = saved_sessions(sessions_dir)
    reply = session.messages[-1]
    assert (reply.thinking, reply.content) == (THOUGHT, "Hello! **How** can I help?")
    assert reply.stats.thinking_tokens and reply.stats.thinking_s is not None
    text = next(sessions_dir.glob("*.toml")).read_text("utf-8")
    assert "<think>" not in text and "thinking = " in text


async def test_t_opens_and_folds_one_reply_and_ctrl_f_every_reply(make_app):
    app = make_app(FakeBackend(script=SCRIPT))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1)
        await type_and_send(pilot, "again")
        await wait_replies(pilot, 2)
        first, second = [v for v in app.query(MessageView) if v.thinking is not None]
        second.focus()
        await pilot.press("t")
        assert second.thinking is not None and not second.thinking.folded
        assert "I should greet back" in str(second.thinking.body.render())
        assert head(second.thinking).startswith("▾")
        await pilot.press("t")
        assert second.thinking.folded
        await pilot.press("ctrl+f")
        assert first.thinking is not None and not first.thinking.folded
        assert not second.thinking.folded
        await pilot.press("ctrl+f")
        assert first.thinking.folded and second.thinking.folded


async def test_thinking_from_a_server_shows_the_same(make_app):
    app = make_app(FakeBackend(script=SCRIPT, thinking="chunks"))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1)
        reply = app.chat_screen.session.messages[-1]
        assert (reply.thinking, reply.content) == (
            "The user greets me.\nI should greet back, briefly, and offer help.",
            "Hello! **How** can I help?",
        )


async def test_f7_switches_thinking_and_f8_shows_what_the_template_gets(make_app):
    backend = FakeBackend(script=SCRIPT)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1)
        await pilot.press("f7")
        assert app.chat_screen.session.settings.thinking is False
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptInspector))
        text = app.screen.query_one("#prompt-text", TextArea).text
        assert text.endswith("<|assistant|>\n<think>\n\n</think>\n\n")
        await pilot.press("escape")
        await type_and_send(pilot, "no thinking now")
        await wait_replies(pilot, 2)
        reply = app.chat_screen.session.messages[-1]
        assert reply.thinking is None and reply.content == "Hello! **How** can I help?"
        await pilot.press("f7")
        assert app.chat_screen.session.settings.thinking is None  # back to the model's default: on
        assert "thinking" not in (app.chat_screen.session.settings_chosen or [])


async def test_a_model_that_cannot_switch_says_so(make_app):
    app = make_app(FakeBackend(script="Just an answer."))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None)
        await pilot.press("f7")
        await pilot.pause(0.1)
        shown = [str(n.message) for n in app._notifications]
        assert any("does not think" in text for text in shown)
        assert app.chat_screen.session.settings.thinking is None


async def test_f5_shows_the_thinking_switch_and_where_each_value_comes_from(make_app):
    backend = FakeBackend(script=SCRIPT, generation_defaults={"temperature": 0.6, "top_k": 20})
    app = make_app(backend)
    async with app.run_test(size=(80, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None)
        assert app.chat_screen.session.settings.temperature == 0.6
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen

        def source(name: str) -> str:
            return str(screen.query_one(f"#source-{name}", Static).render())

        assert source("temperature") == source("top_k") == "model"
        assert source("top_p") == "tchat"
        switch = screen.query_one("#thinking", Switch)
        assert switch.value is True
        switch.value = False
        screen.query_one("#temperature").focus()
        await pilot.press("ctrl+a", "ctrl+k", *"0.3")
        await pilot.pause(0.05)
        assert source("temperature") == "chat"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        assert app.chat_screen.session.settings.thinking is False
        assert app.chat_screen.session.settings.temperature == 0.3
        assert app.chat_screen.session.settings_chosen == ["temperature", "thinking"]


async def test_out_of_tokens_while_thinking_says_so_and_continue_finishes_it(make_app):
    backend = FakeBackend(script=SCRIPT)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None)
        app.chat_screen.session.settings.max_new_tokens = 4
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1)
        reply = app.chat_screen.session.messages[-1]
        assert reply.content == "" and reply.thinking == "The user greets"
        view = last_view(app)
        assert "Out of tokens while thinking" in str(view.meta.render())
        app.chat_screen.session.settings.max_new_tokens = 100
        view.focus()
        await pilot.press("plus")
        await wait_replies(pilot, 2)
        assert reply.thinking == THOUGHT and reply.content == "Hello! **How** can I help?"
        assert view.thinking is not None and view.thinking.folded
        assert "Out of tokens" not in str(view.meta.render())


async def test_a_resumed_chat_shows_thinking_and_answer_apart(make_app):
    app = make_app(resume=str(REPO / "sessions" / "example-thinking.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None)
        view = last_view(app)
        assert view.thinking is not None and view.thinking.folded
        assert head(view.thinking) == "▸ Thought for 2.4 s · 141 tokens · t shows it"
        assert view.query_one(Markdown).source.startswith("Yes. **2³¹ − 1")
        assert "141 thinking + 71 answer tokens" in str(view.meta.render())


async def test_a_reply_that_only_thought_says_it_has_no_answer(make_app):
    app = make_app(FakeBackend(script="<think>\nHmm. Nothing to add.\n</think>\n"))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1)
        view = last_view(app)
        assert view.thinking is not None and view.thinking.folded
        assert "No answer after the thinking (t shows it)." in str(view.meta.render())


async def test_the_gauges_count_thinking_and_answer_tokens_apart(make_app):
    app = make_app(FakeBackend(script=SCRIPT))
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1)
        await pilot.pause(0.2)
        stats = app.chat_screen.session.messages[-1].stats
        answer = stats.new_tokens - stats.thinking_tokens
        assert f"think {stats.thinking_tokens}" in app.chat_screen.gauges.text()
        assert f"answer {answer} tok" in app.chat_screen.gauges.text()
