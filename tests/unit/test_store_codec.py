"""The session codec: what a file may contain, and what the user is told when it is wrong.

These work on plain dicts (no disk); test_store_files.py covers the same rules through files.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from tui.store import (
    FORMAT_VERSION,
    GenerationSettings,
    Message,
    ModelRef,
    ReplyStats,
    Session,
    SessionLoadError,
    is_valid_session_id,
    session_from_dict,
    session_to_dict,
)


def chat() -> Session:
    """A small chat with every optional part set somewhere."""
    model = ModelRef(id="org/model", revision="main", dtype="bf16", device="cuda:0")
    return Session(
        id="20260101-000000-abcdef",
        title="A chat",
        created="2026-01-01T00:00:00+00:00",
        updated="2026-01-01T00:05:00+00:00",
        model=model,
        settings=GenerationSettings(temperature=0.2, seed=7),
        system_prompt="Be brief.",
        messages=[
            Message("user", "hi", "2026-01-01T00:00:01+00:00"),
            Message(
                "assistant",
                "hello",
                "2026-01-01T00:00:02+00:00",
                stats=ReplyStats(10, 2, 0.05, 40.0, 0.1, "cancelled"),
                model=model,
            ),
            Message("assistant", "", "2026-01-01T00:00:03+00:00", error="CUDA out of memory"),
        ],
    )


def reason(data: Any) -> str:
    with pytest.raises(SessionLoadError) as info:
        session_from_dict(data, "chat.toml")
    assert info.value.path == "chat.toml"
    assert str(info.value).startswith("chat.toml: ")
    return info.value.reason


def test_round_trip_is_exact() -> None:
    s = chat()
    assert session_from_dict(session_to_dict(s)) == s


def test_unset_values_are_left_out_because_toml_has_no_null() -> None:
    data = session_to_dict(Session(messages=[Message("user", "x")]))
    assert "seed" not in data["settings"]
    assert set(data["model"]) == {"id"}
    assert set(data["messages"][0]) == {"role", "content", "created"}

    def no_none(value: Any) -> bool:
        if isinstance(value, dict):
            return all(v is not None and no_none(v) for v in value.values())
        if isinstance(value, list):
            return all(no_none(v) for v in value)
        return True

    assert no_none(session_to_dict(chat()))


def test_missing_optional_keys_restore_defaults() -> None:
    s = session_from_dict(
        {"format_version": 1, "id": "x1", "created": "2026-01-01T00:00:00", "updated": "2026-01-01"}
    )
    assert (s.title, s.system_prompt, s.messages) == ("", "", [])
    assert s.model == ModelRef() and s.settings == GenerationSettings()


def test_settings_written_as_int_read_back_as_float() -> None:
    """A user's `temperature = 1` is a fine number; ints from config save as floats."""
    s = chat()
    s.settings.temperature = 1  # type: ignore[assignment]
    data = session_to_dict(s)
    assert isinstance(data["settings"]["temperature"], float)
    assert session_from_dict(data).settings.temperature == 1.0


def test_unmeasurable_figures_are_dropped_not_saved_as_nan() -> None:
    s = chat()
    s.messages[1].stats.decode_tps = math.inf  # type: ignore[union-attr]
    s.messages[1].stats.ttft_s = math.nan  # type: ignore[union-attr]
    stats = session_to_dict(s)["messages"][1]["stats"]
    assert "decode_tps" not in stats and "ttft_s" not in stats


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("format_version"), "format_version: missing"),
        (lambda d: d.update(format_version="1"), "format_version: expected an integer"),
        (lambda d: d.update(format_version=True), "format_version: expected an integer"),
        (lambda d: d.pop("id"), "id: missing"),
        (lambda d: d.update(id="../../etc/passwd"), "not a valid session id"),
        (lambda d: d.update(title=3), "title: expected a string, got an integer"),
        (lambda d: d.update(created="yesterday"), "created: not an ISO 8601 timestamp"),
        (lambda d: d.update(messages={}), "messages: expected an array of tables"),
        (lambda d: d["messages"].append("hi"), "messages[3]: expected a table, got a string"),
        (lambda d: d["messages"][0].pop("content"), "messages[0].content: missing"),
        (lambda d: d["messages"][0].update(role="bot"), "expected one of system, user, assistant"),
        (lambda d: d["messages"][1]["stats"].update(stop_reason="x"), "stats.stop_reason"),
        (lambda d: d["messages"][1]["stats"].update(new_tokens=-1), "must be at least 0"),
        (lambda d: d["messages"][1]["stats"].update(total_s="1"), "total_s: expected a number"),
        (lambda d: d["settings"].update(top_k=50.0), "top_k: expected an integer, got a number"),
        (lambda d: d["settings"].update(top_p=1.5), "top_p: 1.5 is outside"),
        (lambda d: d["settings"].update(temperature=math.nan), "must be a finite number"),
        (lambda d: d["settings"].update(do_sample=1), "do_sample: expected true or false"),
        (lambda d: d["settings"].update(seed=2**70), "does not fit in 64 bits"),
        (lambda d: d.update(model="org/model"), "model: expected a table, got a string"),
        (lambda d: d["model"].pop("id"), "model.id: missing"),
        (lambda d: d.update(colour="red"), "unknown key 'colour'"),
        (lambda d: d["messages"][1]["stats"].update(x=1), "unknown key 'x' in messages[1].stats"),
        (lambda d: d["messages"][0].update(content="\ud800"), "unpaired surrogate"),
    ],
)
def test_wrong_shapes_are_refused_with_the_key_named(mutate: Any, expected: str) -> None:
    data = session_to_dict(chat())
    mutate(data)
    assert expected in reason(data)


def test_a_top_level_that_is_not_a_table_is_refused() -> None:
    assert "expected a table, got an array" in reason([1, 2])


def test_json_null_is_accepted_only_where_a_value_can_be_unset() -> None:
    data = session_to_dict(chat())
    data["settings"]["seed"] = None
    assert session_from_dict(data).settings.seed is None
    data["title"] = None
    assert "title: expected a string, got null" in reason(data)


def test_a_future_format_is_refused_with_a_clear_reason() -> None:
    data = session_to_dict(chat())
    data["format_version"] = FORMAT_VERSION + 2
    assert reason(data) == (
        f"written by a newer tchat (format {FORMAT_VERSION + 2}); "
        f"this tchat reads up to {FORMAT_VERSION}"
    )


def test_a_negative_format_is_refused() -> None:
    data = session_to_dict(chat())
    data["format_version"] = -1
    assert "-1 is not a tchat format" in reason(data)


def v0_data() -> dict[str, Any]:
    """A pre-release (format 0) session: model as a string, `text`, `stopped = true`."""
    return {
        "format_version": 0,
        "id": "20250101-000000-000000",
        "title": "Old",
        "created": "2025-01-01T00:00:00+00:00",
        "updated": "2025-01-01T00:01:00+00:00",
        "model": "org/old-model",
        "messages": [
            {"role": "user", "text": "hi", "created": "2025-01-01T00:00:01+00:00"},
            {
                "role": "assistant",
                "text": "hel",
                "created": "2025-01-01T00:00:02+00:00",
                "stopped": True,
                "stats": {"prompt_tokens": 5, "new_tokens": 1, "total_s": 0.1},
            },
            {
                "role": "assistant",
                "text": "",
                "created": "2025-01-01T00:00:03+00:00",
                "stopped": True,
            },
            {
                "role": "user",
                "text": "ok",
                "created": "2025-01-01T00:00:04+00:00",
                "stopped": False,
            },
        ],
    }


def test_format_0_is_migrated_in_memory() -> None:
    data = v0_data()
    before = copy.deepcopy(data)
    s = session_from_dict(data)
    assert data == before  # migration never mutates what it was given
    assert s.format_version == FORMAT_VERSION
    assert s.model == ModelRef(id="org/old-model")
    assert [m.content for m in s.messages] == ["hi", "hel", "", "ok"]
    assert s.messages[1].stats == ReplyStats(5, 1, None, None, 0.1, "cancelled")
    assert s.messages[1].stopped and s.messages[2].stopped
    assert s.messages[3].stats is None
    assert session_to_dict(s)["format_version"] == FORMAT_VERSION


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(model={"id": "x"}), "model: expected a string in format 0"),
        (lambda d: d["messages"][1].update(stopped="yes"), "messages[1].stopped"),
        (lambda d: d["messages"][0].update(content="x"), "unknown key 'text' in messages[0]"),
        (lambda d: d.update(messages="x"), "messages: expected an array of tables"),
    ],
)
def test_a_broken_format_0_file_is_refused_not_crashed_on(mutate: Any, expected: str) -> None:
    data = v0_data()
    mutate(data)
    assert expected in reason(data)


@pytest.mark.parametrize("ref", ["", "-x", ".x", "a/b", "a\\b", "..", "a.b", "x" * 129, "é"])
def test_ids_that_could_misbehave_as_file_names_are_invalid(ref: str) -> None:
    assert not is_valid_session_id(ref)


def test_generated_ids_are_valid() -> None:
    assert is_valid_session_id(Session().id)
