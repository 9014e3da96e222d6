"""The chat core on a served model: a reply cut by the server is kept, and carried on once the
server is back, as one reply; nothing is sent again on its own."""

from __future__ import annotations

from tests.helpers.fake_openai_server import FakeServer, reply_steps
from tui.chat import Chat
from tui.engine.backend import LoadSpec
from tui.engine.endpoint import Endpoint
from tui.engine.remote.backend import RemoteBackend
from tui.store.session import Session


def run_reply(chat: Chat, reply) -> None:  # noqa: ANN001
    stream, _ = chat.open_stream(chat.launch())
    for piece in stream:
        chat.add_text(piece)
    chat.finish(stream.stats, stream.error)


def test_a_cut_reply_is_continued_once_the_server_is_back(fake_server: FakeServer) -> None:
    backend = RemoteBackend()
    info = backend.load(LoadSpec(endpoint=Endpoint(url=fake_server.url)))
    chat = Chat(Session(), backend, lambda s: None)
    chat.model_info = info
    chat.send("Count to five.")
    fake_server.chat = [("text", "1, 2,"), ("cut",)]
    run_reply(chat, chat.start_reply())
    message = chat.session.messages[-1]
    assert message.content == "1, 2," and message.error and "lost mid-reply" in message.error
    assert len(fake_server.bodies) == 1
    fake_server.chat = reply_steps([" 3,", " 4,", " 5."])
    run_reply(chat, chat.continue_reply(message))
    assert message.content == "1, 2, 3, 4, 5." and message.error is None
    body = fake_server.bodies[-1]
    assert body["continue_final_message"] is True
    assert body["messages"][-1] == {"role": "assistant", "content": "1, 2,"}
