"""Two tchats on one chat: compare-and-save never loses a turn, and never overwrites blindly.

Each SessionStore plays one running tchat (the store keeps what that app read and wrote).
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import pytest

from tui.store import Message, Session, SessionStore


def chat(text: str = "hi") -> Session:
    return Session(title="Shared", messages=[Message("user", text)])


def session_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".toml", ".json"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


def test_two_tchats_saving_one_chat_end_with_two_files_and_no_lost_turns(folder: Path) -> None:
    original = SessionStore(folder).save(chat())
    first, second = SessionStore(folder), SessionStore(folder)
    a, b = first.load(original), second.load(original)
    a.messages.append(Message("user", "from A"))
    b.messages.append(Message("user", "from B"))

    assert first.save(a) == original  # first writer wins the file
    result = second.save_checked(b)  # the second would overwrite A's turn: saved as a copy
    assert result.copied and result.path != original
    assert "changed on disk since it was opened" in (result.reason or "")
    assert b.id == result.path.stem and b.title == "Shared"

    assert first.load(original).messages[-1].content == "from A"
    assert second.load(result.path).messages[-1].content == "from B"
    assert session_files(folder) == sorted([original, result.path])


def test_after_a_copy_later_snapshots_with_the_old_id_go_to_the_copy(folder: Path) -> None:
    """The autosaver saves deep copies that keep the old id: they must not copy again."""
    original = SessionStore(folder).save(chat())
    other, mine = SessionStore(folder), SessionStore(folder)
    app_session = mine.load(original)
    old_id = app_session.id
    theirs = other.load(original)
    theirs.messages.append(Message("user", "theirs"))
    other.save(theirs)

    paths = set()
    for i in range(3):
        app_session.messages.append(Message("user", f"mine {i}"))
        snapshot = copy.deepcopy(app_session)
        paths.add(mine.save(snapshot))
        assert app_session.id == old_id  # the app's own object was never touched
    (copy_path,) = paths
    assert copy_path != original
    assert len(session_files(folder)) == 2
    assert [m.content for m in mine.load(copy_path).messages][-1] == "mine 2"
    assert mine.path_for(app_session) == copy_path


def test_a_file_edited_by_hand_while_open_is_not_overwritten(folder: Path) -> None:
    store = SessionStore(folder)
    s = chat()
    path = store.save(s)
    edited = path.read_text().replace('title = "Shared"', 'title = "Edited by hand"')
    path.write_text(edited)
    s.messages.append(Message("user", "more"))
    result = store.save_checked(s)
    assert result.copied and path.read_text() == edited


def test_a_different_chat_with_the_same_id_is_not_overwritten(folder: Path) -> None:
    existing = chat("existing chat")
    path = SessionStore(folder).save(existing)
    before = path.read_bytes()
    stranger = chat("a new chat that happens to share the id")
    stranger.id = existing.id
    result = SessionStore(folder).save_checked(stranger)
    assert result.copied and "already exists and was not opened here" in (result.reason or "")
    assert path.read_bytes() == before


def test_opening_the_file_again_makes_it_the_save_target_again(folder: Path) -> None:
    original = SessionStore(folder).save(chat())
    other, mine = SessionStore(folder), SessionStore(folder)
    s = mine.load(original)
    other.save(other.load(original))  # rewritten with identical bytes: not a conflict
    assert mine.save(s) == original
    changed = other.load(original)
    changed.title = "changed elsewhere"
    other.save(changed)
    assert mine.save_checked(s).copied
    reopened = mine.load(original)
    reopened.messages.append(Message("user", "continuing the original"))
    assert mine.save(reopened) == original


def test_a_chat_deleted_elsewhere_is_written_again(folder: Path) -> None:
    store = SessionStore(folder)
    s = chat()
    path = store.save(s)
    path.unlink()
    s.messages.append(Message("user", "still here"))
    result = store.save_checked(s)
    assert result.path == path and not result.copied
    assert store.load(path).messages[-1].content == "still here"


def test_concurrent_saves_from_two_tchats_lose_nothing(folder: Path) -> None:
    """Real threads racing: the folder flock makes check-then-replace one step."""
    original = SessionStore(folder).save(chat())
    stores = [SessionStore(folder), SessionStore(folder)]
    sessions = [store.load(original) for store in stores]
    last: dict[int, Path] = {}
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        for n in range(25):
            sessions[i].messages.append(Message("user", f"writer {i} turn {n}"))
            last[i] = stores[i].save(sessions[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(session_files(folder)) == 2 and last[0] != last[1]
    for i in range(2):
        final = SessionStore(folder).load(last[i]).messages
        assert [m.content for m in final] == [m.content for m in sessions[i].messages]
