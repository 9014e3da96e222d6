"""Security defaults: what tchat does without being asked is the safe thing.

Guards:
- `trust_remote_code` (running a model repo's own Python) is off unless `--trust-remote-code`
  is given: in LaunchConfig, LoadSpec, what the app asks for, and the kwargs the engine really
  passes to transformers (spied on the tiny model); no config or session file can turn it on;
- session files, the listing cache and the config file are 0600 and their folders 0700, even
  under a umask of 0 (the app sets modes itself);
- `--resume` refs cannot reach outside the sessions folder, and saving never writes there
  (not even through a symlink placed in the folder);
- no network: loading a model that is in the local Hugging Face cache, and chatting with it,
  opens no connection and resolves no host name (with HF_HUB_OFFLINE unset and HF_ENDPOINT
  pointing at a local socket that records connections); a model that is not cached does try
  the network (the check would see it).
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.robustness.helpers import Notes, load_all, send, session_files, wait_replies, wait_until
from tui.cli import parse_args
from tui.config import Config, save_config_value
from tui.engine.backend import LoadSpec
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig
from tui.store import Message, Session, SessionStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


# ------------------------------------------------------------------ trust_remote_code


def test_trust_remote_code_is_off_unless_the_flag_is_given() -> None:
    assert LaunchConfig().trust_remote_code is False
    assert LoadSpec().trust_remote_code is False
    assert parse_args([]).trust_remote_code is False
    assert parse_args(["-m", "x/y", "--resume"]).trust_remote_code is False
    assert parse_args(["--trust-remote-code"]).trust_remote_code is True


async def test_no_config_or_session_file_turns_trust_remote_code_on(
    private_home: Path, make_app, sessions_dir: Path
) -> None:
    config = private_home / "config" / "tchat" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('trust_remote_code = true\nmodel = "org/m"\n', "utf-8")
    path = SessionStore(sessions_dir).save(Session(messages=[Message("user", "hi")]))
    raw = path.read_text("utf-8")
    path.write_text(raw.replace('[model]\nid = "', 'trust_remote_code = true\n[model]\nid = "'))
    app = make_app(resume=str(path))
    notes = Notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.chat_screen.load_spec().trust_remote_code is False
        # The session file with that key is refused as a whole, not half-obeyed.
        assert "trust_remote_code" in " ".join(notes.titled("Could not resume"))


class FromPretrainedSpy:
    """Records the kwargs of every transformers `from_pretrained` the engine makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import transformers

        self.calls: list[tuple[str, dict[str, Any]]] = []
        for name in ("AutoModelForCausalLM", "AutoTokenizer", "AutoConfig"):
            cls = getattr(transformers, name)
            monkeypatch.setattr(cls, "from_pretrained", self._wrap(name, cls.from_pretrained))

    def _wrap(self, name: str, real: Any) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, dict(kwargs)))
            return real(*args, **kwargs)

        return spy

    def trust_flags(self) -> set[object]:
        return {kw.get("trust_remote_code", "not passed") for _, kw in self.calls}


async def test_the_engine_never_passes_trust_remote_code_true_by_default(
    tiny_model: Path, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.engine.transformers_backend import TransformersBackend

    spy = FromPretrainedSpy(monkeypatch)
    app = make_app(TransformersBackend(), model=str(tiny_model))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, timeout=60)
    names = {name for name, _ in spy.calls}
    assert {"AutoModelForCausalLM", "AutoTokenizer"} <= names
    # Explicitly False (not merely absent: a transformers default could change).
    assert spy.trust_flags() <= {False, "not passed"}
    assert all(kw.get("trust_remote_code") is False for n, kw in spy.calls if n != "AutoConfig")

    # The spy does see the flag when the user asks for it.
    spy.calls.clear()
    TransformersBackend().load(LoadSpec(model=str(tiny_model), trust_remote_code=True))
    assert True in spy.trust_flags()


# ------------------------------------------------------------------ file modes


async def test_sessions_and_their_folder_are_private_even_with_umask_0(
    make_app, sessions_dir: Path
) -> None:
    sessions_dir.mkdir(parents=True, mode=0o755)
    os.chmod(sessions_dir, 0o755)  # an existing, too-open folder gets tightened
    with umask(0):
        app = make_app(FakeBackend(script="ok"), format="json")
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "private")
            await wait_replies(pilot, 1)
        app = make_app(FakeBackend(script="ok"), resume="")  # resuming writes the index
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "still private")
            await wait_replies(pilot, 1)
    assert mode(sessions_dir) == 0o700
    files = sorted(sessions_dir.iterdir())
    assert {p.name for p in files} >= {".tchat-index.json"} and session_files(sessions_dir)
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


async def test_the_config_file_written_by_the_app_is_private_even_with_umask_0(
    private_home: Path, make_app
) -> None:
    config = private_home / "config" / "tchat" / "config.toml"
    with umask(0):
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            app.theme = "tchat-light" if app.theme != "tchat-light" else "tchat-dark"
            await pilot.pause()
            await wait_until(pilot, config.exists)
        save_config_value("model", "org/m")  # and the domain function itself
    assert mode(config) == 0o600 and mode(config.parent) == 0o700
    assert [p.name for p in config.parent.iterdir() if p.name.startswith(".")] == []  # no temps


# ------------------------------------------------------------------ staying inside the folder

OUTSIDE_REFS = ["../../etc/passwd", "/etc/passwd", "a/b", "..", "~root", "x\x00y", "../x.toml"]


@pytest.mark.parametrize("ref", OUTSIDE_REFS)
async def test_a_resume_ref_outside_the_folder_gets_a_clear_message_and_a_new_chat(
    make_app, sessions_dir: Path, tmp_path: Path, ref: str
) -> None:
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    app = make_app(FakeBackend(script="ok"), resume=ref)
    notes = Notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        [why] = notes.titled("Could not resume")
        assert "not a session id" in why or "no such session file" in why
        assert "new chat" in why
        assert app.chat_screen.session.messages == []
        await send(pilot, "works anyway")
        await wait_replies(pilot, 1)
    written = {p for p in tmp_path.rglob("*") if p not in before and p.is_file()}
    assert written and all(p.parent == sessions_dir for p in written)


async def test_a_chat_opened_from_outside_is_imported_and_the_original_is_left_alone(
    make_app, sessions_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "Downloads"
    original = SessionStore(elsewhere).save(Session(messages=[Message("user", "from a friend")]))
    before = original.read_bytes(), original.stat().st_mtime_ns
    app = make_app(FakeBackend(script="ok"), resume=str(original))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "my reply")
        await wait_replies(pilot, 1)
    assert (original.read_bytes(), original.stat().st_mtime_ns) == before
    [imported] = load_all(sessions_dir)
    assert [m.content for m in imported.messages][:2] == ["from a friend", "my reply"]


async def test_a_symlink_in_the_sessions_folder_never_lets_a_save_write_outside(
    make_app, sessions_dir: Path, tmp_path: Path
) -> None:
    target = SessionStore(tmp_path / "outside").save(Session(messages=[Message("user", "x")]))
    before = target.read_bytes()
    sessions_dir.mkdir(parents=True)
    link = sessions_dir / f"{target.stem}.toml"
    link.symlink_to(target)
    app = make_app(FakeBackend(script="ok"), resume=target.stem)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "through the link?")
        await wait_replies(pilot, 1)
    assert target.read_bytes() == before  # the file outside is untouched
    saved = [p for p in session_files(sessions_dir) if not p.is_symlink()]
    assert saved and all(p.parent == sessions_dir for p in saved)


# ------------------------------------------------------------------ no network


class NetworkGuard:
    """Records every host name lookup and outgoing connection in this process.

    A connection to the local recorder goes through (so it counts what reaches it); anything
    else is refused at once with ENETUNREACH, so a stray download fails fast instead of hanging.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lookups: list[str] = []
        self.connects: list[object] = []
        self.accepted = 0
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
        guard = self

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host not in ("127.0.0.1", "localhost"):
                guard.lookups.append(str(host))
                raise socket.gaierror(socket.EAI_NONAME, "no network in this test")
            return real_getaddrinfo(host, *args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard.connects.append(address)
                if address[0] != "127.0.0.1":
                    raise OSError(errno.ENETUNREACH, "no network in this test")
            return real_connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def online_hub(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A hub cache holding the tiny model as `tchat-tests/tiny`, HF_HUB_OFFLINE unset (as for a
    user), HF_ENDPOINT and proxies pointing at the recorder."""
    import huggingface_hub.constants as hub_constants

    from tests.helpers.hf_cache import place_in_cache

    cache = tmp_path / "hub"
    place_in_cache(tiny_model, cache, "tchat-tests/tiny")
    guard = NetworkGuard(monkeypatch)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_ENDPOINT", guard.endpoint)
    monkeypatch.setattr(hub_constants, "ENDPOINT", guard.endpoint)
    monkeypatch.setattr(
        hub_constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        guard.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
    )
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, guard.endpoint)
    yield guard
    guard.close()


async def test_a_cached_model_loads_and_chats_with_no_network_at_all(
    online_hub: NetworkGuard, make_app
) -> None:
    from tui.engine.transformers_backend import TransformersBackend

    config = Config(generation={"max_new_tokens": 8, "do_sample": False})
    app = make_app(TransformersBackend(), config=config, model="tchat-tests/tiny")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None, timeout=60)
        await send(pilot, "hello")
        await wait_replies(pilot, 1, timeout=60)
        assert app.chat_screen.session.messages[1].stats.stop_reason in ("length", "end_of_turn")
    assert online_hub.lookups == [] and online_hub.connects == [] and online_hub.accepted == 0


def test_a_model_that_is_not_cached_does_go_to_the_network(online_hub: NetworkGuard) -> None:
    """The control for the test above: the guard sees a download when there is one."""
    from tui.engine.backend import EngineError
    from tui.engine.transformers_backend import TransformersBackend

    with pytest.raises(EngineError):
        TransformersBackend().load(LoadSpec(model="tchat-tests/not-cached"))
    assert online_hub.connects or online_hub.lookups
