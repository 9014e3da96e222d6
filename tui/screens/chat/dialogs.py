"""The chat screen's keys that open a dialog or copy: help, sessions, settings, system
prompt, prompt inspector, copy reply / code.

A part of the chat screen. Each builds its dialog with plain data and applies the dialog's
result; heavy work (listing sessions, tokenizing) happens in the dialogs' or the chat
screen's thread workers.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual.binding import Binding

from tui.chat.context import fit_to_context
from tui.engine.backend import EngineError
from tui.screens.chat.part import Part
from tui.store import GenerationSettings, SessionLoadError
from tui.widgets.message_view import MessageView


class Dialogs(Part):
    """What F1, F2, F4, F5, F8, F9 and ctrl+t open or copy."""

    # ---- help ----------------------------------------------------------------------------

    def help(self) -> None:
        from tui.screens.help import SCREEN_KEYS, HelpScreen

        screen = self.screen
        keys = screen.active_keys()
        rows = [("", "Chat"), ("enter", "send the prompt"), ("ctrl+j", "new line in the prompt")]
        rows += [
            (keys[b.id], b.description)
            for b in [*screen.BINDINGS, *screen.app.BINDINGS]
            if isinstance(b, Binding) and b.id and b.id in keys
        ]
        rows += [("", "On a focused message (shift+tab from the prompt)")]
        rows += [("up / down", "previous / next message; down from the last: the prompt")]
        rows += [  # every key of a focused message, also those the footer has no room for
            (b.key.replace(",", " / "), b.description)
            for b in MessageView.BINDINGS
            if isinstance(b, Binding) and not b.action.startswith("screen.focus_message")
        ]
        self.app.push_screen(HelpScreen(rows + SCREEN_KEYS))

    # ---- system prompt and settings ------------------------------------------------------

    def edit_system(self) -> None:
        from tui.screens.system_prompt import SystemPromptScreen

        def apply(result: str | None) -> None:
            if result is None or result == self.session.system_prompt:
                return
            self._apply_system_prompt(result)
            self.app.notify("System prompt updated: it applies from the next reply.", timeout=4)

        self.app.push_screen(SystemPromptScreen(self.session.system_prompt), apply)

    def _apply_system_prompt(self, prompt: str) -> None:
        self.session.system_prompt = prompt
        self.chat.save()
        self.screen.call_later(self.conversation.show_system_prompt, prompt)

    def settings(self) -> None:
        from tui.screens.settings import SettingsScreen, ThinkingRow

        def apply(result: tuple[GenerationSettings, str] | None) -> None:
            if result is None:
                return
            settings, system = result
            self.chat.choose_settings(settings)
            if system != self.session.system_prompt:
                self._apply_system_prompt(system)
            else:
                self.chat.save()
            self.app.notify("Saved with this chat; applies from the next reply.", timeout=4)

        fmt = self.chat.chat_format
        thinking = None
        if fmt is not None:
            choice = self.session.settings.thinking
            thinking = ThinkingRow(
                fmt.switch is not None, fmt.thinking_on(choice), fmt.thinking_on(None), fmt.note
            )
        screen = SettingsScreen(
            self.session.settings,
            self.session.system_prompt,
            inherited=self.chat.sampling.inherited(),
            thinking=thinking,
        )
        self.app.push_screen(screen, apply)

    # ---- sessions ------------------------------------------------------------------------

    def browse_sessions(self) -> None:
        from tui.screens.session_browser import SessionBrowser

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.screen.call_later(self.open_session_file, path)

        self.app.push_screen(SessionBrowser(self.screen.store, self.session.id), chosen)

    async def open_session_file(self, path: Path) -> None:
        if self.chat.busy:
            self.app.notify("A reply is still on its way: Esc stops it.", severity="warning")
            return
        screen = self.screen
        try:
            session = screen.store.load(path)
        except (SessionLoadError, OSError) as exc:
            self.app.notify(str(exc), title="Could not open", severity="error")
            return
        if session.id == self.session.id:
            return
        screen.save_now()
        await screen.open(session)
        screen.replies.count_context()
        spec, info = screen.load_spec(), screen.model_info
        if screen.launch.model is None and info and spec.model != info.id:
            screen.loads.load(spec)  # the chat continues on the model it was held with

    # ---- prompt inspector ----------------------------------------------------------------

    def inspect_prompt(self) -> None:
        if not self.backend.capabilities.prompt_text:
            self.app.notify("This engine does not show the prompt it builds.", severity="warning")
            return
        if self.screen.model_info is None:
            self.app.notify("The model is still loading: its chat template decides the prompt.")
            return
        messages = self.chat.prompt_to_inspect(self.prompt.text)
        if not messages:
            self.app.notify("Nothing to send yet: type a message first.")
            return
        self.screen.run_worker(
            partial(self._inspect, messages),
            thread=True,
            exclusive=True,
            group="inspect",
            exit_on_error=False,
        )

    def _inspect(self, messages: list[dict[str, str]]) -> None:
        from tui.screens.prompt_inspector import PromptInspector

        backend, info = self.backend, self.screen.model_info
        try:  # show what would really be sent: after the context policy has trimmed it
            messages, _ = fit_to_context(
                messages,
                backend.count_tokens,
                info.context_length if info else None,
                self.session.settings.max_new_tokens,
            )
        except EngineError:
            pass
        rendered = backend.render_prompt(messages)
        count = backend.count_tokens(messages)
        app = self.screen.app
        app.call_from_thread(
            app.push_screen,
            PromptInspector(rendered, count, lambda: backend.token_ids(messages)),
        )

    # ---- clipboard -----------------------------------------------------------------------

    def _last_reply_view(self) -> MessageView | None:
        views = [v for v in self.conversation.views() if v.message.role == "assistant"]
        views = [v for v in views if v.message.content]
        if not views:
            self.app.notify("No reply to copy yet.", severity="warning")
            return None
        return views[-1]

    def copy_reply(self) -> None:
        view = self._last_reply_view()
        if view is not None:
            self.screen.message_keys.copy(view.message.content, "Last reply copied.")

    def copy_code(self) -> None:
        view = self._last_reply_view()
        if view is not None:
            self.screen.message_keys.copy_code(view)
