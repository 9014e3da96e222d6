"""Sessions to plain dicts and back: the one place that knows the file schema.

`session_to_dict` gives what TOML and JSON both can hold (no None: TOML has no null, so a None
field is left out and reading restores its default). `session_from_dict` validates strictly:
every type, range and key is checked, unknown keys are refused, older formats are migrated and
newer ones refused. The schema is documented in sessions/FORMAT.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from tui.store import tree
from tui.store._reader import Reader, ShapeError, type_name
from tui.store.errors import SessionLoadError
from tui.store.migrations import OLDEST_FORMAT, migrate
from tui.store.session import (
    FORMAT_VERSION,
    ROLES,
    STOP_REASONS,
    GenerationSettings,
    Message,
    ModelRef,
    ReplyStats,
    Session,
)

# Ids become file names, so they are restricted to characters that cannot leave the folder or
# clash with the extension: no separators, no dots, no leading dash.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def is_valid_session_id(text: str) -> bool:
    """True for ids that are safe as a file name, like "20261125-204553-3f9a1c"."""
    return isinstance(text, str) and _ID_RE.fullmatch(text) is not None


# ---------------------------------------------------------------- writing


def _text(s: Any) -> Any:
    """Text no UTF-8 file can hold (an unpaired surrogate, e.g. from a model folder name with
    invalid UTF-8) is saved with "?" in its place rather than failing the whole save."""
    if not isinstance(s, str):
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "replace").decode("utf-8")
    return s


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _text(v) for k, v in d.items() if v is not None}


def _num(x: Any) -> Any:
    """Float fields hold floats in the file even when the app set an int (`temperature = 1`)."""
    return float(x) if isinstance(x, int) and not isinstance(x, bool) else x


def _figure(x: float | None) -> float | None:
    """A measured figure that came out as inf/NaN (e.g. tokens / 0 s) was not measured."""
    x = _num(x)
    return None if isinstance(x, float) and not math.isfinite(x) else x


def _model_dict(m: ModelRef) -> dict[str, Any]:
    d = asdict(m)
    d["endpoint"] = strip_credentials(m.endpoint)
    return _drop_none(d)


def strip_credentials(url: str | None) -> str | None:
    """A server URL as a file may hold it: any user:password@ part left out."""
    if not url or "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}{sep}{host.rpartition('@')[2]}{slash}{path}"


def _stats_dict(s: ReplyStats) -> dict[str, Any]:
    d = asdict(s)
    d["ttft_s"], d["decode_tps"] = _figure(s.ttft_s), _figure(s.decode_tps)
    d["accepted_rate"] = _figure(s.accepted_rate)
    d["thinking_s"] = _figure(s.thinking_s)
    d["total_s"] = _num(s.total_s)
    return _drop_none(d)


def _settings_dict(g: GenerationSettings, chosen: list[str] | None = None) -> dict[str, Any]:
    d = asdict(g)
    for key in ("temperature", "top_p", "repetition_penalty"):
        d[key] = _num(d[key])
    if chosen is not None:
        d["chosen"] = sorted(set(chosen))
    return _drop_none(d)


def _message_dict(m: Message, session: GenerationSettings, branch: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {"id": m.id} if m.id else {}
    if branch and m.parent is not None:
        d["parent"] = m.parent
    d.update(role=m.role, content=_text(m.content), created=m.created)
    if m.error is not None:
        d["error"] = _text(m.error)
    if m.thinking is not None:
        d["thinking"] = _text(m.thinking)
    if m.stats is not None:
        d["stats"] = _stats_dict(m.stats)
    if m.model is not None:
        d["model"] = _model_dict(m.model)
    if m.settings is not None and m.settings != session:  # the same as the session's: left out
        d["settings"] = _settings_dict(m.settings)
    return d


def session_to_dict(session: Session) -> dict[str, Any]:
    """The session as the file holds it, current format, keys in the order they are written."""
    d: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "id": session.id,
        "title": _text(session.title),
        "created": session.created,
        "updated": session.updated,
        "system_prompt": _text(session.system_prompt),
        "model": _model_dict(session.model),
        "settings": _settings_dict(session.settings, session.settings_chosen),
        "messages": [_message_dict(m, session.settings) for m in session.messages],
    }
    if session.branches:  # format 3: the other versions, and the turns that followed them
        d["branches"] = [_message_dict(m, session.settings, True) for m in session.branches]
    return d


# ---------------------------------------------------------------- reading


def _read_model(r: Reader) -> ModelRef:
    m = ModelRef(
        id=r.text("id"),
        revision=r.text("revision", None),
        dtype=r.text("dtype", None),
        quantization=r.text("quantization", None),
        device=r.text("device", None),
        backend=r.text("backend", None),
        endpoint=r.text("endpoint", None),
    )
    if m.endpoint is not None and strip_credentials(m.endpoint) != m.endpoint:
        raise ShapeError("model.endpoint: holds credentials (user:password@); remove them")
    r.done()
    return m


def _read_stats(r: Reader) -> ReplyStats:
    s = ReplyStats(
        prompt_tokens=r.integer("prompt_tokens", min=0),
        new_tokens=r.integer("new_tokens", min=0),
        ttft_s=r.number("ttft_s", None, min=0.0),
        decode_tps=r.number("decode_tps", None, min=0.0),
        total_s=r.number("total_s", min=0.0),
        stop_reason=r.choice("stop_reason", STOP_REASONS),
        accepted_rate=r.number("accepted_rate", None, min=0.0, max=1.0),
        thinking_tokens=r.integer("thinking_tokens", None, min=0),
        thinking_s=r.number("thinking_s", None, min=0.0),
    )
    r.done()
    return s


def _read_settings(r: Reader) -> GenerationSettings:
    d = GenerationSettings()  # every setting is optional: a hand-written file may set only some
    g = GenerationSettings(
        max_new_tokens=r.integer("max_new_tokens", d.max_new_tokens, min=1),
        do_sample=r.boolean("do_sample", d.do_sample),
        temperature=r.number("temperature", d.temperature, min=0.0),
        top_p=r.number("top_p", d.top_p, min=0.0, max=1.0),
        top_k=r.integer("top_k", d.top_k, min=0),
        repetition_penalty=r.number("repetition_penalty", d.repetition_penalty, positive=True),
        seed=r.integer("seed", None),
        thinking=r.boolean("thinking", None),
    )
    r.done()
    return g


_SETTING_NAMES = tuple(f.name for f in fields(GenerationSettings))


def _read_chosen(r: Reader) -> list[str] | None:
    """`settings.chosen`: the settings the chat set itself (absent in older files: None)."""
    chosen = r.strings("chosen", None)
    for name in chosen or ():
        if name not in _SETTING_NAMES:
            raise ShapeError(f"{r.loc('chosen')}: {name!r} is not a setting")
    return chosen


def settings_from_dict(data: Any) -> GenerationSettings:
    """Check a table of sampling settings by the session-file rules (every key optional).

    For other places that hold the same settings, such as the config file's [generation]: a
    value accepted there is then always one a session can be saved with. Raises ValueError
    naming the key and the problem, e.g. "temperature: must be a finite number, got nan".
    """
    try:
        return _read_settings(Reader(data))
    except ShapeError as exc:
        raise ValueError(str(exc)) from None


def _read_message_id(r: Reader, key: str, default: Any) -> Any:
    value = r.text(key, default)
    if value and not is_valid_session_id(value):  # the same characters as a session id
        raise ShapeError(f"{r.loc(key)}: {value!r} is not a valid message id")
    return value


def _read_message(r: Reader, branch: bool = False) -> Message:
    stats, model, settings = r.table("stats"), r.table("model"), r.table("settings")
    m = Message(
        id=_read_message_id(r, "id", ""),
        parent=_read_message_id(r, "parent", None) if branch else None,
        role=r.choice("role", ROLES),
        content=r.text("content"),
        created=r.timestamp("created"),
        stats=_read_stats(stats) if stats is not None else None,
        model=_read_model(model) if model is not None else None,
        error=r.text("error", None),
        thinking=r.text("thinking", None),
        settings=_read_settings(settings) if settings is not None else None,
    )
    r.done()
    return m


def _read_session(r: Reader) -> Session:
    r.integer("format_version")  # checked by the caller; read so done() accepts it
    sid = r.text("id")
    if not is_valid_session_id(sid):
        raise ShapeError(
            f"id: {sid!r} is not a valid session id (letters, digits, '-' and '_' only)"
        )
    model, settings = r.table("model"), r.table("settings")
    chosen = _read_chosen(settings) if settings is not None else None
    s = Session(
        id=sid,
        title=r.text("title", ""),
        created=r.timestamp("created"),
        updated=r.timestamp("updated"),
        model=_read_model(model) if model is not None else ModelRef(),
        settings=_read_settings(settings) if settings is not None else GenerationSettings(),
        system_prompt=r.text("system_prompt", ""),
        messages=[_read_message(m) for m in r.tables("messages")],
        format_version=FORMAT_VERSION,
        settings_chosen=chosen,
        branches=[_read_message(m, branch=True) for m in r.tables("branches")],
    )
    r.done()
    trouble = tree.problem(s)
    if trouble is not None:
        raise ShapeError(trouble)
    return s


def _check_version(data: dict[str, Any]) -> int:
    if "format_version" not in data:
        raise ShapeError("format_version: missing (is this a tchat session file?)")
    version = data["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise ShapeError(f"format_version: expected an integer, got {type_name(version)}")
    if version > FORMAT_VERSION:
        raise ShapeError(
            f"written by a newer tchat (format {version}); this tchat reads up to {FORMAT_VERSION}"
        )
    if version < OLDEST_FORMAT:
        raise ShapeError(f"format_version: {version} is not a tchat format")
    return version


def session_from_dict(data: Any, source: Path | str = "<memory>") -> Session:
    """Validate and build a Session; raises SessionLoadError(source, reason) on any problem."""
    try:
        reader = Reader(data)  # refuses a non-table top level before anything else
        version = _check_version(reader.data)
        if version < FORMAT_VERSION:
            reader = Reader(migrate(reader.data, version, FORMAT_VERSION))
        return _read_session(reader)
    except ShapeError as exc:
        raise SessionLoadError(source, str(exc)) from None
