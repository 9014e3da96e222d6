"""Crash safety: whatever happens to the process or the disk, what the user typed survives.

Guards the promise in the README ("a crash or a dropped SSH connection loses at most a few
seconds of a reply and never what you typed"; "Session not saved ... the chat goes on in
memory and saving resumes by itself"):

- the real app, killed with SIGKILL mid-reply in a real terminal, leaves files that parse, with
  the user's message and the reply up to the last periodic save, and resuming shows it;
- SIGTERM saves the partial reply and exits cleanly;
- a full disk / read-only folder (injected OSErrors: tests run as root, where chmod does not stop
  writes) is reported, the chat goes on, and everything reaches the disk once it can.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

import pytest
from textual.widgets import Markdown

import tui.store.autosave as autosave
import tui.store.files as store_files
from tests.robustness.helpers import Notes, load_all, send, session_files, wait_replies, wait_until
from tests.robustness.term import FakeTerminal
from tui.engine.fake import FakeBackend
from tui.store import Message, Session, SessionSaveError, SessionStore
from tui.store.autosave import Autosaver
from tui.widgets.message_view import MessageView

# A reply that takes minutes at 0.05 s a word: the kill always lands mid-stream.
LONG_SCRIPT = " ".join(f"word{i}" for i in range(3000))
QUESTION = "Tell me everything, slowly."


@pytest.fixture
def term(private_home: Path, tmp_path: Path):  # noqa: ANN201
    script = tmp_path / "script.txt"
    script.write_text(LONG_SCRIPT, "utf-8")
    t = FakeTerminal(private_home, script, delay=0.05)
    yield t
    t.close()


def _streaming_reply_on_disk(folder: Path) -> str | None:
    """The partial reply text once a periodic save has written one, else None."""
    files = session_files(folder)
    if len(files) != 1:
        return None
    try:
        session = SessionStore(folder).load(files[0])
    except Exception:  # noqa: BLE001 - a reader may race the rename; just look again
        return None
    if len(session.messages) == 2 and session.messages[1].content:
        assert session.messages[1].stats.stop_reason == "streaming"
        return session.messages[1].content
    return None


@pytest.mark.e2e
async def test_sigkill_mid_reply_keeps_the_question_and_the_reply_up_to_the_last_save(
    term: FakeTerminal, make_app
) -> None:
    term.start_app()
    term.wait_for("ready (loaded in", timeout=30)
    term.type(QUESTION)
    term.keys("Enter")
    term.wait_for("tok/s", timeout=10)
    folder = term.sessions_dir()
    # The user's message is saved before generation starts: it is on disk at once.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not session_files(folder):
        time.sleep(0.05)
    [first] = load_all(folder)
    assert first.messages[0].content == QUESTION
    # Wait for a periodic save of the streaming reply (every 3 s), then kill without warning.
    deadline = time.monotonic() + 10
    seen = None
    while time.monotonic() < deadline and seen is None:
        seen = _streaming_reply_on_disk(folder)
        time.sleep(0.1)
    assert seen, "no periodic save of the streaming reply within 10 s"
    time.sleep(0.5)
    os.kill(term.app_pid(), signal.SIGKILL)
    term.wait_for("TCHAT-EXITED-137", timeout=10)

    [session] = load_all(folder)  # every file parses (load_all raises otherwise)
    user, reply = session.messages
    assert user.role == "user" and user.content == QUESTION
    # The file says the reply was cut off, and holds it up to the last periodic save.
    assert reply.stats.stop_reason == "streaming"
    assert reply.content.startswith(seen)
    assert LONG_SCRIPT.startswith(reply.content) and len(reply.content) < len(LONG_SCRIPT)

    # Resuming shows the interrupted reply, and the chat goes on.
    app = make_app(resume="", sessions_dir=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: len(app.query(MessageView)) == 2)
        shown = app.query(MessageView)[1]
        assert shown.query_one(Markdown).source == reply.content
        assert "interrupted" in str(shown.meta.render())
        await send(pilot, "and then?")
        await wait_replies(pilot, 1)
    [session] = load_all(folder)
    assert [m.content for m in session.messages[:3]] == [QUESTION, reply.content, "and then?"]
    assert session.messages[3].stats.stop_reason == "end_of_turn"


@pytest.mark.e2e
async def test_sigkill_mid_reply_in_a_branch_loses_neither_version(
    term: FakeTerminal, make_app
) -> None:
    """A reply regenerated (a second version) and killed mid-stream: the file keeps the first
    version whole in its branch and the second up to the last save, and resuming shows both."""
    term.start_app()
    term.wait_for("ready (loaded in", timeout=30)
    term.type(QUESTION)
    term.keys("Enter")
    term.wait_for("tok/s", timeout=10)
    time.sleep(0.5)
    term.keys("Escape")  # the first version, stopped
    term.wait_for("stopped by you", timeout=10)
    folder = term.sessions_dir()
    deadline = time.monotonic() + 5
    first = ""
    while time.monotonic() < deadline and not first:
        [saved] = load_all(folder)
        if saved.messages[-1].stats.stop_reason == "cancelled":
            first = saved.messages[-1].content
        time.sleep(0.05)
    assert first
    term.keys("BTab")  # focus the reply...
    term.wait_for("Regenerate", timeout=5)
    time.sleep(0.2)
    term.keys("r")  # ... and regenerate it: version 2 streams
    term.wait_for("2/2", timeout=10)
    deadline = time.monotonic() + 10
    seen = ""
    while time.monotonic() < deadline and not seen:
        [saved] = load_all(folder)
        reply = saved.messages[-1]
        if saved.branches and reply.stats.stop_reason == "streaming" and reply.content:
            seen = reply.content
        time.sleep(0.1)
    assert seen, "no periodic save of the second version within 10 s"
    os.kill(term.app_pid(), signal.SIGKILL)
    term.wait_for("TCHAT-EXITED-137", timeout=10)

    [session] = load_all(folder)
    assert [m.content for m in session.branches] == [first]  # version 1, whole
    assert session.branches[0].stats.stop_reason == "cancelled"
    reply = session.messages[-1]
    assert reply.stats.stop_reason == "streaming" and reply.content.startswith(seen)

    app = make_app(resume="", sessions_dir=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: len(app.query(MessageView)) == 2)
        view = app.query(MessageView)[1]
        assert "2/2" in str(view.role_label.render())
        view.focus()
        await pilot.press("left")
        await wait_until(pilot, lambda: app.chat_screen.session.messages[-1].content == first)


@pytest.mark.e2e
def test_sigterm_saves_the_partial_reply_and_exits_cleanly(term: FakeTerminal) -> None:
    term.start_app()
    term.wait_for("ready (loaded in", timeout=30)
    term.type(QUESTION)
    term.keys("Enter")
    term.wait_for("tok/s", timeout=10)
    time.sleep(1.0)  # under the 3 s autosave period: only the signal handler can save this
    os.kill(term.app_pid(), signal.SIGTERM)
    term.wait_for("TCHAT-EXITED-0", timeout=10)
    [session] = load_all(term.sessions_dir())
    user, reply = session.messages
    assert user.content == QUESTION
    assert reply.stats.stop_reason == "cancelled"  # stopped, not "still streaming"
    assert reply.content.count("word") >= 5 and LONG_SCRIPT.startswith(reply.content)


# ------------------------------------------------------------------ a failing disk


class FailingDisk:
    """Makes every session write fail with `err` until `heal()`; counts the faults injected."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, err: int) -> None:
        self.err = err
        self.faults = 0
        self.broken = False
        real = store_files.atomic_write

        def write(path: Path, data: bytes, mode: int = 0o600) -> None:
            if self.broken:
                self.faults += 1
                raise OSError(self.err, os.strerror(self.err), str(path))
            real(path, data, mode)

        monkeypatch.setattr(store_files, "atomic_write", write)

    def break_(self) -> None:
        self.broken = True

    def heal(self) -> None:
        self.broken = False


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry failed saves every 0.2 s instead of 2 s: same behaviour, faster tests."""
    monkeypatch.setattr(autosave, "RETRY_S", 0.2)


FAULTS = {"full disk": errno.ENOSPC, "read-only": errno.EROFS, "no permission": errno.EACCES}


@pytest.mark.parametrize("err", FAULTS.values(), ids=FAULTS.keys())
async def test_a_failing_disk_is_reported_the_chat_goes_on_and_saving_resumes_by_itself(
    make_app, sessions_dir: Path, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    disk = FailingDisk(monkeypatch, err)
    app = make_app(FakeBackend(script="a short answer", delay=0.01))
    notes = Notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "saved turn")
        await wait_replies(pilot, 1)
        await wait_until(pilot, lambda: app.chat_screen.status.saved == "saved")
        [path] = session_files(sessions_dir)
        good = path.read_bytes()

        disk.break_()
        await send(pilot, "typed while the disk is full")
        await wait_replies(pilot, 2)
        await wait_until(pilot, lambda: "NOT SAVED" in str(app.chat_screen.status.render()))
        [message] = notes.titled("Session not saved")
        assert os.strerror(err) in message and "in memory" in message
        # The chat went on: the reply to the unsaved turn is on screen.
        assert app.query(MessageView)[-1].query_one(Markdown).source == "a short answer"
        # The old file is intact (atomic writes: never half a file).
        assert path.read_bytes() == good and load_all(sessions_dir)

        disk.heal()  # space freed: no new turn needed, the unsaved turns reach the disk
        await wait_until(pilot, lambda: app.chat_screen.status.saved == "saved", timeout=15)
        [session] = load_all(sessions_dir)
        assert [m.content for m in session.messages] == [
            "saved turn",
            "a short answer",
            "typed while the disk is full",
            "a short answer",
        ]
        await send(pilot, "after recovery")
        await wait_replies(pilot, 3)
    [session] = load_all(sessions_dir)
    assert len(session.messages) == 6 and session.messages[4].content == "after recovery"
    assert disk.faults >= 2  # the user turn and the finished reply both failed
    # One streak of failures is one toast, not one per retry.
    assert len(notes.titled("Session not saved")) == 1


async def test_a_chat_left_with_ctrl_n_while_the_disk_is_full_is_saved_once_it_can_be(
    make_app, sessions_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ctrl+n promises "the previous one is saved": on a full disk it must still get there."""
    disk = FailingDisk(monkeypatch, errno.ENOSPC)
    app = make_app(FakeBackend(script="ok"))
    async with app.run_test(size=(100, 30)) as pilot:
        disk.break_()
        await send(pilot, "first chat, never saved yet")
        await wait_replies(pilot, 1)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: not app.chat_screen.session.messages)
        await send(pilot, "second chat")
        await wait_replies(pilot, 2)
        assert session_files(sessions_dir) == []
        disk.heal()
        await wait_until(pilot, lambda: len(session_files(sessions_dir)) == 2, timeout=15)
    firsts = sorted(s.messages[0].content for s in load_all(sessions_dir))
    assert firsts == ["first chat, never saved yet", "second chat"]


# ------------------------------------------------------------------ two tchats, one chat


async def test_two_apps_on_one_resumed_chat_both_reply_and_nothing_is_lost(
    make_app, sessions_dir: Path
) -> None:
    """Compare-and-save at app level: the second writer gets a copy, told so; both histories
    are complete on disk."""
    first = make_app(FakeBackend(script="original answer"))
    async with first.run_test(size=(100, 30)) as pilot:
        await send(pilot, "shared start")
        await wait_replies(pilot, 1)
    [original] = session_files(sessions_dir)

    a = make_app(FakeBackend(script="answer from A"), resume="")
    b = make_app(FakeBackend(script="answer from B"), resume="")
    notes_b = Notes(b)
    async with a.run_test(size=(100, 30)) as pa, b.run_test(size=(100, 30)) as pb:
        await wait_until(pa, lambda: len(a.query(MessageView)) == 2)
        await wait_until(pb, lambda: len(b.query(MessageView)) == 2)
        await send(pa, "from A")
        await wait_replies(pa, 1)
        await send(pb, "from B")
        await wait_replies(pb, 1)
        await wait_until(pb, lambda: notes_b.titled("Saved as a copy"))
    sessions = {s.messages[-2].content: s for s in load_all(sessions_dir)}
    assert set(sessions) == {"from A", "from B"}
    for who in "AB":
        contents = [m.content for m in sessions[f"from {who}"].messages]
        assert contents == ["shared start", "original answer", f"from {who}", f"answer from {who}"]
    assert sessions["from A"].id == original.stem  # the first writer kept the original file


async def test_ctrl_n_mid_reply_after_another_tchat_saved_keeps_the_old_chats_copy(
    make_app, sessions_dir: Path
) -> None:
    """Another tchat saved the chat; ctrl+n stops the reply here, and that last save goes to a
    copy (compare-and-save). The new chat must get its own file, not overwrite the copy, which
    holds the only record of the stopped reply."""
    path = SessionStore(sessions_dir).save(Session(messages=[Message("user", "shared")]))
    backend = FakeBackend(
        delay=0.01, reply_for=lambda m: "ok" if m[-1]["content"] == "new chat" else LONG_SCRIPT
    )
    app = make_app(backend, resume=str(path))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "my question")
        await wait_until(
            pilot, lambda: app.chat_screen.session.messages[-1].content.count("word") >= 5
        )
        await wait_until(pilot, lambda: "my question" in path.read_text("utf-8"))
        other = SessionStore(sessions_dir)  # meanwhile, another tchat saves the same chat
        theirs = other.load(path)
        theirs.messages.append(Message("user", "from the other tchat"))
        other.save(theirs)
        await pilot.press("ctrl+n")
        await wait_replies(pilot, 1)
        await wait_until(pilot, lambda: not app.chat_screen.session.messages)
        await send(pilot, "new chat")
        await wait_replies(pilot, 2)
    texts = [[m.content for m in s.messages] for s in load_all(sessions_dir)]
    stopped = [t for t in texts if t[:2] == ["shared", "my question"] and t[2].startswith("word0")]
    assert stopped, f"the stopped reply is in no file: {texts}"
    assert ["new chat", "ok"] in texts
    assert len(texts) == 3  # the other tchat's file, the old chat's copy, the new chat


# ------------------------------------------------------------------ the autosaver on its own


class FlakyStore:
    """A store whose saves fail while `failing`; remembers what reached the "disk" per id."""

    def __init__(self) -> None:
        self.failing = True
        self.attempts = 0
        self.disk: dict[str, list[str]] = {}

    def save_checked(self, session: Session):  # noqa: ANN201
        self.attempts += 1
        if any(m.content == "refused" for m in session.messages):
            raise SessionSaveError("not saved: refused")
        if self.failing:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.disk[session.id] = [m.content for m in session.messages]
        return store_files.SaveResult(Path(f"{session.id}.toml"))


def _chat(*texts: str) -> Session:
    return Session(messages=[Message("user", t) for t in texts])


def _wait(predicate, timeout: float = 5.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_autosaver_retries_the_newest_snapshot_of_every_chat_and_reports_once() -> None:
    store, errors = FlakyStore(), []
    saver = Autosaver(store, on_error=errors.append, retry_s=0.05)
    a, b = _chat("a1"), _chat("b1")
    saver.submit(a)
    saver.flush()
    a.messages.append(Message("user", "a2"))
    saver.save_now(a)  # e.g. ctrl+n: synchronous, fails too
    saver.submit(b)
    saver.flush()
    _wait(lambda: store.attempts >= 6)  # several retries while the disk is full
    assert saver.unsaved == 2 and store.disk == {}
    assert len(errors) == 1  # one toast for the whole streak, not one per retry
    store.failing = False
    _wait(lambda: saver.unsaved == 0)
    assert store.disk == {a.id: ["a1", "a2"], b.id: ["b1"]}  # newest of each, none lost
    saver.close()


def test_autosaver_does_not_retry_a_session_the_store_refuses() -> None:
    store = FlakyStore()
    store.failing = False
    saver = Autosaver(store, retry_s=0.01)
    saver.submit(_chat("refused"))
    saver.flush()
    time.sleep(0.1)
    assert store.attempts == 1 and saver.unsaved == 0  # it would fail the same way forever
    saver.close()


def test_autosaver_gives_unsaved_chats_a_last_try_when_closed() -> None:
    store = FlakyStore()
    saver = Autosaver(store, retry_s=60)  # no timed retry before close
    chat = _chat("typed before quitting")
    saver.submit(chat)
    saver.flush()
    store.failing = False
    saver.close()
    assert store.disk == {chat.id: ["typed before quitting"]}


def test_a_copy_that_could_not_be_written_is_still_reported_as_a_copy_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compare-and-save on a full disk: the failed attempt must not leave the chat with the
    copy's new id, or the retry would write it as if it were a new chat and nobody would be
    told it went to a copy."""
    store = SessionStore(tmp_path)
    mine = Session(messages=[Message("user", "mine")])
    path = store.save(mine)
    other = SessionStore(tmp_path)
    theirs = other.load(path)
    theirs.messages.append(Message("user", "theirs"))
    other.save(theirs)
    disk = FailingDisk(monkeypatch, errno.ENOSPC)
    disk.break_()
    mine.messages.append(Message("user", "more of mine"))
    with pytest.raises(OSError):
        store.save_checked(mine)
    assert mine.id == path.stem  # nothing written, nothing renamed
    disk.heal()
    result = store.save_checked(mine)
    assert result.copied and result.copied_from == path.stem and result.reason
    assert [m.content for m in SessionStore(tmp_path).load(result.path).messages] == [
        "mine",
        "more of mine",
    ]
