"""Sessions as trees (format 3): what the file holds of every branch, how strictly it is read,
and that older files open as a single path. The rules of switching and pruning are the chat
core's (tests/unit/test_chat_core.py); here it is the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.store import Message, Session, SessionLoadError, SessionStore, search, tree
from tui.store.codec import session_from_dict, session_to_dict
from tui.store.export import export_markdown
from tui.store.session import FORMAT_VERSION, GenerationSettings

REPO = Path(__file__).resolve().parents[2]


def linear(*texts: str) -> Session:
    roles = ("user", "assistant")
    return Session(title="t", messages=[Message(roles[i % 2], t) for i, t in enumerate(texts)])


def branched() -> Session:
    """q1 a1 q2 a2 shown; q1's reply regenerated (b1) and q2 edited (q2') are kept."""
    s = linear("q1", "a1", "q2", "a2")
    tree.cut(s, 1)
    s.messages.append(Message("assistant", "b1"))
    tree.switch(s, 1, next(m for m in s.branches if m.content == "a1"))
    tree.cut(s, 2)
    s.messages += [Message("user", "q2 edited"), Message("assistant", "a2 again")]
    tree.switch(s, 2, next(m for m in s.branches if m.content == "q2"))
    return s


def test_a_linear_chat_is_written_as_before_no_ids_no_branches() -> None:
    data = session_to_dict(linear("q", "a"))
    assert data["format_version"] == FORMAT_VERSION == 3
    assert "branches" not in data
    assert all(set(m) == {"role", "content", "created"} for m in data["messages"])


def test_a_branched_chat_keeps_every_version_in_the_file(tmp_path: Path) -> None:
    s = branched()
    assert [m.content for m in s.messages] == ["q1", "a1", "q2", "a2"]
    for fmt in ("toml", "json"):
        store = SessionStore(tmp_path / fmt, fmt=fmt)
        back = store.load(store.save(s))
        assert back == s
        assert sorted(m.content for m in back.branches) == ["a2 again", "b1", "q2 edited"]
        assert tree.VersionCounts(back).at(1) == (1, 2) and tree.VersionCounts(back).at(2) == (1, 2)
        tree.step(back, 2, 1)
        assert [m.content for m in back.messages] == ["q1", "a1", "q2 edited", "a2 again"]


def test_branch_messages_name_their_parent_and_a_first_message_has_none() -> None:
    s = linear("q", "a")
    tree.cut(s, 0)
    s.messages += [Message("user", "q again")]
    data = session_to_dict(s)
    old_q, old_a = data["branches"]
    assert "parent" not in old_q and old_a["parent"] == old_q["id"]
    assert tree.versions(session_from_dict(data), 0)[0].content == "q"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["branches"][1].update(parent="m99"), "branches[1].parent: 'm99' is no"),
        (lambda d: d["branches"][0].update(id=d["messages"][0]["id"]), "is also messages[0]"),
        (lambda d: d["branches"][0].pop("id"), "branches[0].id: missing"),
        (lambda d: d["branches"][0].update(id="../x"), "not a valid message id"),
        (lambda d: d["messages"][0].update(parent="m1"), "unknown key 'parent'"),
        (
            lambda d: (
                d["branches"][0].update(parent=d["branches"][1]["id"]),
                d["branches"][1].update(parent=d["branches"][0]["id"]),
            ),
            "go round in a circle",
        ),
    ],
)
def test_a_broken_tree_is_refused_with_the_key_that_is_wrong(change, reason) -> None:  # noqa: ANN001
    data = json.loads(json.dumps(session_to_dict(branched())))
    change(data)
    with pytest.raises(SessionLoadError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        session_from_dict(data)


def test_a_reply_keeps_its_own_settings_only_where_they_differ() -> None:
    s = linear("q", "a", "q2", "a2")
    s.messages[1].settings = GenerationSettings(temperature=0.2)
    s.messages[3].settings = GenerationSettings()  # the session's: not written
    data = session_to_dict(s)
    assert data["messages"][1]["settings"]["temperature"] == 0.2
    assert "settings" not in data["messages"][3]
    back = session_from_dict(data)
    assert back.messages[1].settings == GenerationSettings(temperature=0.2)
    tree.pin_settings(back)  # on opening: a reply without settings was written with these
    assert back.messages[3].settings == back.settings


@pytest.mark.parametrize("name", ["format-1.toml", "format-2.toml"])
def test_an_older_file_opens_as_a_single_path_and_is_rewritten_only_by_a_save(
    tmp_path: Path, name: str
) -> None:
    """A real file of an older format: read as one path (no branches), never rewritten by
    reading, written as format 3 only when the chat is saved, which keeps it as it was."""
    old = (REPO / "tests" / "data" / "sessions" / name).read_bytes()
    store = SessionStore(tmp_path / "sessions")
    store.directory.mkdir(parents=True)
    path = store.directory / "20261124-091502-a1b2c3.toml"
    path.write_bytes(old)
    s = store.load(path)
    assert path.read_bytes() == old
    assert [m.role for m in s.messages] == ["user", "assistant", "user", "assistant"]
    assert not s.branches and all(not m.id for m in s.messages)
    if name == "format-2.toml":
        assert s.model.backend == "remote" and s.messages[1].thinking
    tree.cut(s, 3)  # regenerate the last reply
    s.messages.append(Message("assistant", "a newer version"))
    store.save(s)
    assert path.read_text().startswith("format_version = 3\n")
    back = store.load(path)
    assert back == s and tree.VersionCounts(back).at(3) == (2, 2)


def test_a_file_that_does_not_migrate_is_left_as_it_was(tmp_path: Path) -> None:
    bad = (REPO / "tests" / "data" / "sessions" / "format-2.toml").read_text()
    bad = bad.replace('role = "user"', 'role = "someone"', 1)
    store = SessionStore(tmp_path / "sessions")
    store.directory.mkdir(parents=True)
    path = store.directory / "20261124-091502-a1b2c3.toml"
    path.write_text(bad)
    with pytest.raises(SessionLoadError, match="role"):
        store.load(path)
    s = Session(id="20261124-091502-a1b2c3", messages=[Message("user", "new")])
    store.save(s)  # a chat with that id is saved as a copy, the broken file untouched
    assert path.read_text() == bad


def test_search_covers_every_branch_and_export_writes_the_path_shown(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    store.save(branched())
    hits = store.search("again")
    assert len(hits) == 1 and "again" in hits[0].snippet and hits[0].branch
    assert store.search("a2")[0].branch is False  # found on the path first
    md = export_markdown(branched())
    assert "q2 edited" not in md and "b1" not in md and "## User" in md
    assert "3 messages on other branches" in md


def test_search_hits_say_where_they_are() -> None:
    assert search.SearchHit.__dataclass_fields__["branch"].default is False


def test_fork_keeps_model_settings_and_system_prompt_but_no_branches() -> None:
    s = branched()
    s.system_prompt = "be brief"
    f = tree.fork(s, 2)
    assert [m.content for m in f.messages] == ["q1", "a1", "q2"] and not f.branches
    assert f.system_prompt == "be brief" and f.settings == s.settings and f.id != s.id
    assert "(fork)" in f.title


def test_the_example_in_format_md_reads_as_described() -> None:
    text = (REPO / "sessions" / "FORMAT.md").read_text()
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    head = (
        'format_version = 3\nid = "20261124-091502-a1b2c3"\n'
        'created = "2026-11-24T09:15:02+00:00"\nupdated = "2026-11-24T09:16:40+00:00"\n'
    )
    from tui.store.formats import decode

    s = session_from_dict(decode((head + block).encode(), "toml", "FORMAT.md"))
    assert [m.content for m in s.messages] == ["Name a colour.", "Blue."]
    assert tree.VersionCounts(s).at(1) == (1, 2)
    assert s.branches[0].settings is not None and s.branches[0].settings.temperature == 1.2


def test_deleting_a_lone_message_hands_its_branches_to_the_message_before_it() -> None:
    s = linear("q", "a", "q2", "a2")
    tree.cut(s, 3)  # a2 regenerated: two versions under q2
    s.messages.append(Message("assistant", "a2 again"))
    tree.delete_one(s, 2)  # q2 goes alone
    assert [m.content for m in s.messages] == ["q", "a", "a2 again"]
    assert tree.VersionCounts(s).at(2) == (2, 2) and tree.problem(s) is None
