"""The prompt box: Enter sends, ctrl+j (or shift+enter) adds a new line.

A TextArea rather than an Input so multi-line prompts and pasted code keep their shape.
ctrl+j is the newline key because every terminal sends it (it is a plain line feed), while
shift+enter only reaches the app on terminals that report modified keys.

History: Up on the first line (Down on the last) steps through earlier prompts, like a shell;
anywhere else they move the cursor, so editing a multi-line draft works as usual. The history
is the open chat's own user messages (the app passes them with `set_history`) followed by
everything sent in this run, newest last, without duplicates. The draft being typed is kept
and comes back after the newest entry; an entry edited while browsing keeps the edit until
the next send (like readline).

ctrl+o opens the draft in $VISUAL, else $EDITOR, else vi (VISUAL first, as git and crontab
do) with the app suspended; saving and quitting the editor puts the text back in the box, not
sent. ctrl+o because the obvious keys are taken: ctrl+e is TextArea's end-of-line, ctrl+x its
cut, ctrl+b the tmux prefix, and ctrl+g the app's gauges key; ctrl+o reaches the app in every
terminal and tmux (Textual switches off IEXTEN, so it is not the terminal's "discard").
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from textual import events
from textual.app import SuspendNotSupported
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea


def editor_command(env: dict[str, str] | os._Environ[str] | None = None) -> list[str]:
    """The user's editor as argv: $VISUAL, else $EDITOR, else vi (may carry options)."""
    env = os.environ if env is None else env
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if value:
            try:
                return shlex.split(value)
            except ValueError:
                return [value]
    return ["vi"]


def _dedupe_keep_last(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in reversed(items):
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out[::-1]


class PromptInput(TextArea):
    """Posts `PromptInput.Submitted` with the text when the user presses Enter."""

    DEFAULT_CSS = """
    PromptInput { height: auto; max-height: 8; min-height: 3; }
    """

    BINDINGS = [
        Binding("ctrl+o", "open_editor", "Editor", id="open_editor"),
    ]

    @dataclass
    class Submitted(Message):
        """The user sent `text` (never empty or whitespace only)."""

        text: str

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            **kwargs,  # type: ignore[arg-type]
        )
        self._session_history: list[str] = []
        self._sent: list[str] = []  # prompts sent in this run, in any chat
        self.prompt_history: list[str] = []
        self._index: int | None = None  # position in `history` while browsing it
        self._draft = ""
        self._edits: dict[int, str] = {}

    # ---- history -------------------------------------------------------------------------

    def set_history(self, prompts: list[str]) -> None:
        """The open chat's user messages, oldest first (call on a new or resumed chat)."""
        self._session_history = [p for p in prompts if p.strip()]
        self._rebuild_history()

    def _rebuild_history(self) -> None:
        self.prompt_history = _dedupe_keep_last(self._session_history + self._sent)
        self._index = None
        self._edits.clear()

    def _show(self, text: str, at_start: bool) -> None:
        self.load_text(text)
        if at_start:  # going back: stay on the first line so Up keeps going back
            self.move_cursor((0, len(self.document.get_line(0))))
        else:
            self.move_cursor(self.document.end)

    def history_previous(self) -> bool:
        """Show the previous (older) entry; False when there is none."""
        if not self.prompt_history or self._index == 0:
            return False
        if self._index is None:
            self._draft = self.text
            self._index = len(self.prompt_history) - 1
        else:
            self._edits[self._index] = self.text
            self._index -= 1
        self._show(self._edits.get(self._index, self.prompt_history[self._index]), at_start=True)
        return True

    def history_next(self) -> bool:
        """Show the next (newer) entry, then the draft; False when not browsing."""
        if self._index is None:
            return False
        self._edits[self._index] = self.text
        self._index += 1
        if self._index >= len(self.prompt_history):
            self._index = None
            self._show(self._draft, at_start=False)
        else:
            self._show(
                self._edits.get(self._index, self.prompt_history[self._index]), at_start=False
            )
        return True

    def _on_first_row(self) -> bool:
        return self.navigator.is_first_wrapped_line(self.cursor_location)

    def _on_last_row(self) -> bool:
        return self.navigator.is_last_wrapped_line(self.cursor_location)

    # ---- keys ----------------------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        # Textual calls this before TextArea's own key handler (it walks the classes from this
        # one down): a key handled here prevents the default; any other falls through to it.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text
            if text.strip():
                self.clear()
                self._sent.append(text)
                self._rebuild_history()
                self.post_message(self.Submitted(text))
            return
        if event.key in ("ctrl+j", "shift+enter"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "up" and self.selection.is_empty and self._on_first_row():
            if self.history_previous():
                event.stop()
                event.prevent_default()
                return
        if event.key == "down" and self.selection.is_empty and self._on_last_row():
            if self.history_next():
                event.stop()
                event.prevent_default()
                return

    # ---- external editor -----------------------------------------------------------------

    def action_open_editor(self) -> None:
        """Edit the draft in the user's editor; the result replaces the draft."""
        command = editor_command()
        fd, name = tempfile.mkstemp(prefix="tchat-prompt-", suffix=".md")
        path = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.text)
            ok, problem = self._run_editor(command, path)
            if not ok:
                self.app.notify(problem, title="Editor", severity="error", markup=False)
                return
            text = path.read_text("utf-8", errors="replace")
        finally:
            path.unlink(missing_ok=True)
        if text.endswith("\n"):  # editors end the file with a newline; the prompt does not
            text = text[:-1]
        self.load_text(text)
        self.move_cursor(self.document.end)
        self.focus()

    def _run_editor(self, command: list[str], path: Path) -> tuple[bool, str]:
        def run() -> tuple[bool, str]:
            try:
                done = subprocess.run([*command, str(path)], check=False)
            except OSError as exc:
                return False, f"Cannot start {command[0]}: {exc.strerror or exc}. Set $EDITOR."
            if done.returncode != 0:
                return False, f"{command[0]} exited with {done.returncode}; the draft is unchanged."
            return True, ""

        try:
            with self.app.suspend():  # the editor gets the terminal, the app waits
                return run()
        except SuspendNotSupported:
            if self.app.is_headless:  # tests: no terminal to hand over, the editor needs none
                return run()
            return False, "An external editor cannot be opened in this terminal."
