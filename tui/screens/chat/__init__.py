"""The chat screen and its parts: the open chat as the user sees and drives it."""

from tui.screens.chat.screen import ChatScreen

__all__ = ["ChatScreen"]
