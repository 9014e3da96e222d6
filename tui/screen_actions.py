"""The app's actions that open a screen or copy: help, sessions, settings, system prompt,
prompt inspector, copy reply / code.

A mixin for the App, so app.py stays about the chat flow. Each action builds its screen with
plain data and applies the screen's result; heavy work (listing sessions, tokenizing) happens
in the screens' or the app's thread workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding

from tui import clipboard
from tui.chat.context import fit_to_context
from tui.chat_host import ChatHost
from tui.engine.backend import EngineError
from tui.store import GenerationSettings, SessionLoadError
from tui.widgets.message import MessageView
from tui.widgets.prompt import PromptInput

if TYPE_CHECKING:
    from tui.screens.session_browser import SessionBrowser


class ScreenActions(ChatHost):
    """Actions behind F1, F2, F4, F5, F8, F9 and ctrl+t."""

    # ---- help ----------------------------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import SCREEN_KEYS, HelpScreen

        keys = self._active_keys()
        rows = [("", "Chat"), ("enter", "send the prompt"), ("ctrl+j", "new line in the prompt")]
        rows += [
            (keys[b.id], b.description)
            for b in self.BINDINGS
            if isinstance(b, Binding) and b.id and b.id in keys
        ]
        rows += [("", "On a focused message (shift+tab from the prompt)")]
        rows += [("up / down", "previous / next message; down from the last: the prompt")]
        rows += [  # every key of a focused message, also those the footer has no room for
            (b.key.replace(",", " / "), b.description)
            for b in MessageView.BINDINGS
            if isinstance(b, Binding) and not b.action.startswith("app.focus_message")
        ]
        self.push_screen(HelpScreen(rows + SCREEN_KEYS))

    # ---- system prompt and settings ------------------------------------------------------

    def action_edit_system(self) -> None:
        from tui.screens.system_prompt import SystemPromptScreen

        def apply(result: str | None) -> None:
            if result is None or result == self.session.system_prompt:
                return
            self._apply_system_prompt(result)
            self.notify("System prompt updated: it applies from the next reply.", timeout=4)

        self.push_screen(SystemPromptScreen(self.session.system_prompt), apply)

    def _apply_system_prompt(self, prompt: str) -> None:
        self.session.system_prompt = prompt
        self.chat.save()
        self.call_later(self.conversation.show_system_prompt, prompt)

    def action_settings(self) -> None:
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
            self.notify("Saved with this chat; applies from the next reply.", timeout=4)

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
        self.push_screen(screen, apply)

    # ---- sessions ------------------------------------------------------------------------

    def action_browse_sessions(self) -> None:
        from tui.screens.session_browser import SessionBrowser

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.call_later(self.open_session_file, path)

        self.push_screen(SessionBrowser(self.store, self.session.id), chosen)

    async def open_session_file(self, path: Path) -> None:
        if self.chat.busy:
            self.notify("A reply is still on its way: Esc stops it.", severity="warning")
            return
        try:
            session = self.store.load(path)
        except (SessionLoadError, OSError) as exc:
            self.notify(str(exc), title="Could not open", severity="error", markup=False)
            return
        if session.id == self.session.id:
            return
        self.save_now()
        self.session = session
        await self.conversation.show(session)
        self._set_history()
        self.count_context()
        spec = self._load_spec()
        if self.launch.model is None and self.model_info and spec.model != self.model_info.id:
            self.load_model(spec)  # the chat continues on the model it was held with

    def on_session_browser_current_renamed(self, event: SessionBrowser.CurrentRenamed) -> None:
        self.session.title = event.title
        self.autosaver.submit(self.session)  # not _save(): a rename must not touch `updated`

    async def on_session_browser_current_deleted(
        self, event: SessionBrowser.CurrentDeleted
    ) -> None:
        self.chat.deleted = True  # no later save may write it again
        self.action_stop()
        self.autosaver.flush(timeout=5)
        self.store.delete(event.path)  # again, in case a queued save landed meanwhile
        self.session = self._new_session()  # not action_new_chat: that would save the old one
        await self.conversation.show(self.session)
        self._set_history()
        self._update_context(0)
        self.notify("That chat was deleted: this is a new one.", timeout=4)

    def _set_history(self) -> None:
        # query, not query_one: an app closing while a chat opens has no prompt any more.
        for prompt in self.query(PromptInput):
            prompt.set_history([m.content for m in self.session.messages if m.role == "user"])

    # ---- prompt inspector ----------------------------------------------------------------

    def action_inspect_prompt(self) -> None:
        if not self.backend.capabilities.prompt_text:
            self.notify("This engine does not show the prompt it builds.", severity="warning")
            return
        if self.model_info is None:
            self.notify("The model is still loading: its chat template decides the prompt.")
            return
        messages = self.chat.prompt_to_inspect(self.query_one(PromptInput).text)
        if not messages:
            self.notify("Nothing to send yet: type a message first.")
            return
        self._inspect(messages)

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def _inspect(self, messages: list[dict[str, str]]) -> None:
        from tui.screens.prompt_inspector import PromptInspector

        backend, info = self.backend, self.model_info
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
        self.call_from_thread(
            self.push_screen,
            PromptInspector(rendered, count, lambda: backend.token_ids(messages)),
        )

    # ---- clipboard -----------------------------------------------------------------------

    def copy_to_clipboard(self, text: str) -> None:
        """Every copy in the app (TextArea selections too) goes through OSC 52 for tmux."""
        self.last_copy = clipboard.copy_in_app(self, text)

    def _last_reply_view(self):  # noqa: ANN202
        views = [v for v in self.conversation.views() if v.message.role == "assistant"]
        views = [v for v in views if v.message.content]
        if not views:
            self.notify("No reply to copy yet.", severity="warning")
            return None
        return views[-1]

    def action_copy_reply(self) -> None:
        view = self._last_reply_view()
        if view is not None:
            self._copy(view.message.content, "Last reply copied.")

    def action_copy_code(self) -> None:
        view = self._last_reply_view()
        if view is not None:
            self._copy_code(view)
