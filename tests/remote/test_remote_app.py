"""The full-screen app on a served model (a scripted server of the tests' own): what the user
sees when chatting, when the server fails mid-reply, when a resumed chat's server is gone, and
in the model picker and the gauges."""

from __future__ import annotations

from pathlib import Path

from tests.app.test_chat import saved_sessions, type_and_send, wait_replies, wait_until
from tests.helpers.fake_openai_server import FakeServer, reply_steps
from tests.helpers.serving import free_port
from tui.app import TchatApp
from tui.launch import LaunchConfig
from tui.widgets.conversation import Notice


def served_app(url: str, sessions: Path, **launch: object) -> TchatApp:
    return TchatApp(LaunchConfig(endpoint=url, backend="remote", sessions_dir=sessions, **launch))  # type: ignore[arg-type]


def notices(app: TchatApp) -> str:
    return "\n".join(str(n.render()) for n in app.query(Notice))


async def test_chatting_with_a_served_model(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.chat = reply_steps(
        ["Hello", " from", " the", " server."], usage={"prompt_tokens": 12, "completion_tokens": 6}
    )
    fake_server.pages["/metrics"] = (
        200,
        (
            'vllm:kv_cache_usage_perc{engine="0",model_name="fake-model"} 0.42\n'
            'vllm:num_requests_running{engine="0",model_name="fake-model"} 1.0\n'
            'vllm:num_requests_waiting{engine="0",model_name="fake-model"} 2.0\n'
        ),
        "text/plain",
    )
    fake_server.pages["/version"] = (200, '{"version": "0.32.0"}', "application/json")
    sessions = tmp_path / "sessions"
    app = served_app(fake_server.url, sessions)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, 15)
        detail = f"vLLM 0.32.0 at 127.0.0.1:{fake_server.port}"
        assert app.chat_screen.status.detail == detail
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1, 15)
        reply = app.chat_screen.session.messages[-1]
        assert reply.content == "Hello from the server."
        assert reply.stats is not None and reply.stats.new_tokens == 6  # usage, not 4 chunks
        await wait_until(pilot, lambda: "KV" in app.chat_screen.gauges.text(), 10)
        text = app.chat_screen.gauges.text()
        assert "engine" in text and "42%" in text and "run 1" in text and "wait 2" in text
        assert "this machine" in text and "roof" not in text
    [session] = saved_sessions(sessions)
    assert session.model.backend == "remote" and session.model.endpoint == fake_server.url
    assert session.messages[-1].model.endpoint == fake_server.url


async def test_a_cut_stream_keeps_the_partial_reply_and_says_why(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.chat = [("text", "Half a"), ("text", " reply"), ("cut",)]
    app = served_app(fake_server.url, tmp_path / "s")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, 15)
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1, 15)
        reply = app.chat_screen.session.messages[-1]
        assert reply.content == "Half a reply"
        assert reply.error is not None and "lost mid-reply" in reply.error
        assert len(fake_server.bodies) == 1  # nothing re-sent on its own


async def test_resuming_when_the_server_is_gone(tmp_path: Path) -> None:
    from tui.store import SessionStore
    from tui.store.session import Message, ModelRef, Session

    sessions = tmp_path / "s"
    gone = f"http://127.0.0.1:{free_port()}/v1"
    session = Session(messages=[Message("user", "hi"), Message("assistant", "Hi!")])
    session.model = ModelRef(id="fake-model", backend="remote", endpoint=gone)
    SessionStore(sessions).save(session)
    again = TchatApp(LaunchConfig(resume="", sessions_dir=sessions))
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "connection refused" in notices(again), 15)
        text = notices(again)
        assert "pick another model with F6" in text
        assert [m.content for m in again.chat_screen.session.messages] == ["hi", "Hi!"]  # unharmed


async def test_resume_reconnects_to_the_recorded_server(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    sessions = tmp_path / "s"
    app = served_app(fake_server.url, sessions)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, 15)
        await type_and_send(pilot, "hi")
        await wait_replies(pilot, 1, 15)
    again = TchatApp(LaunchConfig(resume="", sessions_dir=sessions))
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: again.chat_screen.model_info is not None, 15)
        assert (
            again.chat_screen.model_info is not None
            and again.chat_screen.model_info.endpoint == fake_server.url
        )
        assert type(again.chat_screen.backend).__name__ == "RemoteBackend"
        await type_and_send(pilot, "more")
        await wait_replies(pilot, 1, 15)
        assert again.chat_screen.session.messages[-1].content == "Hi!"


async def test_the_picker_lists_served_models_and_switches_to_one(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[endpoints.box]\nurl = "{fake_server.url}"\n', "utf-8")
    app = TchatApp(LaunchConfig(backend="fake", sessions_dir=tmp_path / "s", config_path=config))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, 15)
        await pilot.press("f6")
        await wait_until(pilot, lambda: app.chat_screen.picker.catalog is not None, 15)
        entry = next(e for e in app.chat_screen.picker.catalog.entries if e.kind == "remote")
        assert entry.name == "fake-model @ box" and entry.facts.context_length == 4096
        spec = app.chat_screen.picker.load_spec(entry)
        assert spec is not None and spec.endpoint is not None and spec.model == "fake-model"
        app.chat_screen.loads.start(spec)
        await wait_until(
            pilot,
            lambda: (
                app.chat_screen.model_info is not None
                and app.chat_screen.model_info.backend == "remote"
            ),
            15,
        )
        assert (
            type(app.chat_screen.backend).__name__ == "RemoteBackend"
            and app.chat_screen.chat.backend is app.chat_screen.backend
        )
