"""The app's screens reached by their keys: help, sessions, settings, prompt inspector."""

from __future__ import annotations

from textual.widgets import TextArea

from tests.app.test_chat import type_and_send, wait_replies, wait_until
from tui.engine.fake import FakeBackend
from tui.screens.help import HelpScreen
from tui.screens.prompt_inspector import PromptInspector
from tui.screens.session_browser import SessionBrowser
from tui.screens.settings import SettingsScreen
from tui.widgets.prompt import PromptInput


async def test_f1_lists_app_and_message_keys(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause(0.1)
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(f"{k} {w}" for k, w in app.screen.bindings)
        for needle in ("ctrl+n New chat", "f4 Sessions", "c Copy", "e Edit & resend"):
            assert needle in text, needle
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_f8_shows_the_exact_prompt_including_the_draft(make_app):
    app = make_app(system="Be brief.")
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "first")
        await wait_replies(pilot, 1)
        await pilot.press(*"draft text")
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptInspector))
        shown = app.screen.query_one(TextArea).text
        assert shown.startswith("<|system|>\nBe brief.\n<|user|>\nfirst\n<|assistant|>\n")
        assert shown.endswith("<|user|>\ndraft text\n<|assistant|>\n")


async def test_f4_opens_another_chat_from_the_browser(make_app):
    backend = FakeBackend()
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "the old chat")
        await wait_replies(pilot, 1)
        old_id = app.chat_screen.session.id
        await pilot.press("ctrl+n")
        await type_and_send(pilot, "the new chat")
        await wait_replies(pilot, 2)
        app.chat_screen.autosaver.flush()
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionBrowser))
        path = app.chat_screen.store.resolve(old_id)
        app.screen.dismiss(path)
        # Wait for the last step of opening it (the prompt's history), not the swap or the
        # views appearing: else the test could end, and the app close, mid-way through.
        prompt = app.query_one(PromptInput)
        await wait_until(pilot, lambda: prompt._session_history == ["the old chat"])
        assert [v.message.content for v in app.chat_screen.conversation.views()][:1] == [
            "the old chat"
        ]
        assert app.chat_screen.session.id == old_id
        assert app.chat_screen.session.messages[0].content == "the old chat"


async def test_f5_settings_apply_to_the_next_reply(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        settings = app.chat_screen.session.settings
        settings.max_new_tokens = 3
        app.screen.dismiss((settings, "Short answers."))
        await pilot.pause(0.1)
        await type_and_send(pilot, "go")
        await wait_replies(pilot, 1)
        assert app.chat_screen.session.messages[-1].stats.new_tokens == 3
        assert app.chat_screen.session.messages[-1].stats.stop_reason == "length"
        assert app.chat_screen.session.system_prompt == "Short answers."
