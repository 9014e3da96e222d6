"""Edit the chat's generation settings and system prompt in one form.

Settings belong to the session (saved with it), so a resumed chat samples the same way. The
form checks every field as it is typed and says what is wrong next to it, in words: a bad value
can never reach `generate`, where it would surface as a stack trace in the middle of a reply.

Given the values the chat inherits and their sources (`inherited`: tui/chat/sampling.py),
the form shows beside each value where it comes from ("model" for the model's
generation_config.json, "config" for the config file, "chat" once set here, "tchat" for
tchat's default), and an emptied field goes back to the inherited value. Given `thinking`
(what the model's template allows), it shows the chat's thinking switch, or says why the
model cannot switch.

Keys: Tab / shift+Tab move between fields (Enter in a field moves on too), space toggles
sampling, ctrl+s saves, Esc cancels. Returns `(GenerationSettings, system_prompt)` or None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static, Switch, TextArea

from tui.store.session import GenerationSettings

MAX_SEED = 2**63 - 1
SAMPLING_ONLY = ("temperature", "top_p", "top_k")


@dataclass(frozen=True)
class Field:
    """One numeric setting: its label, and the hint shown while its value is fine."""

    name: str
    label: str
    hint: str


FIELDS = (
    Field("temperature", "Temperature", "> 0; higher is more varied"),
    Field("top_p", "Top p", "0 to 1; likeliest tokens up to p"),
    Field("top_k", "Top k", "likeliest k tokens; 0 = off"),
    Field("max_new_tokens", "Max new tokens", "the longest reply, in tokens"),
    Field("repetition_penalty", "Repetition penalty", "1 = off; 1.1 avoids repeats"),
    Field("seed", "Seed", "empty = different every time"),
)


def _number(text: str, integer: bool) -> float | int | None:
    """The value of `text`, or None when it is not a (finite) number of the right kind."""
    text = text.strip().replace("_", "")
    try:
        value: float | int = int(text) if integer else float(text)
    except ValueError:
        return None
    if not integer and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class ThinkingRow:
    """The thinking switch as the model's template allows it: `can_switch`, the state it is
    in now (`on`), the model's own default (`default_on`), and `note` when it cannot switch."""

    can_switch: bool
    on: bool
    default_on: bool
    note: str = ""


SOURCE_WORDS = {"model": "model", "config": "config", "chat": "chat", "tchat": "tchat"}


def validate(
    values: dict[str, str],
    do_sample: bool,
    base: GenerationSettings,
    inherited: dict[str, tuple[Any, str]] | None = None,
) -> tuple[GenerationSettings | None, dict[str, str]]:
    """Parse the form: (settings, {}) when every field is fine, else (None, field -> problem).

    Plain function so the rules are testable without a screen. Fields missing from `values`
    keep `base`'s value; with `inherited`, an empty field takes its inherited value.
    """
    errors: dict[str, str] = {}
    out: dict[str, object] = {"do_sample": do_sample}

    def get(name: str, integer: bool, check, problem: str) -> None:  # noqa: ANN001
        if name not in values:
            return
        if inherited is not None and name in inherited and not values[name].strip():
            out[name] = inherited[name][0]
            return
        value = _number(values[name], integer)
        if value is None:
            errors[name] = "a whole number, please" if integer else "a number, please (e.g. 0.7)"
        elif not check(value):
            errors[name] = problem
        else:
            out[name] = value

    get(
        "temperature",
        False,
        (lambda v: v > 0) if do_sample else (lambda v: v >= 0),
        "must be more than 0 when sampling" if do_sample else "cannot be negative",
    )
    get("top_p", False, lambda v: 0 < v <= 1, "must be more than 0 and at most 1")
    get("top_k", True, lambda v: v >= 0, "0 (off) or more")
    get("max_new_tokens", True, lambda v: v >= 1, "at least 1")
    get("repetition_penalty", False, lambda v: v > 0, "must be more than 0 (1 = off)")
    if "seed" in values:
        if not values["seed"].strip():
            out["seed"] = None
        else:
            get("seed", True, lambda v: 0 <= v <= MAX_SEED, "0 or more, or empty")
    if errors:
        return None, errors
    return replace(base, **out), {}  # type: ignore[arg-type]


def _text(settings: GenerationSettings, name: str) -> str:
    value = getattr(settings, name)
    return "" if value is None else str(value)


class SettingsScreen(ModalScreen[tuple[GenerationSettings, str] | None]):
    """The form; see the module for keys and result."""

    DEFAULT_CSS = """
    SettingsScreen { align: center middle; }
    SettingsScreen > #settings {
        width: 100%; max-width: 100; height: 1fr; max-height: 30;
        border: round $primary; background: $surface; padding: 0 1;
        border-title-style: bold;
    }
    SettingsScreen .row { height: 1; }
    SettingsScreen .row > .label { width: 20; }
    SettingsScreen .row > Input { width: 12; }
    SettingsScreen .row > .hint { width: 1fr; padding-left: 2; color: $text-muted; }
    SettingsScreen .row > .hint.-error { color: $error; text-style: bold; }
    SettingsScreen .row.-inactive > .label { color: $text-disabled; }
    SettingsScreen .row:focus-within > .label { color: $accent; text-style: bold; }
    SettingsScreen .row > Switch { border: none; height: 1; width: 12; padding: 0; }
    SettingsScreen .row > .source { width: 8; padding-left: 1; color: $text-muted; }
    SettingsScreen .row > .source.-chat { color: $accent; }
    SettingsScreen #sources-note { height: auto; color: $text-muted; margin-top: 1; }
    SettingsScreen #system-label { margin-top: 1; height: 1; }
    SettingsScreen #system-prompt { height: 1fr; min-height: 3; }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        settings: GenerationSettings,
        system_prompt: str,
        inherited: dict[str, tuple[Any, str]] | None = None,
        thinking: ThinkingRow | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._system_prompt = system_prompt
        self._inherited = inherited
        self._thinking = thinking
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="settings") as box:
            box.border_title = "Settings for this chat"
            with Horizontal(classes="row", id="row-do_sample"):
                yield Static("Sampling", classes="label")
                yield Switch(self._settings.do_sample, id="do_sample")
                yield from self._source("do_sample")
                yield Static("", classes="hint", id="hint-do_sample")
            if self._thinking is not None:
                yield from self._thinking_row(self._thinking)
            for field in FIELDS:
                with Horizontal(classes="row", id=f"row-{field.name}"):
                    yield Static(field.label, classes="label")
                    yield Input(
                        _text(self._settings, field.name),
                        id=field.name,
                        compact=True,
                        placeholder="random" if field.name == "seed" else "",
                        select_on_focus=False,
                    )
                    yield from self._source(field.name)
                    yield Static(field.hint, classes="hint", id=f"hint-{field.name}")
            if self._inherited is not None:
                yield Static(
                    "Where each value comes from: model = its generation_config.json · config "
                    "= your config file · chat = set here · tchat = tchat's default. Empty a "
                    "field to go back to the model's (or config file's) value.",
                    id="sources-note",
                )
            yield Static("System prompt (applies from the next reply)", id="system-label")
            yield TextArea(self._system_prompt, id="system-prompt", soft_wrap=True)
        yield Footer()

    def _source(self, name: str) -> ComposeResult:
        if self._inherited is not None:
            yield Static("", classes="source", id=f"source-{name}")

    def _thinking_row(self, row: ThinkingRow) -> ComposeResult:
        with Horizontal(classes="row", id="row-thinking"):
            yield Static("Thinking", classes="label")
            if row.can_switch:
                yield Switch(row.on, id="thinking")
            else:
                yield Static("on" if row.on else "off", classes="fixed", id="thinking-fixed")
            yield from self._source("thinking")
            yield Static(Content(self._thinking_hint(row.on)), classes="hint", id="hint-thinking")

    def _thinking_hint(self, on: bool) -> str:
        row = self._thinking
        if row is None:
            return ""
        if not row.can_switch:
            return row.note or "this model's thinking cannot be switched"
        return "on: it thinks before it answers" if on else "off: it answers straight away"

    def on_mount(self) -> None:
        self.query_one("#do_sample", Switch).focus()
        self._check()

    def _values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#{f.name}", Input).value for f in FIELDS}

    @property
    def do_sample(self) -> bool:
        return self.query_one("#do_sample", Switch).value

    def _check(self) -> GenerationSettings | None:
        """Validate and show the result next to every field."""
        settings, self.errors = validate(
            self._values(), self.do_sample, self._settings, self._inherited
        )
        if settings is not None and self._thinking is not None and self._thinking.can_switch:
            on = self.query_one("#thinking", Switch).value
            # The model's default is no choice: the chat then follows the model.
            settings = replace(settings, thinking=None if on == self._thinking.default_on else on)
            self.query_one("#hint-thinking", Static).update(Content(self._thinking_hint(on)))
        self._show_sources(settings)
        sampling = self.do_sample
        self.query_one("#hint-do_sample", Static).update(
            "on: temperature, top p and top k apply"
            if sampling
            else "off: always the likeliest token"
        )
        for field in FIELDS:
            hint = self.query_one(f"#hint-{field.name}", Static)
            problem = self.errors.get(field.name)
            inactive = field.name in SAMPLING_ONLY and not sampling
            text = problem or ("ignored while sampling is off" if inactive else field.hint)
            hint.update(Content(text))
            hint.set_class(problem is not None, "-error")
            self.query_one(f"#row-{field.name}").set_class(inactive, "-inactive")
        return settings

    def _show_sources(self, settings: GenerationSettings | None) -> None:
        """Beside each value, where it comes from (it is the chat's once it differs from
        what the model and config file say)."""
        if self._inherited is None:
            return
        shown = settings or self._settings
        for name, (value, source) in self._inherited.items():
            found = self.query(f"#source-{name}")
            if not found:
                continue
            if getattr(shown, name) != value:
                source = "chat"
            label = found.first(Static)
            label.update(SOURCE_WORDS.get(source, source))
            label.set_class(source == "chat", "-chat")

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._check()

    def on_switch_changed(self, _event: Switch.Changed) -> None:
        self._check()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()  # Enter in a field moves on, like Tab: saving is ctrl+s

    def action_save(self) -> None:
        settings = self._check()
        if settings is None:
            first = next(f.name for f in FIELDS if f.name in self.errors)
            self.query_one(f"#{first}", Input).focus()
            self.app.notify(
                "Some values need fixing (marked in red); nothing was saved yet.",
                severity="warning",
                markup=False,
            )
            return
        prompt = self.query_one("#system-prompt", TextArea).text.strip()
        self.dismiss((settings, prompt))

    def action_cancel(self) -> None:
        self.dismiss(None)
