"""SessionStore on real files: saving, loading, broken files, permissions, finding sessions."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from tui.store import (
    Message,
    ModelRef,
    ReplyStats,
    Session,
    SessionLoadError,
    SessionRefError,
    SessionSaveError,
    SessionStore,
)
from tui.store.session import FORMAT_VERSION

REPO = Path(__file__).resolve().parents[2]
TRICKY = (
    "line 1\nline 2\r\n\"quoted\" 'single' \\back\\slash\\ tab\t NUL\x00 ESC\x1b[31m é 😀 \u2028"
)


def chat(content: str = "hello", **kw: object) -> Session:
    s = Session(title="Greeting", **kw)  # type: ignore[arg-type]
    s.messages = [
        Message("user", content),
        Message(
            "assistant",
            content + "!",
            stats=ReplyStats(3, 4, 0.01, 50.0, 0.2, "end_of_turn"),
            model=ModelRef("org/m"),
        ),
    ]
    return s


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


# ------------------------------------------------------------------ saving and loading


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_round_trip_through_a_file_is_exact(tmp_path: Path, fmt: str) -> None:
    store = SessionStore(tmp_path / "s", fmt=fmt)
    s = chat(TRICKY, system_prompt=TRICKY)
    s.title = TRICKY
    path = store.save(s)
    assert path == tmp_path / "s" / f"{s.id}.{fmt}"
    assert SessionStore(tmp_path / "s").load(path) == s


def test_control_characters_are_escaped_in_toml_not_written_raw(store: SessionStore) -> None:
    """A raw NUL or ESC in the file would break editors, grep and terminals that cat it."""
    raw = store.save(chat("a\x00b\x1bc")).read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw
    assert b"a\\u0000b\\u001bc" in raw


def test_multi_line_text_stays_readable_in_toml(store: SessionStore) -> None:
    text = store.save(chat("first line\nsecond line")).read_text()
    assert 'content = """\nfirst line\nsecond line"""' in text


def test_windows_line_endings_survive_toml(store: SessionStore) -> None:
    """tomli_w would turn CRLF into LF in a triple-quoted string; pasted Windows text keeps CR."""
    s = chat("pasted\r\nfrom\r\nWindows")
    assert store.load(store.save(s)).messages[0].content == "pasted\r\nfrom\r\nWindows"


def test_files_are_private(store: SessionStore) -> None:
    path = store.save(chat())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700


def test_an_existing_loose_folder_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir(mode=0o755)
    SessionStore(folder).save(chat())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_session_loaded_from_json_keeps_saving_as_json(tmp_path: Path) -> None:
    s = chat()
    json_path = SessionStore(tmp_path, fmt="json").save(s)
    toml_store = SessionStore(tmp_path, fmt="toml")
    loaded = toml_store.load(json_path)
    loaded.messages.append(Message("user", "more"))
    assert toml_store.save(loaded) == json_path
    assert sorted(p.name for p in tmp_path.iterdir()) == [json_path.name]
    assert toml_store.load(json_path).messages[-1].content == "more"


def test_repeated_saves_update_the_same_file(store: SessionStore) -> None:
    s = chat()
    first = store.save(s)
    s.messages.append(Message("user", "again"))
    assert store.save(s) == first
    assert store.load(first).messages[-1].content == "again"


def test_a_crash_during_the_replace_leaves_the_old_file_and_no_temp_file(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = chat()
    path = store.save(s)
    before = snapshot(store.directory)
    s.messages.append(Message("user", "lost in the crash"))

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        store.save(s)
    monkeypatch.undo()
    assert snapshot(store.directory) == before  # same bytes, and no stray .tmp file
    assert store.load(path).messages[-1].content == "hello!"


def test_a_session_that_could_not_be_read_back_is_not_saved(store: SessionStore) -> None:
    s = chat()
    path = store.save(s)
    before = path.read_bytes()
    s.settings.temperature = float("nan")
    with pytest.raises(SessionSaveError, match="settings.temperature: must be a finite number"):
        store.save(s)
    s.settings.temperature = 0.5
    s.id = "../escape"
    with pytest.raises(SessionSaveError, match="not a valid session id"):
        store.save(s)
    assert path.read_bytes() == before
    assert not (store.directory.parent / "escape.toml").exists()


def test_unpaired_surrogates_are_saved_as_question_marks(store: SessionStore) -> None:
    """Rare model output no UTF-8 file can hold: the chat is saved, that character is not."""
    path = store.save(chat("a\ud800b"))
    assert store.load(path).messages[0].content == "a?b"


# ------------------------------------------------------------------ broken files


BROKEN = {
    "bad.toml": (b'format_version = 1\nid = "x\n', "not valid TOML"),
    "bad.json": (b'{"format_version": 1, "id": ', "not valid JSON"),
    "nan.json": (b'{"format_version": 1, "x": NaN}', "NaN is not a number JSON allows"),
    "dup.json": (b'{"format_version": 1, "format_version": 1}', "duplicate key"),
    "latin1.toml": (b'title = "caf\xe9"', "not UTF-8"),
    "types.toml": (
        b'format_version = 1\nid = "a"\ncreated = "2026-01-01"\nupdated = "2026-01-01"\n'
        b"title = 5\n",
        "title: expected a string, got an integer",
    ),
    "missing.json": (b'{"format_version": 1, "id": "a"}', "created: missing"),
    "future.toml": (
        f"format_version = {FORMAT_VERSION + 1}\n".encode(),
        f"written by a newer tchat (format {FORMAT_VERSION + 1})",
    ),
    "date.toml": (
        b'format_version = 1\nid = "a"\ncreated = 2026-01-01T00:00:00Z\n',
        "TOML date/time (quote it",
    ),
    "deep.json": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "array.json": (b"[]", "top level: expected a table"),
    "empty.toml": (b"", "format_version: missing"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_are_reported_by_name_and_left_untouched(tmp_path: Path, name: str) -> None:
    raw, expected = BROKEN[name]
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(SessionLoadError) as info:
        SessionStore(tmp_path).load(path)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: ")
    assert expected in info.value.reason
    assert path.read_bytes() == raw


def test_missing_file_folder_and_wrong_extension_are_load_errors(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    (tmp_path / "dir.toml").mkdir()
    (tmp_path / "notes.txt").write_text("hi")
    for name, expected in [
        ("nope.toml", "cannot read (No such file or directory)"),
        ("dir.toml", "cannot read"),
        ("notes.txt", "expected .toml or .json"),
        ("nul\x00.toml", "embedded null byte"),
    ]:
        with pytest.raises(SessionLoadError, match=re.escape(expected)):
            store.load(tmp_path / name)


def test_a_fifo_is_refused_instead_of_hanging_the_app(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.toml")
    with pytest.raises(SessionLoadError, match="not a regular file"):
        SessionStore(tmp_path).load(tmp_path / "pipe.toml")


def test_a_file_that_failed_to_load_is_never_overwritten(store: SessionStore) -> None:
    """Bad-file rule: a save that would land on it goes to a copy with a new id instead."""
    s = chat()
    path = store.save(s)
    broken = path.read_bytes().replace(
        f"format_version = {FORMAT_VERSION}".encode(), b"format_version = 9"
    )
    path.write_bytes(broken)
    app_store = SessionStore(store.directory)  # a fresh tchat, e.g. after an upgrade/downgrade
    with pytest.raises(SessionLoadError):
        app_store.load(path)
    result = app_store.save_checked(s)  # the app still holds the chat in memory and saves it
    assert result.copied and result.copied_from == path.stem
    assert "failed to load" in (result.reason or "")
    assert path.read_bytes() == broken
    assert app_store.load(result.path) == s


V0_TOML = b"""format_version = 0
id = "20250301-120000-0a0b0c"
title = "From a pre-release build"
created = "2025-03-01T12:00:00+00:00"
updated = "2025-03-01T12:01:00+00:00"
model = "HuggingFaceTB/SmolLM2-135M-Instruct"

[[messages]]
role = "user"
text = "Name three colours."
created = "2025-03-01T12:00:05+00:00"

[[messages]]
role = "assistant"
text = "Red, gr"
created = "2025-03-01T12:00:06+00:00"
stopped = true
"""


def test_a_format_0_file_opens_unchanged_and_is_upgraded_on_the_next_save(
    store: SessionStore,
) -> None:
    store.directory.mkdir(parents=True)
    path = store.directory / "20250301-120000-0a0b0c.toml"
    path.write_bytes(V0_TOML)
    s = store.load(path)
    assert path.read_bytes() == V0_TOML  # reading migrates in memory only
    assert s.model.id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert [m.content for m in s.messages] == ["Name three colours.", "Red, gr"]
    assert s.messages[1].stopped
    s.messages.append(Message("user", "Go on"))
    assert store.save(s) == path
    assert path.read_text().startswith(f"format_version = {FORMAT_VERSION}\n")
    assert store.load(path) == s


def test_the_example_sessions_open() -> None:
    store = SessionStore(REPO / "sessions")
    for name in ("example.toml", "example.json"):
        s = store.load(REPO / "sessions" / name)
        assert s.system_prompt
        assert [m.role for m in s.messages] == ["user", "assistant", "user", "assistant"]
        assert all(m.stats is not None for m in s.messages if m.role == "assistant")
        assert s.messages[-1].stopped


def test_opening_a_file_outside_the_folder_imports_it(store: SessionStore) -> None:
    example = REPO / "sessions" / "example.toml"
    before = example.read_bytes()
    s = store.load(example)
    s.messages.append(Message("user", "continuing"))
    path = store.save(s)
    assert path == store.directory / f"{s.id}.toml"
    assert example.read_bytes() == before


# ------------------------------------------------------------------ finding sessions


def test_resolve_by_id_prefix_and_path(store: SessionStore, tmp_path: Path) -> None:
    a, b = chat(id="20260101-000000-aaaaaa"), chat(id="20260101-000000-bbbbbb")
    pa, pb = store.save(a), store.save(b)
    assert store.resolve(a.id) == pa
    assert store.resolve("20260101-000000-b") == pb
    assert store.resolve(str(pa)) == pa
    assert store.resolve(pa.name) == pa  # a bare file name is looked up in the folder too
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    assert store.resolve(str(elsewhere)) == elsewhere
    with pytest.raises(SessionRefError, match="matches several sessions"):
        store.resolve("20260101")
    with pytest.raises(SessionRefError, match="no session 'zzz'"):
        store.resolve("zzz")
    with pytest.raises(SessionRefError, match="no such session file"):
        store.resolve("missing.toml")


@pytest.mark.parametrize(
    "ref", ["../x", "../../etc/passwd", "/etc/passwd", "a/b", "~/x", "..", "x\x00y", ""]
)
def test_resolve_refuses_refs_that_could_leave_the_folder(tmp_path: Path, ref: str) -> None:
    outside = tmp_path / "x"
    outside.write_text("not a session")
    store = SessionStore(tmp_path / "sessions")
    with pytest.raises(SessionRefError) as info:
        store.resolve(ref)
    assert isinstance(info.value, LookupError)  # the app catches LookupError


def test_list_shows_summaries_newest_first_and_unreadable_files_with_the_reason(
    store: SessionStore,
) -> None:
    old = chat(updated="2026-01-01T00:00:00+00:00")
    new = chat(updated="2026-02-01T00:00:00+00:00")
    offset = chat(updated="2026-01-15T00:00:00-05:00")
    for s in (new, old, offset):
        store.save(s)
    bad = store.directory / "broken.toml"
    bad.write_bytes(b"this is = = not toml")
    (store.directory / "notes.txt").write_text("ignored")
    entries = store.list()
    assert [e.summary.id for e in entries if e.summary] == [new.id, offset.id, old.id]
    assert entries[-1].path == bad and not entries[-1].ok
    assert "not valid TOML" in (entries[-1].error or "")
    first = entries[0].summary
    assert first is not None
    assert (first.title, first.model_id, first.message_count) == ("Greeting", "", 2)
    assert bad.read_bytes() == b"this is = = not toml"


def test_list_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert SessionStore(tmp_path / "none").list() == []
    assert SessionStore(tmp_path / "none").newest() is None


def test_list_reuses_cached_summaries_until_a_file_changes(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = [chat(f"chat {i}") for i in range(5)]
    for s in sessions:
        store.save(s)
    store.list()
    parsed: list[Path] = []
    real = SessionStore._parse
    counting = staticmethod(lambda p, r: parsed.append(p) or real(p, r))
    monkeypatch.setattr(SessionStore, "_parse", counting)
    assert len(store.list()) == 5
    assert parsed == []
    sessions[0].title = "Renamed"
    store.save(sessions[0])
    titles = {e.summary.title for e in store.list() if e.summary}
    assert titles == {"Greeting", "Renamed"}
    assert [p.name for p in parsed] == [f"{sessions[0].id}.toml"]


def test_a_corrupt_cache_is_rebuilt(store: SessionStore) -> None:
    store.save(chat())
    (store.directory / ".tchat-index.json").write_text('{"schema": 1, "format": 1, "entries": 7}')
    assert len(store.list()) == 1
    (store.directory / ".tchat-index.json").write_text("garbage")
    assert len(store.list()) == 1


def test_newest_is_by_updated_not_mtime_and_skips_unreadable_files(store: SessionStore) -> None:
    recent = chat(updated="2026-03-01T00:00:00+00:00")
    store.save(recent)
    store.save(chat(updated="2025-01-01T00:00:00+00:00"))  # written last: newest mtime
    (store.directory / "zzz.toml").write_text("broken =")
    assert store.newest() == store.directory / f"{recent.id}.toml"


def test_delete_removes_only_session_files_in_the_folder(
    store: SessionStore, tmp_path: Path
) -> None:
    path = store.save(chat())
    store.delete(path)
    assert not path.exists() and store.list() == []
    outside = tmp_path / "keep.toml"
    outside.write_text("x")
    with pytest.raises(SessionRefError, match="not deleted"):
        store.delete(outside)
    assert outside.exists()


def test_rename_sets_the_title_and_saves(store: SessionStore) -> None:
    s = chat()
    store.save(s)
    path = store.rename(s, "Better name")
    assert store.load(path).title == "Better name"
    assert store.list()[0].summary.title == "Better name"  # type: ignore[union-attr]


def test_search_finds_titles_and_message_text_case_insensitively(store: SessionStore) -> None:
    a = chat("How do I reverse a list?")
    b = chat("Tell me about Kubernetes")
    b.title = "Cluster stuff"
    c = chat("nothing relevant")
    for s in (a, b, c):
        store.save(s)
    (store.directory / "bad.json").write_text("{")
    hits = store.search("KUBERNETES")
    assert [h.entry.summary.id for h in hits] == [b.id]  # type: ignore[union-attr]
    assert hits[0].message_index == 0 and "Kubernetes" in hits[0].snippet
    assert [h.entry.summary.id for h in store.search("cluster")] == [b.id]  # type: ignore[union-attr]
    assert store.search("no such words") == []
    assert len(store.search('a "quoted\\ needle')) == 0  # not plain: parsed, still no match


def test_search_snippets_show_control_characters_harmlessly(store: SessionStore) -> None:
    store.save(chat("before \x1b[31m red"))
    (hit,) = store.search("red")
    assert "\x1b" not in hit.snippet and "␛" in hit.snippet


def test_export_markdown_reads_like_the_chat(store: SessionStore) -> None:
    s = store.load(REPO / "sessions" / "example.toml")
    md = store.export_markdown(s)
    assert md.startswith(f"# {s.title}\n")
    assert "## System prompt\n\n> " in md
    assert md.count("## User") == 2 and md.count("## Assistant") == 2
    assert "stopped by you" in md
    assert s.messages[1].content in md


def test_a_format_1_file_opens_unchanged_and_is_upgraded_on_the_next_save(
    store: SessionStore,
) -> None:
    """A real file of the previous format (the format-1 example): read as it was, never
    rewritten by reading, written in the current format only when the chat is saved."""
    old = (REPO / "tests" / "data" / "sessions" / "format-1.toml").read_bytes()
    store.directory.mkdir(parents=True)
    path = store.directory / "20261124-091502-a1b2c3.toml"
    path.write_bytes(old)
    s = store.load(path)
    assert path.read_bytes() == old
    assert s.title == "Lists vs tuples in Python" and len(s.messages) == 4
    assert s.model.backend is None and s.messages[1].thinking is None
    s.messages.append(Message("user", "More?"))
    store.save(s)
    assert path.read_text().startswith(f"format_version = {FORMAT_VERSION}\n")
    assert store.load(path) == s


def test_format_2_keeps_the_engine_and_the_thinking_and_never_a_credential(
    store: SessionStore,
) -> None:
    s = chat()
    s.model = ModelRef(
        id="Qwen/Qwen3-8B", backend="remote", endpoint="http://user:secret@gpu-box:8000/v1"
    )
    s.messages.append(Message("assistant", "42", thinking="The user wants a number."))
    path = store.save(s)
    text = path.read_text()
    assert "secret" not in text and 'endpoint = "http://gpu-box:8000/v1"' in text
    back = store.load(path)
    assert back.model.backend == "remote" and back.model.endpoint == "http://gpu-box:8000/v1"
    assert back.messages[-1].thinking == "The user wants a number."
    assert back.messages[-1].content == "42"
    path.write_text(text.replace("gpu-box:8000", "me:pw@gpu-box:8000"))
    with pytest.raises(SessionLoadError, match="endpoint: holds credentials"):
        SessionStore(store.directory).load(path)
