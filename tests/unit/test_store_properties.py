"""Property tests: any chat round-trips exactly; any damaged file ends in SessionLoadError.

"Damaged" covers what users and crashes produce: truncation (a full disk, a killed editor),
random byte edits, values of the wrong type, missing and unknown keys. Whatever happens, the
file is read only, never changed.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tui.store import (
    GenerationSettings,
    Message,
    ModelRef,
    ReplyStats,
    Session,
    SessionLoadError,
    SessionStore,
    session_from_dict,
    session_to_dict,
)
from tui.store.formats import decode, encode
from tui.store.session import ROLES, STOP_REASONS

FEW = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any character but surrogates, plus text built from the pieces formats get wrong: control
# characters, quotes and backslashes, and multi-character traps such as CRLF (tomli_w's
# triple-quoted strings turn it into LF) or a '"""' that could close a TOML string early.
TRICKY = list("\x00\x01\x08\t\n\r\x0b\x0c\x1b\x1f\x7f\x85\"'\\ #=[]{}é€😀\u2028\u2029\ufeff")
TRICKY += ["\r\n", '"""', "'''", '\\"', "\\\n", "\n\n", " \n", "\\u0000", "\\n", "[[a]]"]
text = st.text(st.characters(exclude_categories=("Cs",))) | st.lists(
    st.sampled_from(TRICKY), max_size=12
).map("".join)
names = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
stamps = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-5, minutes=-30))])
    | st.none(),
).map(lambda d: d.isoformat())
counts = st.integers(0, 2**40)
figures = st.floats(0, 1e9, allow_nan=False, allow_infinity=False)
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,30}", fullmatch=True)

models = st.builds(
    ModelRef,
    id=names,
    revision=st.none() | names,
    dtype=st.none() | st.sampled_from(["bf16", "fp16"]),
    quantization=st.none() | names,
    device=st.none() | names,
)
stats = st.builds(
    ReplyStats,
    prompt_tokens=counts,
    new_tokens=counts,
    ttft_s=st.none() | figures,
    decode_tps=st.none() | figures,
    total_s=figures,
    stop_reason=st.sampled_from(STOP_REASONS),
)
messages = st.builds(
    Message,
    role=st.sampled_from(ROLES),
    content=text,
    created=stamps,
    stats=st.none() | stats,
    model=st.none() | models,
    error=st.none() | text,
)
gen_settings = st.builds(
    GenerationSettings,
    max_new_tokens=st.integers(1, 2**31),
    do_sample=st.booleans(),
    temperature=figures,
    top_p=st.floats(0, 1),
    top_k=counts,
    repetition_penalty=st.floats(0, 100, exclude_min=True),
    seed=st.none() | st.integers(-(2**63), 2**63 - 1),
)
sessions = st.builds(
    Session,
    id=ids,
    title=text,
    created=stamps,
    updated=stamps,
    model=models,
    settings=gen_settings,
    system_prompt=text,
    messages=st.lists(messages, max_size=5),
)


@FEW
@given(session=sessions, fmt=st.sampled_from(["toml", "json"]))
def test_any_session_round_trips_exactly_through_file_bytes(session: Session, fmt: str) -> None:
    raw = encode(session_to_dict(session), fmt)
    assert session_from_dict(decode(raw, fmt, "x"), "x") == session


@settings(max_examples=40, deadline=None)
@given(session=sessions, fmt=st.sampled_from(["toml", "json"]))
def test_any_session_round_trips_through_the_store(session: Session, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = SessionStore(Path(folder), fmt=fmt).save(session)
        assert SessionStore(Path(folder)).load(path) == session


# ------------------------------------------------------------------ damaged files


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("damaged")


def load_never_crashes(folder: Path, raw: bytes, fmt: str) -> Session | SessionLoadError:
    """Write `raw`, load it: a Session or a SessionLoadError naming the file; file unchanged."""
    path = folder / f"damaged.{fmt}"
    path.write_bytes(raw)
    try:
        result: Session | SessionLoadError = SessionStore(folder).load(path)
    except SessionLoadError as exc:
        assert exc.path == path
        result = exc
    assert path.read_bytes() == raw
    return result


@st.composite
def damaged_bytes(draw: st.DrawFn) -> tuple[bytes, str]:
    fmt = draw(st.sampled_from(["toml", "json"]))
    raw = encode(session_to_dict(draw(sessions)), fmt)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(["truncate", "replace", "insert", "delete"]))
        junk = draw(st.binary(min_size=1, max_size=4))
        if op == "truncate":
            raw = raw[:i]
        elif op == "replace":
            raw = raw[:i] + junk + raw[i + len(junk) :]
        elif op == "insert":
            raw = raw[:i] + junk + raw[i:]
        else:
            raw = raw[:i] + raw[i + len(junk) :]
    return raw, fmt


@FEW
@given(case=damaged_bytes())
def test_damaged_bytes_load_or_raise_session_load_error(
    scratch: Path, case: tuple[bytes, str]
) -> None:
    raw, fmt = case
    result = load_never_crashes(scratch, raw, fmt)
    # `--hypothesis-show-statistics` shows both outcomes occur: many edits keep a valid file.
    event(f"{fmt}: {'refused' if isinstance(result, SessionLoadError) else 'loaded'}")


def _locations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path below the root: leaves and tables alike."""
    out: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        out.append((*path, key))
        if isinstance(child, (dict, list)):
            out += _locations(child, (*path, key))
    return out


def _wrong_values(value: Any) -> list[Any]:
    """Values the schema must refuse where `value` was (ints are fine where floats were)."""
    if isinstance(value, bool):
        return ["true", 1, 1.5, [], {}]
    if isinstance(value, int):
        return ["1", True, 1.5, [1], {"a": 1}]
    if isinstance(value, float):
        return ["1.0", True, [1.0], {}]
    if isinstance(value, str):
        return [1, True, 1.5, ["x"], {"a": "b"}]
    if isinstance(value, list):
        return ["x", 1, {"a": 1}]
    return ["x", 1, [1]]


REQUIRED_KEYS = {
    "format_version", "id", "created", "updated",  # top level
    "role", "content",  # messages (and created)
    "prompt_tokens", "new_tokens", "total_s", "stop_reason",  # stats
}  # fmt: skip


@st.composite
def wrongly_typed(draw: st.DrawFn) -> tuple[bytes, str]:
    data = session_to_dict(draw(sessions))
    where = draw(st.sampled_from(_locations(data)))
    parent = data
    for key in where[:-1]:
        parent = parent[key]
    last = where[-1]
    kind = draw(st.sampled_from(["type", "drop", "unknown"]))
    if kind == "drop" and isinstance(parent, dict) and last in REQUIRED_KEYS | {"id"}:
        # `id` is required in [model] too; dropping it anywhere must fail.
        del parent[last]
    elif kind == "unknown" and isinstance(parent, dict):
        parent["not_a_tchat_key"] = 1
    else:
        parent[last] = draw(st.sampled_from(_wrong_values(parent[last])))
    fmt = draw(st.sampled_from(["toml", "json"]))
    return encode(data, fmt), fmt


@FEW
@given(case=wrongly_typed())
def test_wrong_types_missing_and_unknown_keys_always_fail_cleanly(
    scratch: Path, case: tuple[bytes, str]
) -> None:
    raw, fmt = case
    assert isinstance(load_never_crashes(scratch, raw, fmt), SessionLoadError)


# Arbitrary JSON-like data shaped roughly like a session (format 0 and 1), for the codec alone.
leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
anything = st.recursive(
    leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(
    ["id", "title", "created", "updated", "model", "settings", "system_prompt", "messages"]
)
message_keys = st.sampled_from(["role", "content", "text", "created", "stopped", "stats", "model"])
shaped = st.builds(
    lambda version, rest: {"format_version": version, **rest},
    st.sampled_from([0, 1, 2, -1, "1", None, True, 1.0]),
    st.dictionaries(
        keys,
        anything | st.lists(st.dictionaries(message_keys, anything, max_size=4), max_size=3),
    ),
)


@FEW
@given(data=shaped | anything)
def test_arbitrary_data_gives_a_session_or_session_load_error(data: Any) -> None:
    try:
        session_from_dict(data, "fuzz")
    except SessionLoadError as exc:
        assert exc.path == "fuzz"
