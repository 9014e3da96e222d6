"""What else the model might have said: a reply token by token, with the alternatives.

`TokenInspector(steps)` shows the reply as its tokens (tui/engine/tokens.py). The token under
the cursor is drawn reversed; a token the model gave less than a 10% chance is underlined and
followed by a dagger (†), so it reads in 16 colours and without any. Below: that token's
probability and the likeliest tokens at that step, each with its probability as a figure and a
bar. Picking one (Enter) returns `(index, choice)`: the chat core then branches the reply at
that token and the model carries on from it. Returns None on Esc.

Keys: left / right the previous / next token, n / N the next / previous unlikely one, up /
down an alternative, Enter branch there, p every token's probability in the text, Esc close.
Model text is drawn as text, never markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.engine.tokens import TokenChoice, TokenStep
from tui.text import visible

MARK = "†"  # after an unlikely token: the mark that does not need colour
WINDOW_CHARS = 400  # text shown either side of the cursor
WINDOW_LINES = 7  # ... and at most this many line breaks either side


def token_label(choice: TokenChoice) -> str:
    """A token as one visible word: spaces as ␣, line breaks as ⏎, tabs as ⇥."""
    if choice.special:
        return f"⟨{visible(choice.text)}⟩"
    text = choice.text.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")
    return visible(text) or "∅"


def percent(p: float) -> str:
    return f"{p * 100:5.1f}%" if p >= 0.001 else " <0.1%"


def bar(p: float, width: int = 10) -> str:
    full = round(max(0.0, min(1.0, p)) * width)
    return "█" * full + "░" * (width - full)


def _window(steps: list[TokenStep], at: int) -> tuple[int, int]:
    """The tokens around `at` worth showing: some text and a few lines either way."""
    lo = at
    chars = lines = 0
    while lo > 0 and chars < WINDOW_CHARS and lines < WINDOW_LINES:
        lo -= 1
        chars += len(steps[lo].chosen.text)
        lines += steps[lo].chosen.text.count("\n")
    hi = at
    chars = lines = 0
    while hi < len(steps) - 1 and chars < WINDOW_CHARS and lines < WINDOW_LINES:
        hi += 1
        chars += len(steps[hi].chosen.text)
        lines += steps[hi].chosen.text.count("\n")
    return lo, hi


def flow(steps: list[TokenStep], at: int, figures: bool = False) -> Content:
    """The reply around token `at`: the cursor reversed, unlikely tokens underlined with a
    dagger, and (with `figures`) each token's probability after it."""
    lo, hi = _window(steps, at)
    parts: list[Content | str | tuple[str, str]] = ["… "] if lo else []
    for i in range(lo, hi + 1):
        step = steps[i]
        text = (
            f"⟨{visible(step.chosen.text)}⟩" if step.chosen.special else visible(step.chosen.text)
        )
        style = "reverse" if i == at else ""
        if step.unlikely:
            style = f"{style} underline".strip()
        parts.append((text or "∅", style) if style else text)
        if step.unlikely:
            parts.append((MARK, "bold"))
        if figures:
            parts.append((f"[{step.chosen.probability * 100:.0f}]", "dim"))
    if hi < len(steps) - 1:
        parts.append(" …")
    return Content.assemble(*parts)


class TokenInspector(ModalScreen[tuple[int, TokenChoice] | None]):
    """A reply's tokens and their alternatives; see the module."""

    DEFAULT_CSS = """
    TokenInspector { align: center middle; }
    TokenInspector > #box {
        width: 100%; max-width: 100; height: 1fr; max-height: 34;
        border: round $primary; background: $surface; padding: 0 1;
        border-title-style: bold; border-subtitle-color: $text-muted;
    }
    TokenInspector #flow { height: 1fr; min-height: 4; overflow-y: hidden; }
    TokenInspector #detail { height: auto; margin-top: 1; text-style: bold; }
    TokenInspector #alternatives { height: auto; max-height: 12; }
    TokenInspector .hint { color: $text-muted; height: auto; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("left", "move(-1)", "← Token", show=False),
        Binding("right", "move(1)", "Token →", show=False),
        Binding("n", "unlikely(1)", "Next unlikely"),
        Binding("N", "unlikely(-1)", "Previous unlikely", show=False),
        Binding("p", "figures", "Probabilities"),
    ]

    def __init__(self, steps: list[TokenStep], start: int | None = None) -> None:
        super().__init__()
        self.steps = steps
        self.at = 0
        if start is not None:
            self.at = max(0, min(start, len(steps) - 1))
        else:  # open on the first unlikely token: that is where the interest is
            self.at = next((i for i, s in enumerate(steps) if s.unlikely), 0)
        self.figures = False

    def compose(self) -> ComposeResult:
        unlikely = sum(s.unlikely for s in self.steps)
        with Vertical(id="box") as box:
            box.border_title = "Token alternatives"
            box.border_subtitle = f"{len(self.steps)} tokens · {unlikely} under 10%"
            yield Static(id="flow")
            yield Static(id="detail")
            yield OptionList(id="alternatives")
            yield Static(
                Content(
                    f"underlined{MARK}: under 10% likely · reversed: this token · ←/→ token · "
                    "n/N next/previous unlikely · ↑/↓ alternative · Enter: branch the reply "
                    "there · p figures · Esc close"
                ),
                classes="hint",
            )
        yield Footer()

    def on_mount(self) -> None:
        self._show()
        self.query_one(OptionList).focus()

    def _show(self) -> None:
        step = self.steps[self.at]
        self.query_one("#flow", Static).update(flow(self.steps, self.at, self.figures))
        self.query_one("#detail", Static).update(
            Content(
                f"Token {self.at + 1} of {len(self.steps)}: {token_label(step.chosen)}  "
                f"{percent(step.chosen.probability).strip()}"
                + ("  (unlikely)" if step.unlikely else "")
            )
        )
        options = self.query_one(OptionList)
        options.clear_options()
        choices = list(step.alternatives) or [step.chosen]
        if step.chosen not in choices:
            choices.append(step.chosen)  # less likely than every alternative kept
        for choice in choices:
            mine = choice == step.chosen
            options.add_option(
                Option(
                    Content.assemble(
                        percent(choice.probability),
                        " ",
                        bar(choice.probability),
                        "  ",
                        token_label(choice),
                        ("   ← the model's pick" if mine else "", "bold"),
                    ),
                    id=str(choices.index(choice)),
                )
            )
        self._choices = choices
        options.highlighted = 0

    def action_move(self, by: int) -> None:
        self.at = max(0, min(len(self.steps) - 1, self.at + by))
        self._show()

    def action_unlikely(self, by: int) -> None:
        i = self.at + by
        while 0 <= i < len(self.steps):
            if self.steps[i].unlikely:
                self.at = i
                self._show()
                return
            i += by
        self.notify("No unlikely token that way.", timeout=2)

    def action_figures(self) -> None:
        self.figures = not self.figures
        self._show()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        choice = self._choices[int(event.option.id or 0)]
        if choice == self.steps[self.at].chosen:
            self.notify("That is what the model said: pick another token to branch.", timeout=3)
            return
        self.dismiss((self.at, choice))

    def action_close(self) -> None:
        self.dismiss(None)
