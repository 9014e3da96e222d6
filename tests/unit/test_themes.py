"""Theme files: what ships, what users may write, what a broken file does, which theme starts.

These run without an App: a theme that fails here would either crash tchat when the user
switches to it or silently look wrong, so each test names what the user would see.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme

from tui import themes
from tui.themes import (
    ANSI_COLOURS,
    ANSI_THEME,
    DEFAULT_THEME,
    ThemeSet,
    choose_theme,
    load_themes,
    parse_theme_file,
    save_theme_choice,
    shipped_theme_names,
    shipped_themes_dir,
    terminal_has_few_colours,
    theme_from_mapping,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHIPPED = shipped_themes_dir()
EXPECTED_SHIPPED = {"tchat-dark", "tchat-light", "tchat-high-contrast", "ansi"}
# The fields the issue promises every shipped theme sets explicitly, so none of them look
# different when Textual changes its derivation defaults.
EXPLICIT_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "success",
    "warning",
    "error",
)

MINIMAL = 'name = "mine"\nprimary = "#ff8800"\n'


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "user-themes"
    folder.mkdir()
    return folder


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


# --- shipped themes ---------------------------------------------------------------------------


class TestShippedThemes:
    """The four themes the issue asks for are there, complete and usable by Textual."""

    def test_the_four_themes_ship_and_load_without_errors(self, tmp_path: Path) -> None:
        loaded = load_themes(user_dir=tmp_path / "none")
        assert loaded.errors == []
        assert set(loaded.themes) >= EXPECTED_SHIPPED
        assert DEFAULT_THEME in loaded.themes and ANSI_THEME in loaded.themes

    @pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.toml")), ids=lambda p: p.name)
    def test_each_file_sets_every_field_and_matches_its_file_name(self, path: Path) -> None:
        theme = parse_theme_file(path)
        raw = tomllib.loads(path.read_text("utf-8"))
        assert theme.name == path.stem, "the file name is what users copy; keep them equal"
        assert isinstance(raw["dark"], bool)
        for name in EXPLICIT_FIELDS:
            assert name in raw, f"{path.name} leaves '{name}' to Textual's defaults"
            assert getattr(theme, name) == raw[name]
        assert theme.variables, "extra variables tune the cursor, footer keys and selection"

    def test_light_theme_is_light_and_the_others_dark(self, tmp_path: Path) -> None:
        loaded = load_themes(user_dir=tmp_path / "none").themes
        assert loaded["tchat-light"].dark is False
        assert loaded["tchat-dark"].dark and loaded["tchat-high-contrast"].dark

    def test_ansi_theme_uses_only_the_16_terminal_colours(self, tmp_path: Path) -> None:
        """Every colour Textual derives from it, not just the ones in the file, is ANSI.

        With `ansi = true` Textual emits these as the terminal's own palette entries, so on a
        16-colour SSH session nothing is approximated.
        """
        theme = load_themes(user_dir=tmp_path / "none").themes[ANSI_THEME]
        assert theme.ansi is True
        for name in EXPLICIT_FIELDS:
            assert getattr(theme, name) in ANSI_COLOURS
        for var, value in themes.theme_colours(theme).items():
            if "style" in var.split("-"):
                continue
            colour = value.split()[0]  # "ansi_default 50%" -> dimmed default colour
            assert colour in ANSI_COLOURS | {"transparent"}, f"${var} = {value}"

    def test_the_ansi_colour_list_is_what_textual_treats_as_terminal_colours(self) -> None:
        assert len(ANSI_COLOURS) == 17  # 16 palette entries and the terminal's default
        assert all(Color.parse(name).ansi is not None for name in ANSI_COLOURS)

    def test_high_contrast_text_meets_wcag_aaa(self, tmp_path: Path) -> None:
        """Every text colour, cursor and selection reads at 7:1 or better (WCAG AAA)."""
        theme = load_themes(user_dir=tmp_path / "none").themes["tchat-high-contrast"]
        colours = themes.theme_colours(theme)
        background, panel = theme.background, theme.panel
        assert background is not None and panel is not None
        text_fields = (
            "foreground",
            "primary",
            "secondary",
            "accent",
            "success",
            "warning",
            "error",
        )
        pairs = [(colours[n], background) for n in ("text", "text-muted", "foreground-muted")]
        pairs += [(getattr(theme, n), background) for n in text_fields]
        pairs += [(colours[n], panel) for n in ("text", "text-muted")]
        pairs += [
            (colours["block-cursor-foreground"], colours["block-cursor-background"]),
            (colours["input-selection-foreground"], colours["input-selection-background"]),
        ]
        for fg, bg in pairs:
            assert _contrast(fg, bg) >= 7, f"{fg} on {bg}"

    def test_shipped_theme_names_lists_the_files_for_parametrized_snapshots(self) -> None:
        assert shipped_theme_names() == sorted(EXPECTED_SHIPPED)


def _contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        c = Color.parse(colour)

        def channel(v: int) -> float:
            s = v / 255
            return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# --- user themes ------------------------------------------------------------------------------


BROKEN = {
    "bad-toml.toml": ('name = "x"\nprimary = \n', "not valid TOML"),
    "latin1.toml": (b'name = "caf\xe9"\nprimary = "red"\n', "not UTF-8"),
    "bad-colour.toml": ('name = "x"\nprimary = "bleu"\n', "'primary' is not a colour"),
    "no-primary.toml": ('name = "x"\n', "missing required field 'primary'"),
    "no-name.toml": ('primary = "red"\n', "missing required field 'name'"),
    "dark-string.toml": (MINIMAL + 'dark = "yes"\n', "'dark' must be true or false"),
    "colour-number.toml": ('name = "x"\nprimary = 255\n', "'primary' must be a colour string"),
    "typo.toml": (MINIMAL + 'backgroud = "#000"\n', "did you mean 'background'"),
    "vars-not-table.toml": (MINIMAL + 'variables = "border"\n', "'variables' must be a table"),
    "var-bad-colour.toml": (MINIMAL + '[variables]\nborder = "nope"\n', "'border'"),
    "var-bad-style.toml": (
        MINIMAL + '[variables]\nblock-cursor-text-style = "red"\n',
        "is not a text style",
    ),
    "var-injection.toml": (
        MINIMAL + '[variables]\nborder = "red; } Screen { display: none"\n',
        "not allowed in a value",
    ),
    "var-number.toml": (MINIMAL + "[variables]\nborder = 3\n", "must be a string"),
    "bad-name.toml": ('name = "my theme"\nprimary = "red"\n', "must start with a letter"),
    "alpha-range.toml": (MINIMAL + "text_alpha = 2\n", "between 0 and 1"),
}


class TestUserThemes:
    """User files in $XDG_CONFIG_HOME/tchat/themes: errors are reported, never fatal."""

    def test_a_valid_user_theme_is_added_next_to_the_shipped_ones(self, user_dir: Path) -> None:
        path = write(user_dir, "mine.toml", MINIMAL + 'background = "#101010"\n')
        loaded = load_themes(user_dir=user_dir)
        assert loaded.errors == []
        assert loaded.themes["mine"].background == "#101010"
        assert loaded.sources["mine"] == path
        assert set(loaded.themes) >= EXPECTED_SHIPPED

    @pytest.mark.parametrize(("file_name", "case"), BROKEN.items(), ids=list(BROKEN))
    def test_each_kind_of_broken_file_is_reported_and_the_rest_load(
        self, user_dir: Path, file_name: str, case: tuple[str | bytes, str]
    ) -> None:
        text, reason = case
        write(user_dir, file_name, text)
        write(user_dir, "zz-good.toml", MINIMAL)
        loaded = load_themes(user_dir=user_dir)
        assert len(loaded.errors) == 1, loaded.errors
        assert file_name in loaded.errors[0]
        assert reason in loaded.errors[0]
        assert "mine" in loaded.themes and set(loaded.themes) >= EXPECTED_SHIPPED

    def test_a_link_to_a_moved_file_is_reported(self, user_dir: Path) -> None:
        # Themes symlinked from a dotfiles checkout break when it moves; say which link.
        (user_dir / "gone.toml").symlink_to(user_dir / "moved-away.toml")
        (user_dir / "folder.toml").mkdir()
        loaded = load_themes(user_dir=user_dir)
        assert len(loaded.errors) == 1
        assert "gone.toml" in loaded.errors[0] and "cannot read" in loaded.errors[0]

    def test_a_user_theme_with_a_shipped_name_overrides_it(self, user_dir: Path) -> None:
        write(user_dir, "my-dark.toml", 'name = "tchat-dark"\nprimary = "#ff00ff"\n')
        loaded = load_themes(user_dir=user_dir)
        assert loaded.errors == []
        assert loaded.themes["tchat-dark"].primary == "#ff00ff"
        assert loaded.sources["tchat-dark"] == user_dir / "my-dark.toml"

    def test_two_user_files_with_one_name_report_the_second(self, user_dir: Path) -> None:
        write(user_dir, "a.toml", MINIMAL)
        write(user_dir, "b.toml", MINIMAL.replace("#ff8800", "#0088ff"))
        loaded = load_themes(user_dir=user_dir)
        assert loaded.themes["mine"].primary == "#ff8800"
        assert len(loaded.errors) == 1 and "b.toml" in loaded.errors[0]
        assert "already defined in a.toml" in loaded.errors[0]

    def test_description_and_author_are_accepted_as_notes(self, user_dir: Path) -> None:
        write(user_dir, "a.toml", MINIMAL + 'description = "warm"\nauthor = "me"\n')
        loaded = load_themes(user_dir=user_dir)
        assert loaded.errors == [] and "mine" in loaded.themes

    def test_dotfiles_and_other_extensions_are_ignored(self, user_dir: Path) -> None:
        write(user_dir, ".#mine.toml", "garbage =")
        write(user_dir, "notes.txt", "garbage =")
        assert load_themes(user_dir=user_dir).errors == []

    def test_a_byte_order_mark_is_accepted(self, user_dir: Path) -> None:
        write(user_dir, "bom.toml", b"\xef\xbb\xbf" + MINIMAL.encode())
        assert "mine" in load_themes(user_dir=user_dir).themes

    def test_a_file_where_the_folder_should_be_is_reported(self, tmp_path: Path) -> None:
        (tmp_path / "themes").write_text("", "utf-8")
        loaded = load_themes(user_dir=tmp_path / "themes")
        assert len(loaded.errors) == 1 and "expected a folder" in loaded.errors[0]

    def test_missing_user_folder_is_not_an_error(self, tmp_path: Path) -> None:
        assert load_themes(user_dir=tmp_path / "nope").errors == []

    def test_user_ansi_theme_without_ansi_background_still_works(self, user_dir: Path) -> None:
        """Textual's buttons need $ansi-background in ANSI mode; without it they crash."""
        write(user_dir, "a.toml", 'name = "mono"\nansi = true\nprimary = "ansi_green"\n')
        theme = load_themes(user_dir=user_dir).themes["mono"]
        assert theme.variables["ansi-background"] in ANSI_COLOURS
        assert theme.variables["ansi-foreground"] in ANSI_COLOURS

    def test_missing_shipped_folder_leaves_textual_themes_and_says_why(
        self, tmp_path: Path
    ) -> None:
        loaded = load_themes(shipped_dir=tmp_path / "gone", user_dir=tmp_path / "none")
        assert loaded.themes == {}
        assert "themes folder is missing" in loaded.errors[0]
        assert "textual-dark" in loaded.available()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["name", "primary", "dark", "ansi", "background", "text_alpha", "x-y"]),
        st.one_of(
            st.text(max_size=12),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False),
            st.sampled_from(["#123456", "ansi_red", "mine", "red 50%"]),
            st.dictionaries(st.sampled_from(["border", "link-style"]), st.text(max_size=8)),
        ),
    )
)
def test_any_table_gives_a_theme_or_a_reason_never_a_crash(data: dict[str, object]) -> None:
    """Whatever a user types, load_themes turns it into a Theme or one error line."""
    try:
        theme = theme_from_mapping(data)
    except ValueError as exc:
        assert str(exc)
    else:
        assert isinstance(theme, Theme)


# --- choosing the starting theme ------------------------------------------------------------


AVAILABLE = ThemeSet(themes={n: Theme(name=n, primary="red") for n in EXPECTED_SHIPPED}).available()
TRUECOLOR = {"TERM": "xterm-256color", "COLORTERM": "truecolor"}


class TestChooseTheme:
    """--theme beats the config file beats the terminal; a bad name never stops tchat."""

    def test_cli_beats_config(self) -> None:
        assert choose_theme("nord", "tchat-light", TRUECOLOR, AVAILABLE) == ("nord", None)

    def test_config_used_without_cli(self) -> None:
        assert choose_theme(None, "tchat-light", TRUECOLOR, AVAILABLE) == ("tchat-light", None)

    def test_default_on_a_full_colour_terminal(self) -> None:
        assert choose_theme(None, None, TRUECOLOR, AVAILABLE) == (DEFAULT_THEME, None)

    @pytest.mark.parametrize(
        "env",
        [
            {"TERM": "linux"},
            {"TERM": "screen"},
            {"TERM": "xterm"},
            {"TERM": "xterm-16color"},
            {"TERM": "tmux"},
            {},
        ],
        ids=["linux", "screen", "xterm", "xterm-16color", "tmux", "no-TERM"],
    )
    def test_sixteen_colour_terminal_gets_ansi(self, env: dict[str, str]) -> None:
        assert terminal_has_few_colours(env)
        assert choose_theme(None, None, env, AVAILABLE) == (ANSI_THEME, None)

    @pytest.mark.parametrize(
        "env",
        [
            {"TERM": "xterm-256color"},
            {"TERM": "tmux-256color"},
            {"TERM": "xterm-kitty"},
            {"TERM": "screen", "COLORTERM": "truecolor"},
            {"TERM": "linux", "COLORTERM": "24bit"},
            {"TERM": "linux", "TEXTUAL_COLOR_SYSTEM": "truecolor"},
        ],
    )
    def test_richer_terminals_get_the_default(self, env: dict[str, str]) -> None:
        assert not terminal_has_few_colours(env)
        assert choose_theme(None, None, env, AVAILABLE).name == DEFAULT_THEME

    def test_forced_standard_colour_system_counts_as_few_colours(self) -> None:
        env = {"TERM": "xterm-256color", "TEXTUAL_COLOR_SYSTEM": "standard"}
        assert choose_theme(None, None, env, AVAILABLE).name == ANSI_THEME

    def test_a_chosen_theme_wins_over_a_sixteen_colour_terminal(self) -> None:
        assert choose_theme(None, "tchat-dark", {"TERM": "linux"}, AVAILABLE).name == "tchat-dark"
        assert choose_theme("tchat-light", None, {"TERM": "linux"}, AVAILABLE).name == (
            "tchat-light"
        )

    def test_unknown_cli_name_falls_back_with_a_note(self) -> None:
        name, note = choose_theme("solarizd", None, TRUECOLOR, AVAILABLE)
        assert name == DEFAULT_THEME
        assert note is not None
        assert "'solarizd'" in note and "--theme" in note and "tchat-light" in note

    def test_unknown_cli_name_still_honours_the_config(self) -> None:
        name, note = choose_theme("solarizd", "tchat-light", TRUECOLOR, AVAILABLE)
        assert name == "tchat-light"
        assert note is not None and "'solarizd'" in note

    def test_unknown_config_name_on_a_16_colour_terminal_gives_ansi(self) -> None:
        name, note = choose_theme(None, "gone", {"TERM": "linux"}, AVAILABLE)
        assert name == ANSI_THEME
        assert note is not None and "config file" in note

    def test_without_tchat_files_textual_themes_stand_in(self) -> None:
        textual_only = set(BUILTIN_THEMES)
        assert choose_theme(None, None, TRUECOLOR, textual_only).name == "textual-dark"
        assert choose_theme(None, None, {"TERM": "linux"}, textual_only).name == "ansi-dark"


# --- persistence ------------------------------------------------------------------------------


class TestSaveThemeChoice:
    """The switcher's choice lands in config.toml without disturbing the rest of the file."""

    def test_writes_the_theme_and_keeps_other_settings(self, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        config.write_text('model = "m"\n', "utf-8")
        assert save_theme_choice("tchat-light", config) is None
        assert tomllib.loads(config.read_text("utf-8")) == {"model": "m", "theme": "tchat-light"}

    def test_a_config_that_does_not_parse_is_left_alone(self, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        config.write_text("model = \n", "utf-8")
        error = save_theme_choice("tchat-light", config)
        assert error is not None and str(config) in error
        assert config.read_text("utf-8") == "model = \n"
