"""What the action mixins (message_actions, screen_actions) may use of the app.

The App is split into a few modules so each stays readable; this base class is the contract
between them: the state and the methods the mixins rely on, declared once, so a type checker
can follow them. `TchatApp` provides every one of these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App

if TYPE_CHECKING:
    from tui.chat import Chat, ReplyInFlight
    from tui.clipboard import CopyResult
    from tui.config import Config
    from tui.engine.backend import Backend, LoadSpec, ModelInfo
    from tui.launch import LaunchConfig
    from tui.store import SessionStore
    from tui.store.autosave import Autosaver
    from tui.store.session import Session
    from tui.widgets.conversation import Conversation
    from tui.widgets.message import MessageView


class ChatHost(App[None]):
    """The chat app's shared state and core operations (implemented in `tui.app`)."""

    launch: LaunchConfig
    config: Config
    chat: Chat  # the open chat: session, reply in flight, edits (tui/chat)
    session: Session  # the open chat's session
    store: SessionStore
    backend: Backend
    autosaver: Autosaver
    conversation: Conversation
    model_info: ModelInfo | None
    last_copy: CopyResult
    alternatives_on: bool  # token alternatives asked of the backend (branch_keys.py)

    @property
    def generating(self) -> bool:
        raise NotImplementedError

    def save_now(self) -> None:
        raise NotImplementedError

    def _new_session(self) -> Session:
        raise NotImplementedError

    def _load_spec(self) -> LoadSpec:
        raise NotImplementedError

    def _update_context(self, used: int | None = None) -> None:
        raise NotImplementedError

    def _active_keys(self) -> dict[str, str]:
        raise NotImplementedError

    def _set_history(self) -> None:
        raise NotImplementedError

    def _copy(self, text: str, done: str) -> None:
        raise NotImplementedError

    def _copy_code(self, view: MessageView) -> None:
        raise NotImplementedError

    async def _show_reply(self, reply: ReplyInFlight, carried: MessageView | None = None) -> None:
        raise NotImplementedError

    def action_stop(self) -> None:
        raise NotImplementedError

    def load_model(self, spec: LoadSpec) -> Any:
        raise NotImplementedError

    def count_context(self) -> Any:
        raise NotImplementedError
