"""Two small dialogs the other screens open on top of themselves: a yes/no question and a
one-line text entry.

They exist so that destructive or naming steps (deleting a chat, renaming it) get their own
focused, keyboard-only moment: `y`/`n` to answer, Enter to accept a name, Esc always backs out.
Every string shown (titles, paths) is untrusted and drawn as text, never markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from tui.text import visible


class ConfirmScreen(ModalScreen[bool]):
    """Asks `question`; returns True for `y`, False for `n` or Esc.

    Enter does not answer: a stray Enter (the key that opened a row a moment ago) must never
    delete anything.
    """

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > #dialog {
        width: 70; max-width: 100%; height: auto;
        border: round $error; background: $surface; padding: 0 1;
    }
    ConfirmScreen .question { text-style: bold; }
    ConfirmScreen .detail { color: $text-muted; }
    ConfirmScreen .hint { color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str, detail: str = "", yes: str = "yes") -> None:
        super().__init__()
        self._question = question
        self._detail = detail
        self._yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content(visible(self._question)), classes="question")
            if self._detail:
                yield Static(Content(visible(self._detail)), classes="detail")
            yield Static(Content(f"y {self._yes} · n or Esc keep it"), classes="hint")
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TextPromptScreen(ModalScreen[str | None]):
    """Asks for one line of text (a chat's new title); returns it stripped, or None on Esc.

    An empty answer is refused with a message rather than accepted: a blank title would make
    the chat hard to find again.
    """

    DEFAULT_CSS = """
    TextPromptScreen { align: center middle; }
    TextPromptScreen > #dialog {
        width: 70; max-width: 100%; height: auto;
        border: round $primary; background: $surface; padding: 0 1;
    }
    TextPromptScreen .question { text-style: bold; }
    TextPromptScreen .problem { color: $error; height: auto; }
    TextPromptScreen .hint { color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self._question = question
        self._value = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content(visible(self._question)), classes="question")
            yield Input(
                visible(self._value).replace("\n", " "),
                placeholder=self._placeholder,
                id="answer",
                select_on_focus=True,
            )
            yield Static("", classes="problem", id="problem")
            yield Static("Enter save · Esc cancel", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = " ".join(event.value.split())
        if not text:
            self.query_one("#problem", Static).update("It cannot be empty.")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
