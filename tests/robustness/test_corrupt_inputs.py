"""Corrupt inputs: broken config and theme files end in a clear message, never a crash.

Guards "a config file that does not parse is reported when tchat starts, then ignored (never
rewritten)" and the same for theme files, by fuzzing the loaders with hypothesis:

- mutated bytes (flips, truncations, inserted junk) of real, valid files;
- well-formed TOML with values of the wrong type or out of range in every known key;
- JSON, binary and empty files where TOML is expected.

Every case must end in a `ConfigError` / one `ThemeSet.errors` line naming the file, or in a
value the app can use without failing later (a config accepted here must not make every save
fail or stop the app from starting); the file is never modified (bytes and mtime). Session
files have their own fuzzing in tests/unit/test_store_properties.py.

At app level: tchat started with a broken config and a broken theme file starts, says so, and
chats.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.robustness.helpers import Notes, send, wait_replies
from tui.config import Config, ConfigError, load_config, save_config_value
from tui.store import Message, Session, SessionStore, session_from_dict, session_to_dict
from tui.themes import load_themes, shipped_themes_dir

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

VALID_CONFIG = b"""\
model = "HuggingFaceTB/SmolLM2-360M-Instruct"
dtype = "auto"
theme = "tchat-dark"
format = "toml"
sessions_dir = "~/chats"
system_prompt = "You are terse."
model_dirs = ["~/models"]

[generation]
max_new_tokens = 512
temperature = 0.7
top_p = 0.9
top_k = 50
repetition_penalty = 1.1
do_sample = true
seed = 7

[keymap]
new_chat = "ctrl+n"
"""

SHIPPED = shipped_themes_dir()
VALID_THEMES = sorted(SHIPPED.glob("*.toml"))


# ------------------------------------------------------------------ strategies


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with 1-4 random edits: flipped, replaced, inserted or deleted bytes, or cut."""
    raw = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "replace", "insert", "delete", "truncate"]))
        i = draw(st.integers(0, max(len(raw) - 1, 0)))
        junk = draw(
            st.sampled_from([b"[", b"]", b"=", b'"', b"\\", b"\n", b"\x00", b"\xff", b"#", b"{"])
            | st.binary(min_size=1, max_size=4)
        )
        if op == "flip" and raw:
            raw[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "replace":
            raw[i : i + len(junk)] = junk
        elif op == "insert":
            raw[i:i] = junk
        elif op == "delete":
            del raw[i : i + draw(st.integers(1, 8))]
        else:
            del raw[i:]
    return bytes(raw)


# Values of every TOML type (and odd floats): most are wrong somewhere they are put.
toml_values = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()  # nan and inf included: TOML has them
    | st.text(max_size=12)
    | st.sampled_from(["", "~nobody-such-user/x", "\x00", "xml", "fp8", "[/]", "ctrl+n"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=5,
)
# Per key: plausible near misses (what a user might really type) mixed with anything at all.
numbers = st.floats() | st.integers(-(2**63), 2**63 - 1) | st.integers(-2, 3)  # nan, inf too
NEAR_MISSES: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(["", "a/b/c", "~nobody-such-user/m", "\x00"]),
    "dtype": st.sampled_from(["auto", "bf16", "fp8", "float32", "AUTO", ""]),
    "theme": st.sampled_from(["tchat-light", "no-such-theme", "", "[/]"]),
    "format": st.sampled_from(["toml", "json", "xml", "TOML", ""]),
    "sessions_dir": st.sampled_from(["~/x", "~nobody-such-user/x", "a\x00b", "", "/"]),
    "system_prompt": st.sampled_from(["", "[bold]x[/]", "\x1b]0;t\x07"]),
    "model_dirs": st.lists(st.sampled_from(["~/m", "~nobody-such-user/m", "a\x00"]), max_size=2),
    "keymap": st.dictionaries(st.sampled_from(["stop", "quit", "x"]), toml_values, max_size=2),
    "generation": st.dictionaries(st.sampled_from(["top_k", "seed"]), numbers, max_size=2),
    "unknown_key": toml_values,
}
GENERATION_KEYS = [
    *("max_new_tokens", "do_sample", "temperature", "top_p", "top_k", "repetition_penalty"),
    *("seed", "bogus"),
]


@st.composite
def wrongly_typed_config(draw: st.DrawFn) -> bytes:
    """Well-formed TOML: the valid config with some keys given other values."""
    import tomllib

    data: dict[str, Any] = tomllib.loads(VALID_CONFIG.decode())
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):  # half the edits hit [generation], where ranges matter
            if not isinstance(data.get("generation"), dict):  # an earlier edit replaced it
                data["generation"] = {}
            key = draw(st.sampled_from(GENERATION_KEYS))
            data["generation"][key] = draw(numbers | st.booleans() | toml_values)
        else:
            key = draw(st.sampled_from(sorted(NEAR_MISSES)))
            data[key] = draw(NEAR_MISSES[key] | toml_values)
    if draw(st.integers(0, 3)) == 0:  # JSON in a .toml file
        return json.dumps(data, default=str).encode()
    return tomli_w.dumps(data).encode()


config_bytes = st.one_of(
    mutated(VALID_CONFIG),
    wrongly_typed_config(),
    st.binary(max_size=64),
    st.just(b""),
)


@st.composite
def wrongly_typed_theme(draw: st.DrawFn, original: bytes) -> bytes:
    import tomllib

    data: dict[str, Any] = tomllib.loads(original.decode())
    keys = [*data, "variables", "luminosity_spread", "text_alpha", "dark", "nope"]
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(keys))
        if key == "variables" and isinstance(data.get("variables"), dict) and draw(st.booleans()):
            var = draw(st.sampled_from([*data["variables"], "border", "link-style", "x"]))
            data["variables"][var] = draw(toml_values | st.sampled_from(["red;", "#fff}", "$x"]))
        else:
            data[key] = draw(toml_values | st.sampled_from(["#12345", "ansi_nope", "red 200%"]))
    return tomli_w.dumps(data).encode()


theme_bytes = st.sampled_from(VALID_THEMES).flatmap(
    lambda p: st.one_of(
        mutated(p.read_bytes()),
        wrongly_typed_theme(p.read_bytes()),
        st.just(json.dumps({"name": "x", "primary": "red"}).encode()),
        st.binary(max_size=32),
    )
)


# ------------------------------------------------------------------ helpers


@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder per hypothesis example (pytest's tmp_path is per test)."""
    with tempfile.TemporaryDirectory(prefix="tchat-fuzz-") as d:
        yield Path(d)


def fingerprint(path: Path) -> tuple[bytes, int]:
    st_ = path.stat()
    return path.read_bytes(), st_.st_mtime_ns


def usable(cfg: Config, folder: Path) -> None:
    """What the app does with an accepted config must work: it is not the place to fail."""
    # The store is built in App.__init__: a bad format there stops tchat from starting.
    store = SessionStore(folder / "sessions", fmt=cfg.format or "toml")
    if cfg.sessions_dir:
        Path(cfg.sessions_dir).expanduser()  # the app does this before anything else
    # New chats take [generation]: every save would be refused if the file can't hold it.
    session = Session(settings=cfg.generation_settings(), system_prompt=cfg.system_prompt or "")
    session.messages.append(Message("user", "hi"))
    session_from_dict(session_to_dict(session))
    store.save(session)
    assert all(isinstance(v, str) for v in cfg.keymap.values())


# ------------------------------------------------------------------ config files


@FUZZ
@given(raw=config_bytes)
def test_any_config_file_loads_usably_or_is_refused_clearly_and_left_untouched(raw: bytes) -> None:
    with scratch() as folder:
        path = folder / "config.toml"
        path.write_bytes(raw)
        before = fingerprint(path)
        try:
            cfg = load_config(path)
        except ConfigError as exc:
            assert str(exc).startswith(f"{path}: ")  # names the file, then says why
            assert len(str(exc)) > len(f"{path}: ") + 5
            event("refused")
        else:
            usable(cfg, folder)
            event("loaded")
        assert fingerprint(path) == before


@FUZZ
@given(raw=config_bytes)
def test_switching_theme_never_rewrites_a_config_that_does_not_parse(raw: bytes) -> None:
    """The theme switcher saves `theme = ...`; on a file it cannot parse it must refuse."""
    import tomllib

    with scratch() as folder:
        path = folder / "config.toml"
        path.write_bytes(raw)
        before = fingerprint(path)
        try:
            tomllib.loads(raw.decode("utf-8"))
            parses = True
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            parses = False
        try:
            save_config_value("theme", "tchat-light", path)
        except ConfigError as exc:
            assert not parses and str(path) in str(exc)
            assert fingerprint(path) == before
        else:
            assert parses
            assert tomllib.loads(path.read_text("utf-8"))["theme"] == "tchat-light"
            assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[generation]\ntemperature = nan\n", "temperature: must be a finite number"),
        ("[generation]\ntop_k = 50.0\n", "top_k: expected an integer"),
        ("[generation]\nmax_new_tokens = 0\n", "max_new_tokens: must be at least 1"),
        ("[generation]\ntop_p = 2\n", "top_p"),
        ('format = "xml"\n', "'format' must be one of toml, json"),
        ('dtype = "fp8"\n', "'dtype' must be one of"),
        ('sessions_dir = "~nobody-such-user/chats"\n', "sessions_dir"),
        ('sessions_dir = "a\\u0000b"\n', "NUL"),
    ],
)
def test_values_that_would_break_later_are_refused_when_the_file_is_read(
    tmp_path: Path, text: str, needle: str
) -> None:
    """Each of these used to load, then failed every save (NOT SAVED forever) or stopped the
    app from starting (format, sessions_dir)."""
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert needle in str(err.value) and str(path) in str(err.value)


# ------------------------------------------------------------------ theme files


@FUZZ
@given(raw=theme_bytes, name=st.sampled_from(["mine.toml", "zz-broken.toml"]))
def test_any_theme_file_loads_or_is_one_error_naming_it_and_is_left_untouched(
    raw: bytes, name: str
) -> None:
    with scratch() as folder:
        shipped, user = folder / "shipped", folder / "user"
        shipped.mkdir()  # empty: the fuzzed file is the only one that matters
        user.mkdir()
        good = user / "a-good.toml"
        good.write_text('name = "good-one"\nprimary = "#336699"\n', "utf-8")
        path = user / name
        path.write_bytes(raw)
        before = fingerprint(path)
        result = load_themes(shipped_dir=shipped, user_dir=user)
        assert "good-one" in result.themes  # one broken file never costs the others
        mine = [e for e in result.errors if e.startswith(f"{path}: ")]
        loaded = [n for n, src in result.sources.items() if src == path]
        assert len(mine) + len(loaded) == 1, (result.errors, loaded)
        assert len(result.errors) == len(mine)
        if loaded:
            theme = result.themes[loaded[0]]
            # A theme that loads has the colours Textual needs when it is applied.
            colours = theme.to_color_system().generate()
            assert colours["primary"] and colours["background"]
            event("loaded")
        else:
            event("refused")
        assert fingerprint(path) == before


# ------------------------------------------------------------------ in the app


async def test_the_app_starts_with_a_broken_config_and_a_broken_theme_and_says_so(
    private_home: Path, make_app, sessions_dir: Path
) -> None:
    config = private_home / "config" / "tchat" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_bytes(b'model = "x"\nsystem_prompt = \n')
    theme = private_home / "config" / "tchat" / "themes" / "mine.toml"
    theme.parent.mkdir()
    theme.write_bytes(b'name = "mine"\nprimary = "not a colour"\n')
    before = fingerprint(config), fingerprint(theme)

    app = make_app()  # config=None: the app reads the file itself, as `tchat` does
    notes = Notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        [config_note] = notes.titled("Config file ignored")
        assert str(config) in config_note and "not valid TOML" in config_note
        [theme_note] = notes.titled("Theme file ignored")
        assert str(theme) in theme_note and "primary" in theme_note
        assert app.theme != "mine"  # started in a theme that works
        await send(pilot, "still works?")
        await wait_replies(pilot, 1)
        assert app.chat_screen.session.messages[-1].stats.stop_reason == "end_of_turn"
    assert (fingerprint(config), fingerprint(theme)) == before


@pytest.mark.parametrize(
    "text",
    ['format = "xml"\n', "[generation]\ntemperature = nan\n", 'sessions_dir = "~nobody-x/y"\n'],
)
async def test_a_config_value_that_loads_but_cannot_work_does_not_stop_the_app_or_saving(
    private_home: Path, make_app, sessions_dir: Path, text: str
) -> None:
    config = private_home / "config" / "tchat" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(text, "utf-8")
    app = make_app()
    notes = Notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "hello")
        await wait_replies(pilot, 1)
        assert notes.titled("Config file ignored")
        assert app.chat_screen.status.saved == "saved"
    settings = SessionStore(sessions_dir).load(next(sessions_dir.glob("*.toml"))).settings
    assert math.isfinite(settings.temperature)  # the defaults, not the refused value
