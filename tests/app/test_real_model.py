"""The app on the real default model: load, ask, get a streamed, saved answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.test_chat import saved_sessions, type_and_send, wait_replies, wait_until
from tui.app import TchatApp
from tui.config import Config
from tui.launch import LaunchConfig
from tui.widgets.message_view import MessageView

pytestmark = pytest.mark.model


async def test_default_model_answers_in_the_app(default_model_dir: Path, sessions_dir: Path):
    config = Config(generation={"do_sample": False, "max_new_tokens": 40})
    app = TchatApp(LaunchConfig(sessions_dir=sessions_dir, device="cpu"), config=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, timeout=120)
        assert app.chat_screen.model_info.name == "SmolLM2-135M-Instruct"
        assert "SmolLM2-135M-Instruct" in str(app.chat_screen.status.render())
        assert "cpu · fp32" in str(app.chat_screen.status.render())
        await type_and_send(pilot, "What is the capital of France?")
        await wait_replies(pilot, 1, timeout=120)
        reply = app.chat_screen.session.messages[-1]
        assert "Paris" in reply.content
        assert reply.stats.stop_reason == "end_of_turn"
        assert reply.stats.decode_tps and reply.stats.decode_tps > 0
        assert reply.model.id == "bundled:SmolLM2-135M-Instruct"
        meta = str(app.query(MessageView)[-1].meta.render())
        assert "tok/s" in meta and "first token" in meta
        app.chat_screen.autosaver.flush()
    [session] = saved_sessions(sessions_dir)
    assert "Paris" in session.messages[-1].content
    assert session.model.id == "bundled:SmolLM2-135M-Instruct"
