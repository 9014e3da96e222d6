"""The tchat App: config, themes, the terminal, and the keys that work on every screen.

Thin on purpose. The chat itself (its panes, keys, workers and the chat core it drives) is the
chat screen's (tui/screens/chat); this class reads the config, registers and picks the theme,
guards the terminal driver, and owns the global keys: quit, theme, the command palette.
"""

from __future__ import annotations

import os
from functools import partial
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel

from tui import clipboard, themes
from tui.config import Config, ConfigError, load_config
from tui.engine.backend import Backend
from tui.engine.registry import make_backend
from tui.hardware import HardwareProbe
from tui.launch import LaunchConfig
from tui.safe_driver import guard as guard_driver
from tui.screens.chat import ChatScreen
from tui.text import visible

if TYPE_CHECKING:
    from tui.screens.session_browser import SessionBrowser


class TchatApp(App[None]):
    """Chat with a local or served model; every session saved as it goes."""

    CSS_PATH = "app.tcss"
    TITLE = "tchat"

    # ctrl+q is Textual's own (priority, so it works in every dialog) and shown by the chat
    # screen; `action_quit` below makes it save first.
    BINDINGS = [
        Binding("f3", "change_theme", "Theme", id="change_theme", show=False),
    ]

    def __init__(
        self,
        launch: LaunchConfig | None = None,
        backend: Backend | None = None,
        config: Config | None = None,
        probe: HardwareProbe | None = None,
    ) -> None:
        super().__init__()
        self.launch = launch or LaunchConfig()
        self.config_problem: str | None = None
        if config is None:
            try:
                config = load_config(self.launch.config_path)
            except ConfigError as exc:
                config, self.config_problem = Config(), str(exc)
        self.config = config
        # The theme is chosen before the first frame, so it is never drawn in the wrong one.
        self.theme_set = themes.load_themes()
        self.theme_set.register(self)
        self.theme, self.theme_note = themes.choose_theme(
            self.launch.theme, config.theme, os.environ, self.theme_set.available()
        )
        self.chat_screen = ChatScreen(
            self.launch,
            config,
            backend or make_backend(self.launch.backend, self.launch.fast),
            probe,
        )
        self.last_copy = clipboard.CopyResult(False, "nothing copied yet")

    def get_default_screen(self) -> ChatScreen:
        return self.chat_screen

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry paths, errors and model names: plain text unless asked."""
        if not markup:  # control characters in an error must not reach the terminal
            message, title = visible(message), visible(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def get_driver_class(self):  # noqa: ANN201 - Textual's own signature
        """Textual's driver, kept from hanging on a closed terminal (tui/safe_driver.py)."""
        return guard_driver(super().get_driver_class())

    def get_line_filters(self):  # noqa: ANN201 - Textual's own signature
        return themes.no_color_filters(self, super().get_line_filters())

    def copy_to_clipboard(self, text: str) -> None:
        """Every copy in the app (TextArea selections too) goes through OSC 52 for tmux."""
        self.last_copy = clipboard.copy_in_app(self, text)

    def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(self.config.keymap)  # binding ids -> keys, from config.toml
        if self.config_problem:
            self.notify(self.config_problem, title="Config file ignored", severity="error")
        for error in self.theme_set.errors:
            self.notify(error, title="Theme file ignored", severity="warning", timeout=10)
        if self.theme_note:
            self.notify(self.theme_note, title="Theme")
        themes.persist_theme_changes(
            self, save=lambda name: themes.save_theme_choice(name, self.launch.config_path)
        )

    async def action_quit(self) -> None:
        """ctrl+q: the chat stops its reply and saves, then the app exits."""
        await self.chat_screen.leave()

    # The session browser is a screen of its own: what it did to the open chat comes here.
    def on_session_browser_current_renamed(self, event: SessionBrowser.CurrentRenamed) -> None:
        self.chat_screen.current_renamed(event)

    async def on_session_browser_current_deleted(
        self, event: SessionBrowser.CurrentDeleted
    ) -> None:
        await self.chat_screen.current_deleted(event)

    def get_system_commands(self, screen):  # noqa: ANN001, ANN201 - Textual's signature
        """Every chat action in the command palette (ctrl+p), with its key as the help line."""
        yield from super().get_system_commands(screen)
        chat = self.chat_screen
        keys = chat.active_keys()
        for binding in chat.BINDINGS:
            if not isinstance(binding, Binding) or binding.action == "app.quit":
                continue  # Textual's own palette already offers it
            key = keys.get(binding.id or "", binding.key)
            yield SystemCommand(
                binding.description,
                f"Key: {key}",
                partial(self.run_action, binding.action, chat),
            )
