"""Show exactly what the model receives for the next reply.

A chat model never sees "messages": it sees one string, the chat template applied to the
system prompt and the conversation, then tokens. When a reply looks wrong (ignores the system
prompt, continues in the wrong role, runs out of context), this is the thing to look at. The
app passes the rendered string (`backend.render_prompt(messages)`), its length in tokens, and
optionally a function that tokenizes it, called only when asked (`t`): tokenizing a long chat
takes a moment and the ids are rarely needed.

The text is shown as text in a read-only TextArea: brackets are not markup, control characters
show as symbols (␛), and `w` marks line ends (↵) and tabs (→), which templates depend on.
Keys: t token ids · w line ends · c copy · Esc close. Returns nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea
from textual.worker import get_current_worker

from tui.text import visible


def shown_text(rendered: str, marks: bool) -> str:
    """The prompt as displayed: control characters visible; with `marks`, ↵ ends every line
    and → stands before each tab, so whitespace the template relies on can be seen."""
    text = visible(rendered)
    if marks:
        text = text.replace("\t", "→\t").replace("\n", "↵\n")
    return text


def format_ids(ids: list[int]) -> str:
    return " ".join(str(i) for i in ids)


class PromptInspector(ModalScreen[None]):
    """The rendered prompt, its token count, and its token ids on demand."""

    DEFAULT_CSS = """
    PromptInspector { align: center middle; }
    PromptInspector > #inspector {
        width: 100%; max-width: 120; height: 1fr; max-height: 40;
        border: round $primary; background: $surface; padding: 0 1;
        border-title-style: bold; border-subtitle-color: $text-muted;
    }
    PromptInspector .note { color: $text-muted; height: auto; }
    PromptInspector #prompt-text { height: 1fr; }
    PromptInspector #ids-label { margin-top: 1; height: 1; display: none; }
    PromptInspector #token-ids { height: 6; display: none; }
    PromptInspector.-ids #ids-label, PromptInspector.-ids #token-ids { display: block; }
    """

    BINDINGS = [
        Binding("t", "token_ids", "Token ids"),
        Binding("w", "toggle_marks", "Line ends"),
        Binding("c", "copy", "Copy"),
        Binding("escape", "close", "Close"),
    ]

    @dataclass
    class _Tokenized(Message):
        ids: list[int] | None
        error: str | None = None

    def __init__(
        self,
        rendered: str,
        token_count: int,
        token_ids: Callable[[], list[int]] | None = None,
    ) -> None:
        super().__init__()
        self.rendered = rendered
        self.token_count = token_count
        self._token_ids = token_ids
        self.marks = False
        self.ids: list[int] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="inspector") as box:
            box.border_title = "Prompt as the model receives it"
            box.border_subtitle = f"{self.token_count:,} tokens · {len(self.rendered):,} characters"
            yield Static(
                "The chat template applied to the system prompt and chat, up to the reply.",
                classes="note",
            )
            yield TextArea(
                shown_text(self.rendered, False),
                id="prompt-text",
                read_only=True,
                soft_wrap=True,
                show_line_numbers=False,
            )
            yield Static("", id="ids-label")
            yield TextArea("", id="token-ids", read_only=True, soft_wrap=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#prompt-text", TextArea).focus()

    def action_toggle_marks(self) -> None:
        self.marks = not self.marks
        area = self.query_one("#prompt-text", TextArea)
        location = area.cursor_location
        area.load_text(shown_text(self.rendered, self.marks))
        area.move_cursor((location[0], 0))

    def action_token_ids(self) -> None:
        if self.has_class("-ids"):
            self.remove_class("-ids")
            return
        if self._token_ids is None:
            self.app.notify("This model backend cannot list token ids.", markup=False)
            return
        self.add_class("-ids")
        if self.ids is None:
            self.query_one("#ids-label", Static).update("Token ids: tokenizing…")
            self._tokenize()

    @work(thread=True, exclusive=True, group="tokenize", exit_on_error=False)
    def _tokenize(self) -> None:
        assert self._token_ids is not None
        try:
            ids, error = list(self._token_ids()), None
        except Exception as exc:  # noqa: BLE001 - shown in place of the ids
            ids, error = None, f"{type(exc).__name__}: {exc}"
        if not get_current_worker().is_cancelled:
            self.post_message(self._Tokenized(ids, error))

    def on_prompt_inspector__tokenized(self, event: _Tokenized) -> None:
        label = self.query_one("#ids-label", Static)
        if event.ids is None:
            label.update(Content(visible(f"Token ids: could not tokenize ({event.error})")))
            return
        self.ids = event.ids
        label.update(f"Token ids ({len(event.ids):,}):")
        self.query_one("#token-ids", TextArea).load_text(format_ids(event.ids))

    def action_copy(self) -> None:
        # The raw prompt, not the displayed one: what is pasted elsewhere should be exact.
        self.app.copy_to_clipboard(self.rendered)
        self.app.notify(f"Copied the prompt ({len(self.rendered):,} characters).", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
