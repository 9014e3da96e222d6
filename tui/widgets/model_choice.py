"""A one-line setting for the model picker: "dtype      < bf16 >", changed with left/right.

Textual's Select and RadioSet take three or more rows each; the picker has six load options and
must fit in 24 rows beside a model list, so each option is one focusable line. Keyboard only:
left/right (or space) cycle the values, up/down move between rows like a form. Values and
labels may come from model files (a draft model's name), so they are drawn as text.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widget import Widget


class ChoiceRow(Widget, can_focus=True):
    """One labelled choice among `choices` ((value, label) pairs).

    Args:
        label: what is being chosen, shown on the left.
        choices: the values and their labels, in cycling order; at least one.
        value: the initial value (the first choice when absent or unknown).
        label_width: cells reserved for the label, so values line up under each other.
    """

    DEFAULT_CSS = """
    ChoiceRow {
        height: 1;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ChoiceRow:focus {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    ChoiceRow.-warning > .choice-row--value {
        color: $warning;
    }
    """

    BINDINGS = [
        Binding("right,space", "cycle(1)", "Next value", show=False),
        Binding("left", "cycle(-1)", "Previous value", show=False),
        Binding("down", "app.focus_next", "Next option", show=False),
        Binding("up", "app.focus_previous", "Previous option", show=False),
    ]

    class Changed(Message):
        """The user changed the value (not sent when the app sets choices)."""

        def __init__(self, row: ChoiceRow, value: str) -> None:
            super().__init__()
            self.row = row
            self.value = value

        @property
        def control(self) -> ChoiceRow:
            return self.row

    def __init__(
        self,
        label: str,
        choices: Sequence[tuple[str, str]],
        value: str | None = None,
        *,
        label_width: int = 12,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.label = label
        self.label_width = label_width
        self._choices: list[tuple[str, str]] = list(choices) or [("", "")]
        self._index = self._find(value)

    def _find(self, value: str | None) -> int:
        for i, (v, _label) in enumerate(self._choices):
            if v == value:
                return i
        return 0

    @property
    def value(self) -> str:
        return self._choices[self._index][0]

    @value.setter
    def value(self, value: str) -> None:
        self._index = self._find(value)
        self.refresh()

    @property
    def choices(self) -> list[tuple[str, str]]:
        return list(self._choices)

    def set_choices(self, choices: Sequence[tuple[str, str]], keep: bool = True) -> None:
        """Replace the values; the current one is kept if it is still offered."""
        current = self.value if keep else None
        self._choices = list(choices) or [("", "")]
        self._index = self._find(current)
        self.refresh()

    def action_cycle(self, step: int) -> None:
        if len(self._choices) < 2:
            return
        self._index = (self._index + step) % len(self._choices)
        self.refresh()
        self.post_message(self.Changed(self, self.value))

    @property
    def value_label(self) -> str:
        return self._choices[self._index][1]

    def render(self) -> Content:
        many = len(self._choices) > 1
        left, right = ("< ", " >") if many else ("  ", "  ")
        return Content.assemble(
            (self.label.ljust(self.label_width), "bold"),
            left,
            self.value_label,
            right,
        )
