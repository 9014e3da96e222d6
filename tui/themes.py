"""Colour themes: the TOML files in `themes/` plus the user's own, as Textual `Theme` objects.

Why a module of its own: a theme file is user input that Textual only checks when it applies the
theme, and a bad value then crashes the app mid-session (a CSS parse error while restyling). So
every file is checked here, once, at start-up; a broken one becomes an error message naming the
file and the reason, and every other theme still loads.

It also decides which theme to start with (`choose_theme`): `--theme` beats the config file,
which beats what the terminal can show. Over SSH the terminal often reports only 16 colours
(TERM=linux, screen or xterm, no COLORTERM); Textual would then squeeze a truecolor theme into
the nearest of those 16, so tchat starts with the `ansi` theme instead, unless the user chose one.

A theme file (see the README for the user-facing description):

    name = "my-theme"          # required; letters, digits, "-" and "_"
    primary = "#61afef"        # required; any colour Textual parses, or "ansi_blue" etc.
    dark = true                # optional fields: dark, ansi, secondary, accent, foreground,
    background = "#16181d"     # background, surface, panel, boost, success, warning, error,
                               # luminosity_spread, text_alpha, description, author
    [variables]                # optional: override any colour Textual derives
    border = "#61afef"
    block-cursor-text-style = "bold"
"""

from __future__ import annotations

import difflib
import re
import site
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from textual.color import Color, ColorParseError
from textual.css.styles import Styles
from textual.filter import LineFilter, Monochrome, NoColor
from textual.theme import BUILTIN_THEMES, Theme

from tui import paths
from tui.config import ConfigError, save_config_value
from tui.text import visible

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from textual.app import App

DEFAULT_THEME = "tchat-dark"
"""Used when nobody chose a theme and the terminal shows more than 16 colours."""

ANSI_THEME = "ansi"
"""Used when nobody chose a theme and the terminal shows only 16 colours."""

# Textual registers these in every App, so they are safe last resorts when tchat's own files
# are missing (e.g. a wheel installed without them).
_TEXTUAL_DEFAULT = "textual-dark"
_TEXTUAL_ANSI = "ansi-dark"

_COLOUR_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)
_BOOL_FIELDS = ("dark", "ansi")
_FRACTION_FIELDS = ("luminosity_spread", "text_alpha")
# Free-text notes for people sharing theme files; checked for type, not used.
_METADATA_FIELDS = ("description", "author")
_KNOWN_FIELDS = (
    "name",
    *_COLOUR_FIELDS,
    *_BOOL_FIELDS,
    *_FRACTION_FIELDS,
    *_METADATA_FIELDS,
    "variables",
)

# The name becomes a CSS class (`-theme-<name>`), a `--theme` argument and a config value, so
# it is kept to characters that are safe in all three.
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")

# Textual splices variable values into its stylesheet; these would let a value escape its
# declaration and restyle (or break) unrelated rules.
_FORBIDDEN_IN_VALUES = re.compile(r"[;{}\n\r$]")

# Textual's widgets reference these in ANSI mode but its ANSI colour system does not define
# them, so an `ansi = true` theme without them crashes the first Button or Toast it styles.
_ANSI_VARIABLE_DEFAULTS = {
    "ansi-background": "ansi_bright_black",
    "ansi-foreground": "ansi_bright_white",
}

_ANSI_NAMES = (
    "black red green yellow blue magenta cyan white bright_black bright_red bright_green "
    "bright_yellow bright_blue bright_magenta bright_cyan bright_white"
).split()
ANSI_COLOURS: frozenset[str] = frozenset({"ansi_default", *(f"ansi_{n}" for n in _ANSI_NAMES)})
"""The colour names that a terminal without truecolor shows as they are."""


class ThemeFileError(Exception):
    """One theme file cannot be used; str() names the file and the reason."""


@dataclass
class ThemeSet:
    """The themes that loaded, and one message per file that did not.

    `themes` maps name -> Theme with user themes already layered over the shipped ones;
    `sources` says which file each came from, so the UI can point at it.
    """

    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)

    def register(self, app: App[Any]) -> None:
        """Make every theme selectable in `app` (command palette and `app.theme = name`)."""
        for theme in self.themes.values():
            app.register_theme(theme)

    def available(self) -> set[str]:
        """Names `choose_theme` may pick: these themes plus Textual's built-in ones."""
        return set(BUILTIN_THEMES) | set(self.themes)


class ThemeChoice(NamedTuple):
    """The theme to start with, and a sentence for the user when their request was not met."""

    name: str
    note: str | None = None


# ---------------------------------------------------------------------------------------------
# Locating and loading files


def shipped_themes_dir() -> Path:
    """The folder holding the themes that come with tchat.

    An editable install (the Makefile's) runs from the repository, where `themes/` sits next to
    the `tui` package. A wheel has no such sibling; its data-files land in the places below.
    A candidate only counts if it holds the default theme: a `site-packages/themes` folder from
    some other project must not be mistaken for ours.
    """
    package = Path(__file__).resolve().parent
    candidates = (
        package.parent / "themes",
        # Where the wheel's data-files mapping puts them: the venv (pipx, uv tool), or the user
        # base for `pip install --user`.
        Path(sys.prefix) / "share" / "tchat" / "themes",
        Path(site.getuserbase()) / "share" / "tchat" / "themes",
    )
    for candidate in candidates:
        if (candidate / f"{DEFAULT_THEME}.toml").is_file():
            return candidate
    return candidates[0]


# A user folder that never exists, for loading the shipped themes alone.
_NOWHERE = Path("/nonexistent/tchat-no-user-themes")


def shipped_theme_names(shipped_dir: Path | None = None) -> list[str]:
    """Names of the shipped themes, sorted; for parametrizing tests (e.g. one snapshot each)."""
    found = load_themes(shipped_dir=shipped_dir, user_dir=_NOWHERE)
    return sorted(found.themes)


def load_themes(shipped_dir: Path | None = None, user_dir: Path | None = None) -> ThemeSet:
    """Read the shipped themes, then the user's, which replace shipped ones of the same name.

    Never raises for a bad file: each problem becomes one line in `errors`. `None` means the
    default folder (`shipped_themes_dir()`, `$XDG_CONFIG_HOME/tchat/themes`).
    """
    shipped_dir = shipped_dir or shipped_themes_dir()
    user_dir = user_dir or paths.user_themes_dir()
    result = ThemeSet()
    if not shipped_dir.is_dir():
        result.errors.append(
            f"{shipped_dir}: tchat's themes folder is missing (an install without `themes/`?); "
            "only Textual's built-in themes are available"
        )
    for directory in (shipped_dir, user_dir):
        # Within one folder a duplicate name is a mistake worth reporting; across folders it
        # is the documented way to override a shipped theme.
        seen_here: dict[str, Path] = {}
        for path in _theme_files(directory, result.errors):
            try:
                theme = parse_theme_file(path)
            except ThemeFileError as exc:
                result.errors.append(str(exc))
                continue
            if theme.name in seen_here:
                result.errors.append(
                    f"{path}: theme '{theme.name}' is already defined in "
                    f"{seen_here[theme.name].name}; this file is ignored"
                )
                continue
            seen_here[theme.name] = path
            result.themes[theme.name] = theme
            result.sources[theme.name] = path
    return result


def _theme_files(directory: Path, errors: list[str]) -> list[Path]:
    if not directory.exists():
        return []
    if not directory.is_dir():
        errors.append(f"{directory}: expected a folder of theme files, found a file")
        return []
    try:
        # Sorted so that which of two clashing files wins does not depend on the filesystem.
        # Dotfiles are skipped: editors leave lock files such as `.#mine.toml` there. A link
        # whose target is gone is kept, so reading it reports the broken link by name.
        return sorted(
            p for p in directory.glob("*.toml") if not p.name.startswith(".") and not p.is_dir()
        )
    except OSError as exc:
        errors.append(f"{directory}: cannot list theme files ({exc.strerror or exc})")
        return []


def parse_theme_file(path: Path) -> Theme:
    """Read one theme file. Raises ThemeFileError naming the file and what is wrong with it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ThemeFileError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        # utf-8-sig: a byte-order mark (some Windows editors add one) is not worth an error.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ThemeFileError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return theme_from_mapping(data)
    except ValueError as exc:
        raise ThemeFileError(f"{path}: {exc}") from exc


def theme_from_mapping(data: Mapping[str, Any]) -> Theme:
    """Check a parsed theme table and build the Theme. Raises ValueError with the reason."""
    unknown = [key for key in data if key not in _KNOWN_FIELDS]
    if unknown:
        raise ValueError(_unknown_field_message(unknown[0]))
    for required in ("name", "primary"):
        if required not in data:
            raise ValueError(f"missing required field '{required}'")

    name = data["name"]
    if not isinstance(name, str):
        raise ValueError(f"'name' must be a string, not {_toml_type(name)}")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"name {name!r} must start with a letter and use only letters, digits, '-' and '_' "
            "(at most 64)"
        )

    for key in _METADATA_FIELDS:
        if key in data and not isinstance(data[key], str):
            raise ValueError(f"'{key}' must be a string, not {_toml_type(data[key])}")

    kwargs: dict[str, Any] = {"name": name}
    for key in _COLOUR_FIELDS:
        if key in data:
            kwargs[key] = _check_colour(key, data[key])
    for key in _BOOL_FIELDS:
        if key in data:
            if not isinstance(data[key], bool):
                raise ValueError(f"'{key}' must be true or false, not {_toml_type(data[key])}")
            kwargs[key] = data[key]
    for key in _FRACTION_FIELDS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"'{key}' must be a number, not {_toml_type(value)}")
            if not 0 <= value <= 1:
                raise ValueError(f"'{key}' must be between 0 and 1, not {value}")
            kwargs[key] = float(value)

    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError(f"'variables' must be a table ([variables]), not {_toml_type(variables)}")
    checked: dict[str, str] = {}
    for var, value in variables.items():
        if not isinstance(value, str):
            raise ValueError(f"[variables] '{var}' must be a string, not {_toml_type(value)}")
        checked[var] = _check_variable(var, value)
    if kwargs.get("ansi"):
        checked = {**_ANSI_VARIABLE_DEFAULTS, **checked}
    kwargs["variables"] = checked

    theme = Theme(**kwargs)
    try:
        # Textual derives ~200 colours from these; do it now so a combination it cannot handle
        # fails here, with the file's name, rather than when the user switches to it.
        theme.to_color_system().generate()
    except Exception as exc:  # any failure means "this theme cannot be used"
        raise ValueError(f"Textual cannot use this theme ({exc})") from exc
    return theme


def _check_colour(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a colour string, not {_toml_type(value)}")
    try:
        Color.parse(value)
    except ColorParseError as exc:
        raise ValueError(f"'{key}' is not a colour: {exc}") from exc
    return value


def _check_variable(var: str, value: str) -> str:
    if _FORBIDDEN_IN_VALUES.search(value):
        raise ValueError(
            f"[variables] '{var}' = {value!r}: ';', '{{', '}}', '$' and line breaks are not "
            "allowed in a value"
        )
    # Textual's naming: variables that hold a text style have "style" as a word in their name
    # (block-cursor-text-style, link-style-hover); every other one holds a colour.
    is_style = "style" in var.split("-")
    prop = "text-style" if is_style else "color"
    try:
        Styles.parse(f"{prop}: {value};", ("theme", var))
    except Exception as exc:  # Textual raises several kinds; all mean "invalid"
        if is_style:
            raise ValueError(
                f"[variables] '{var}' = {value!r} is not a text style "
                "(use words such as bold, italic, underline, reverse, dim, strike, none, not)"
            ) from exc
        raise ValueError(
            f"[variables] '{var}' = {value!r} is not a colour "
            '(e.g. "#1e90ff", "#1e90ff 40%", "ansi_blue", "transparent")'
        ) from exc
    return value


def _unknown_field_message(key: str) -> str:
    close = difflib.get_close_matches(key, _KNOWN_FIELDS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    # A variable placed above [variables] is the likeliest cause of an unknown top-level key.
    if not close and "-" in key:
        hint = " (Textual variables such as this go under [variables])"
    return f"unknown field '{key}'{hint}"


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    for kind, label in names.items():
        if type(value) is kind:
            return label
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return "a date or time"


def theme_colours(theme: Theme) -> dict[str, str]:
    """Every colour a theme sets or makes Textual derive (name -> CSS value); for checks."""
    return theme.to_color_system().generate()


# ---------------------------------------------------------------------------------------------
# Choosing the starting theme


def terminal_has_few_colours(env: Mapping[str, str]) -> bool:
    """Whether Textual will reduce colours to the basic 16 on this terminal.

    Mirrors Rich's detection, which Textual uses for its output: COLORTERM=truecolor/24bit means
    full colour; otherwise only a TERM ending in -256color or -kitty gets more than 16. tmux's
    default TERM=screen, the Linux console's TERM=linux and a bare TERM=xterm all get 16.
    TEXTUAL_COLOR_SYSTEM, when set to something other than "auto", overrides the detection.
    """
    forced = env.get("TEXTUAL_COLOR_SYSTEM", "auto").strip().lower()
    if forced in ("standard", "windows"):
        return True
    if forced in ("256", "truecolor"):
        return False
    if env.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return False
    term = env.get("TERM", "").strip().lower()
    return term.rpartition("-")[2] not in ("256color", "kitty")


def choose_theme(
    cli: str | None,
    config: str | None,
    env: Mapping[str, str],
    available: Collection[str],
) -> ThemeChoice:
    """Pick the starting theme: `--theme`, then the config file, then what the terminal shows.

    A requested name that is not available is skipped with a note (the next source decides), so
    a typo in `--theme` still honours the theme saved in the config file. `available` should
    include Textual's built-in themes (`ThemeSet.available()`).
    """
    notes: list[str] = []
    for requested, source in ((cli, "--theme"), (config, "the config file")):
        if not requested:
            continue
        if requested in available:
            return ThemeChoice(requested, _join(notes))
        notes.append(f"Unknown theme '{requested}' (from {source}).")
    preferences: tuple[str, ...] = (DEFAULT_THEME,)
    if terminal_has_few_colours(env):
        preferences = (ANSI_THEME, _TEXTUAL_ANSI, *preferences)
    name = next((n for n in preferences if n in available), _TEXTUAL_DEFAULT)
    if notes:
        listing = ", ".join(sorted(available))
        notes.append(f"Using '{name}'. Available themes: {listing}.")
    return ThemeChoice(name, _join(notes))


def _join(notes: list[str]) -> str | None:
    return " ".join(notes) if notes else None


# ---------------------------------------------------------------------------------------------
# Living with the app: persistence and NO_COLOR


def save_theme_choice(name: str, config_path: Path | None = None) -> str | None:
    """Write `theme = name` to the config file; returns an error message instead of raising."""
    try:
        save_config_value("theme", name, path=config_path)
    except ConfigError as exc:
        return str(exc)
    except OSError as exc:
        return f"theme not saved: {exc.strerror or exc}"
    return None


def persist_theme_changes(
    app: App[Any],
    save: Callable[[str], str | None] = save_theme_choice,
    on_error: Callable[[str], None] | None = None,
) -> None:
    """From now on, save every theme the user switches to (palette "Change theme" or a key).

    Call it once the app runs (on_mount) and after setting the starting theme: that one came
    from `--theme` or the terminal and must not be written, or a single run over a 16-colour
    SSH session would pin `ansi` in the config for good. Errors go to `on_error`, by default a
    warning toast.
    """
    last = app.theme

    def changed(theme: Theme) -> None:
        nonlocal last
        # The signal also fires for a re-apply of the same theme; writing then is pointless.
        if theme.name == last:
            return
        last = theme.name
        error = save(theme.name)
        if error:
            if on_error is not None:
                on_error(error)
            else:
                # Plain text: the message quotes a path and a parser error, never markup.
                app.notify(
                    visible(error), title="Theme not saved", severity="warning", markup=False
                )

    app.theme_changed_signal.subscribe(app, changed)


_NO_COLOR_FILTER = NoColor()


def no_color_filters(app: App[Any], filters: Sequence[LineFilter]) -> Sequence[LineFilter]:
    """Keep NO_COLOR readable when an `ansi = true` theme is active.

    Textual picks its NO_COLOR filter once, at start-up, from the theme active then (always a
    truecolor one): Monochrome, which turns each colour into its grey. ANSI colours carry no
    RGB value, so Monochrome turns all of them, the terminal's default colours included, into
    black: black text on black. For ANSI themes the right filter is NoColor (drop colours,
    keep the terminal's defaults), which is what Textual would have chosen itself had the theme
    been active at start-up. Call from `App.get_line_filters`.
    """
    if not app.no_color or not app.native_ansi_color:
        return filters
    return [_NO_COLOR_FILTER if isinstance(f, Monochrome) else f for f in filters]
