"""Load options a backend declares once: the command line's flags and the model picker's rows
are both made from the declaration, so the two never drift apart.

A backend lists its options in `Backend.load_options`; `tui/cli.py` turns each into a flag
(`add_to_parser`) and the picker into a one-line choice row. A value reaches `LoadSpec` through
`to_spec`, where an option's "unset" choice (quantize "none", attention "auto") becomes None.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Literal

Kind = Literal["choice", "text", "switch"]


@dataclass(frozen=True)
class LoadOption:
    """One way to load a model.

    `kind`: "choice" (a flag with these choices, a row cycling them), "text" (a free-form flag,
    the row offers the common `choices`), "switch" (a flag without a value, a row off/on).
    `dest` is the launch config's field; `needs` maps a choice to a module it needs, and the
    picker offers it only where that module can be imported."""

    key: str  # the picker row's id suffix (mp-KEY)
    label: str  # the picker row's label
    flag: str  # the command-line flag
    dest: str  # LaunchConfig field the flag sets
    help: str
    choices: tuple[tuple[str, str], ...] = ()  # (value, label); the first is the row's default
    kind: Kind = "choice"
    unset: str | None = None  # the choice that means "not set" (None in LoadSpec)
    row_default: str | None = None  # the row's first value, when not the first choice
    cli_default: str | None = None  # the flag's default (None: unset, config file decides)
    needs: tuple[tuple[str, str], ...] = ()  # (choice, module it needs)
    flag_takes_unset: bool = True  # False: the unset choice is no value of the flag

    def row_choices(self) -> list[tuple[str, str]]:
        """The choices the picker offers on this machine."""
        if self.kind == "switch":
            return [("off", "off"), ("on", "on")]
        needs = dict(self.needs)
        return [(v, label) for v, label in self.choices if v not in needs or _has(needs[v])]

    def to_spec(self, value: str) -> str | bool | None:
        """A row's value as LoadSpec holds it."""
        if self.kind == "switch":
            return value == "on"
        return None if value == self.unset else value

    def add_to_parser(self, parser: argparse.ArgumentParser) -> None:
        if self.kind == "switch":
            parser.add_argument(self.flag, dest=self.dest, action="store_true", help=self.help)
            return
        choices = None if self.kind == "text" else [v for v, _ in self.choices]
        if choices is not None and not self.flag_takes_unset:
            choices = [v for v in choices if v != self.unset]  # leaving the flag out says it
        parser.add_argument(
            self.flag, dest=self.dest, choices=choices, default=self.cli_default, help=self.help
        )


def _has(module: str) -> bool:
    return find_spec(module) is not None
