"""Every action is reachable from the command palette, and keys can be rebound in the config."""

from __future__ import annotations

from tests.app.test_chat import wait_replies
from tui.app import TchatApp
from tui.config import Config
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig


async def test_palette_lists_every_app_action_with_its_key(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)):
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        for title in ("New chat", "Stop reply", "System prompt", "Gauges", "Regenerate"):
            assert title in commands, title
        assert commands["New chat"] == "Key: ctrl+n"


async def test_keymap_from_the_config_file_rebinds_an_action(sessions_dir):
    config = Config(keymap={"new_chat": "ctrl+t"})
    app = TchatApp(LaunchConfig(sessions_dir=sessions_dir), backend=FakeBackend(), config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("PromptInput").focus()
        await pilot.press(*"hi", "enter")
        await wait_replies(pilot, 1)
        first = app.chat_screen.session.id
        await pilot.press("ctrl+t")
        await pilot.pause(0.2)
        assert app.chat_screen.session.id != first
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["New chat"] == "Key: ctrl+t"
