"""Themes inside a running Textual app: what reaches the terminal, and what reaches config.toml.

A small host App stands in for tchat's main screen (which has its own snapshot tests): it holds
the widgets whose colours come from the theme (header, input, buttons, Markdown with a table and
code, a list, a text area, toasts, footer) and wires themes the way the issue asks app.py to.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.color import Color as RichColor
from rich.color import ColorType
from textual.app import App, ComposeResult
from textual.filter import LineFilter
from textual.widgets import Button, Footer, Header, Input, Markdown, OptionList, TextArea

from tui.themes import ANSI_THEME, ThemeSet, load_themes, no_color_filters, persist_theme_changes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SIZE = (80, 40)
MARKDOWN = """\
# Reply

Some **bold** text, `code`, a [link](https://example.com).

```python
print("hi")
```

> a quote

| a | b |
|---|---|
| 1 | 2 |
"""


class ThemeHost(App[None]):
    """Registers tchat's themes, starts on one, saves later changes, keeps NO_COLOR readable."""

    BINDINGS = [("ctrl+n", "noop", "New chat")]

    def __init__(self, themes: ThemeSet, start: str) -> None:
        super().__init__()
        self.theme_set = themes
        self.start = start
        self.save_errors: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Message")
        yield Button("Send", variant="primary")
        yield Button("Stop", variant="error")
        yield Markdown(MARKDOWN)
        yield OptionList("SmolLM2-135M", "Qwen2.5-0.5B")
        yield TextArea("x = 1", language="python")
        yield Footer()

    def on_mount(self) -> None:
        self.theme_set.register(self)
        self.theme = self.start
        persist_theme_changes(self, on_error=self.save_errors.append)

    def get_line_filters(self) -> list[LineFilter]:
        return list(no_color_filters(self, super().get_line_filters()))

    def action_noop(self) -> None:
        pass


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $XDG_CONFIG_HOME, so saving the theme never touches the real config."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return home


@pytest.fixture
def theme_set(tmp_path: Path) -> ThemeSet:
    loaded = load_themes(user_dir=tmp_path / "no-user-themes")
    assert loaded.errors == []
    return loaded


def rendered_colours(app: App[None]) -> Iterator[tuple[str, RichColor | None, RichColor | None]]:
    """(text, foreground, background) of every painted span, after Textual's line filters.

    The compositor is private API, but it is exactly what Textual writes to the terminal, and
    an SVG screenshot would hide the difference between an ANSI colour and an RGB one.
    """
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            if segment.control or segment.style is None:
                continue
            yield segment.text, segment.style.color, segment.style.bgcolor


def screen_background(app: App[None]) -> RichColor | None:
    """The background painted where no widget is: the theme's `background`."""
    width, height = app.size
    for y in range(height - 2, 0, -1):
        for x in range(width - 1, -1, -1):
            widget, _ = app.screen.get_widget_at(x, y)
            if widget is app.screen:
                strip = app.screen._compositor.render_strips()[y]
                offset = 0
                for segment in strip:
                    offset += len(segment.text)
                    if offset > x:
                        return segment.style.bgcolor if segment.style else None
    raise AssertionError("no bare screen area to sample")


async def test_switching_theme_repaints_the_screen(config_home: Path, theme_set: ThemeSet) -> None:
    app = ThemeHost(theme_set, "tchat-dark")
    async with app.run_test(size=SIZE) as pilot:
        assert {"tchat-dark", "tchat-light", "tchat-high-contrast", ANSI_THEME} <= set(
            app.available_themes
        ), "every shipped theme is offered by the command palette"
        painted = {}
        for name in ("tchat-dark", "tchat-light", "tchat-high-contrast"):
            app.theme = name
            await pilot.pause()
            background = screen_background(app)
            assert background is not None and background.triplet is not None
            painted[name] = background.triplet.hex
        assert painted == {
            "tchat-dark": "#16181d",
            "tchat-light": "#fafafa",
            "tchat-high-contrast": "#000000",
        }
        app.theme = ANSI_THEME
        await pilot.pause()
        background = screen_background(app)
        assert background is None or background.type == ColorType.DEFAULT, (
            "the ansi theme leaves the terminal's own background showing"
        )


async def test_ansi_theme_sends_only_the_16_terminal_colours(
    config_home: Path, theme_set: ThemeSet
) -> None:
    """Over SSH without truecolor, nothing is approximated: every colour is a palette entry."""
    app = ThemeHost(theme_set, ANSI_THEME)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(Input).focus()
        app.notify("Model loaded")
        app.notify("Out of memory", severity="error")
        await pilot.hover(Button)
        await pilot.pause()
        off_palette = {
            str(colour)
            for _, fg, bg in rendered_colours(app)
            for colour in (fg, bg)
            if colour is not None and colour.type not in (ColorType.DEFAULT, ColorType.STANDARD)
        }
        assert off_palette == set()

        # The same check sees RGB colours when there are some, so the emptiness above means it.
        app.theme = "tchat-dark"
        await pilot.pause()
        assert any(
            fg is not None and fg.type == ColorType.TRUECOLOR for _, fg, _ in rendered_colours(app)
        )


async def test_a_theme_picked_in_the_palette_is_saved(
    config_home: Path, theme_set: ThemeSet
) -> None:
    config = config_home / "tchat" / "config.toml"
    app = ThemeHost(theme_set, ANSI_THEME)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not config.exists(), "the starting theme (e.g. from TERM) must not be saved"

        app.action_change_theme()  # the palette's "Change theme" command
        await pilot.pause()
        await pilot.press(*"contrast")
        await app.workers.wait_for_complete()  # the palette searches in a worker
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "tchat-high-contrast"
        assert tomllib.loads(config.read_text("utf-8"))["theme"] == "tchat-high-contrast"

        app.theme = "tchat-light"  # what tchat's own theme key does
        await pilot.pause()
        assert tomllib.loads(config.read_text("utf-8"))["theme"] == "tchat-light"
        assert app.save_errors == []


async def test_a_config_that_does_not_parse_is_reported_not_rewritten(
    config_home: Path, theme_set: ThemeSet
) -> None:
    config = config_home / "tchat" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("model = \n", "utf-8")
    app = ThemeHost(theme_set, "tchat-dark")
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "tchat-light"
        await pilot.pause()
        assert len(app.save_errors) == 1 and "config.toml" in app.save_errors[0]
    assert config.read_text("utf-8") == "model = \n"


async def test_no_color_with_the_ansi_theme_stays_readable(
    config_home: Path, theme_set: ThemeSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR drops every colour; the text keeps the terminal's own colours, not black."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = ThemeHost(theme_set, ANSI_THEME)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        painted = [(text, fg, bg) for text, fg, bg in rendered_colours(app) if text.strip()]
        assert painted
        for text, fg, bg in painted:
            for colour in (fg, bg):
                assert colour is None or colour.type == ColorType.DEFAULT, (text, fg, bg)


async def test_no_color_with_a_truecolor_theme_is_grey_only(
    config_home: Path, theme_set: ThemeSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual's own NO_COLOR handling (monochrome) still applies to tchat's RGB themes."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = ThemeHost(theme_set, "tchat-dark")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _, fg, bg in rendered_colours(app):
            for colour in (fg, bg):
                if colour is not None and colour.triplet is not None:
                    r, g, b = colour.triplet
                    assert r == g == b, colour
