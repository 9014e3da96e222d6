"""A long streamed reply: shown in bounded pieces while it streams, whole once it is done.

Textual reflows every displayed widget on each update, so a long reply streams into a chain of
Markdown segments and the ones far above the view are hidden behind a spacer of their height
(message.py, segments.py). What the user must see: the reply follows along at the bottom,
scrolling up mid-reply shows all of it, and the finished reply is one ordinary document.
"""

from __future__ import annotations

from textual.widgets import Markdown

from bench.stream_render_scaling import markdown_reply
from tests.app.test_chat import type_and_send, wait_replies, wait_until
from tui.engine.fake import FakeBackend
from tui.store.session import GenerationSettings
from tui.widgets.message_view import MessageView

LONG = markdown_reply(2500)


def _reply_view(app) -> MessageView:  # noqa: ANN001
    return app.query(MessageView)[-1]


def _shown(view: MessageView) -> list[Markdown]:
    return [m for m in view.query(Markdown) if m.display]


async def test_a_long_reply_streams_in_segments_and_ends_as_one_document(make_app) -> None:
    app = make_app(FakeBackend(script=LONG, delay=0.001, context_length=20_000))
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat_screen.session.settings = GenerationSettings(max_new_tokens=5000)
        await type_and_send(pilot, "tell me")
        await wait_until(pilot, lambda: len(_reply_view(app).query(Markdown)) >= 6, 30)
        view = _reply_view(app)
        segments = list(view.query(Markdown))
        hidden = [m for m in segments if not m.display]
        assert hidden, "segments far above the view should be hidden while it follows along"
        assert len(_shown(view)) <= 4
        spacer = view.query_one(".-spacer")
        assert spacer.styles.height is not None and spacer.styles.height.value > 10

        await wait_replies(pilot, 1, timeout=60)
        await pilot.pause(0.2)
        [whole] = view.query(Markdown)
        assert (
            whole.display and whole.source == app.chat_screen.session.messages[-1].content == LONG
        )
        assert not view.query(".-spacer")


async def test_scrolling_up_mid_reply_shows_all_of_it(make_app) -> None:
    app = make_app(FakeBackend(script=LONG, delay=0.002, context_length=20_000))
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat_screen.session.settings = GenerationSettings(max_new_tokens=5000)
        await type_and_send(pilot, "tell me")
        await wait_until(
            pilot, lambda: any(not m.display for m in _reply_view(app).query(Markdown)), 30
        )
        view = _reply_view(app)
        app.chat_screen.conversation.scroll_up(animate=False)
        await pilot.pause(0.1)
        assert all(m.display for m in view.query(Markdown))
        await wait_replies(pilot, 1, timeout=60)
        assert app.chat_screen.session.messages[-1].content == LONG
