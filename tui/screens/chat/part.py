"""The base of the chat screen's parts.

The chat screen does many things (replies, model loads, downloads, the keys on a message,
branches, dialogs); each is a part, an object the screen holds and hands the events it is
about. A part reaches the rest of the screen through `self.screen`, typed, so a type checker
follows every use: no mixins, no stub methods standing in for what another module provides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

    from tui.chat import Chat
    from tui.engine.backend import Backend
    from tui.screens.chat.screen import ChatScreen
    from tui.store.session import Session
    from tui.widgets.conversation import Conversation
    from tui.widgets.prompt import PromptInput


class Part:
    """One concern of the chat screen, with short ways to what every part uses."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen

    @property
    def chat(self) -> Chat:
        return self.screen.chat

    @property
    def session(self) -> Session:
        return self.screen.chat.session

    @property
    def backend(self) -> Backend:
        return self.screen.backend

    @property
    def conversation(self) -> Conversation:
        return self.screen.conversation

    @property
    def prompt(self) -> PromptInput:
        return self.screen.prompt

    @property
    def app(self) -> App[None]:
        return self.screen.app
