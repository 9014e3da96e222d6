"""The settings form: inline validation in words, ctrl+s saves, Esc cancels, Tab moves."""

from __future__ import annotations

from textual.widgets import Input, Static, Switch, TextArea

from tests.app.screen_host import ScreenHost, wait_for
from tui.screens.settings import SettingsScreen, validate
from tui.store.session import GenerationSettings

BASE = GenerationSettings(
    max_new_tokens=512,
    do_sample=True,
    temperature=0.7,
    top_p=0.9,
    top_k=50,
    repetition_penalty=1.1,
    seed=None,
)


def settings_app(system: str = "Be brief.") -> ScreenHost:
    return ScreenHost(lambda: SettingsScreen(BASE, system))


def hint(app: ScreenHost, name: str) -> Static:
    return app.screen.query_one(f"#hint-{name}", Static)


async def set_field(pilot, name: str, text: str) -> None:  # noqa: ANN001
    field = pilot.app.screen.query_one(f"#{name}", Input)
    field.focus()
    await pilot.press("ctrl+a", "ctrl+k", *text)  # ctrl+a/ctrl+k: start of line, delete rest


def test_validation_rules_in_words() -> None:
    fields = {
        "temperature": "0",
        "top_p": "1.5",
        "top_k": "-1",
        "max_new_tokens": "0",
        "repetition_penalty": "0",
        "seed": "x",
    }
    settings, errors = validate(fields, True, BASE)
    assert settings is None
    assert errors == {
        "temperature": "must be more than 0 when sampling",
        "top_p": "must be more than 0 and at most 1",
        "top_k": "0 (off) or more",
        "max_new_tokens": "at least 1",
        "repetition_penalty": "must be more than 0 (1 = off)",
        "seed": "a whole number, please",
    }
    assert validate({"temperature": "nan"}, True, BASE)[1] == {
        "temperature": "a number, please (e.g. 0.7)"
    }
    settings, errors = validate({"temperature": "0", "seed": " "}, False, BASE)
    assert errors == {} and settings is not None
    assert settings.do_sample is False and settings.temperature == 0 and settings.seed is None


async def test_bad_value_is_explained_next_to_the_field_and_blocks_saving() -> None:
    app = settings_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await set_field(pilot, "temperature", "0")
        assert "must be more than 0 when sampling" in str(hint(app, "temperature").render())
        assert hint(app, "temperature").has_class("-error")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == []  # not saved
        assert app.focused is app.screen.query_one("#temperature")  # sent back to fix it
        await pilot.press("backspace", *"1.2")
        assert not hint(app, "temperature").has_class("-error")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(app.results))
    settings, system = app.results[0]
    assert settings.temperature == 1.2 and settings.top_k == 50
    assert system == "Be brief."


async def test_turning_sampling_off_allows_temperature_zero_and_is_returned() -> None:
    app = settings_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.focused is app.screen.query_one(Switch)  # the first field
        await pilot.press("space")
        assert "off" in str(hint(app, "do_sample").render())
        assert "ignored while sampling is off" in str(hint(app, "top_p").render())
        await set_field(pilot, "temperature", "0")
        assert not hint(app, "temperature").has_class("-error")
        await set_field(pilot, "seed", "42")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(app.results))
    settings, _ = app.results[0]
    assert settings.do_sample is False and settings.temperature == 0.0 and settings.seed == 42


async def test_tab_walks_every_field_down_to_the_system_prompt() -> None:
    app = settings_app()
    async with app.run_test(size=(80, 24)) as pilot:
        order = []
        for _ in range(8):
            order.append(app.focused.id)
            await pilot.press("tab")
        assert order == [
            "do_sample",
            "temperature",
            "top_p",
            "top_k",
            "max_new_tokens",
            "repetition_penalty",
            "seed",
            "system-prompt",
        ]
        assert isinstance(app.focused, Switch)  # wraps around to the top
        await pilot.press("shift+tab")
        prompt = app.screen.query_one("#system-prompt", TextArea)
        assert app.focused is prompt
        await pilot.press("ctrl+a", "ctrl+k", *"You are a pirate.", "ctrl+s")
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results[0][1] == "You are a pirate."


async def test_enter_in_a_field_moves_on_and_escape_cancels() -> None:
    app = settings_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await set_field(pilot, "top_k", "7")
        await pilot.press("enter")
        assert app.focused.id == "max_new_tokens"
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results == [None]
