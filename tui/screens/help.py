"""Every key in one place (F1 or ?).

The footer only fits a few keys at 80 columns, and some keys only work in one pane (history in
the prompt, rename in the session browser). This screen lists them all, grouped, from the list
the app builds (so a key remapped in the config file shows its new key here too).

`HelpScreen(bindings)`: `bindings` is a list of `(key, what it does)`; an entry with an empty
key starts a new group and its text is the group's heading. Keys: up/down/PageUp/PageDown
scroll, Esc (or F1, ?, q) closes. Returns nothing.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui.text import visible

KEY_WIDTH = 18

# The keys of the prompt box and the modal screens, for the app to append to its own list.
SCREEN_KEYS: list[tuple[str, str]] = [
    ("", "Prompt"),
    ("up / down", "earlier / later prompts (on the first / last line of the draft)"),
    ("ctrl+o", "edit the draft in $VISUAL / $EDITOR (vi if neither is set)"),
    ("", "Session browser"),
    ("enter", "open the highlighted chat"),
    ("/", "search titles and messages (Down or Enter: back to the list)"),
    ("r", "rename"),
    ("d", "delete (asks y/n)"),
    ("e", "export to Markdown ($XDG_DATA_HOME/tchat/exports)"),
    ("home / end", "newest / oldest"),
    ("", "Settings"),
    ("tab / shift+tab", "next / previous field (Enter moves on too)"),
    ("space", "sampling on / off"),
    ("ctrl+s", "save"),
    ("", "Token alternatives (a on a reply)"),
    ("left / right", "previous / next token"),
    ("n / N", "next / previous unlikely token (underlined, marked †)"),
    ("up / down", "choose an alternative"),
    ("enter", "branch the reply at that token: the model carries on from it"),
    ("p", "every token's probability in the text"),
    ("", "Prompt inspector"),
    ("t", "show the token ids"),
    ("w", "mark line ends and tabs"),
    ("c", "copy the prompt"),
    ("", "Dialogs"),
    ("escape", "close a dialog"),
]


def help_lines(bindings: list[tuple[str, str]], key_width: int = KEY_WIDTH) -> Content:
    """The list as styled text: headings bold, keys in a column, descriptions after them."""
    lines: list[Content] = []
    for key, what in bindings:
        key, what = visible(key), visible(what)
        if not key:
            if lines:
                lines.append(Content(""))
            lines.append(Content.styled(what, "bold $accent"))
            continue
        pad = max(1, key_width - len(key))
        lines.append(Content.assemble((key, "bold $primary"), " " * pad, what))
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """Keys and what they do; see the module."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > #help {
        width: 100%; max-width: 90; height: 1fr; max-height: 40;
        border: round $primary; background: $surface; padding: 0 1;
        border-title-style: bold; border-subtitle-color: $text-muted;
    }
    HelpScreen VerticalScroll { height: 1fr; scrollbar-size-vertical: 1; }
    HelpScreen #keys { width: 1fr; }
    """

    BINDINGS = [
        Binding("escape,f1,question_mark,q", "close", "Close"),
    ]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        with Vertical(id="help") as box:
            box.border_title = "Keys"
            box.border_subtitle = "Esc closes"
            with VerticalScroll(id="scroller"):
                yield Static(help_lines(self.bindings), id="keys")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#scroller").focus()

    def action_close(self) -> None:
        self.dismiss(None)
