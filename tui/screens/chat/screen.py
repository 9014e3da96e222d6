"""The chat screen: the open chat's panes, its keys, and the events its workers report.

The screen holds the chat core's `Chat` (tui/chat: the session, the reply in flight, every
rule of send / regenerate / edit / continue / delete) and the engine it talks to, and shows
them: the conversation, the prompt, the gauges, the status line and, on F6, the model picker.
What it does is split into parts, each an object it holds (part.py): `replies` (a reply from
the prompt to its last token), `loads` (models and engines), `downloads` (from the hub),
`message_keys` and `branch_keys` (the keys on a focused message), `dialogs` (F2, F4, F5, F8,
copies). This module wires keys and events to them. Data flows one way: keys -> widget ->
event -> screen -> part -> worker -> event -> widget.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from tui.chat import Chat
from tui.config import Config
from tui.engine.backend import Backend, LoadSpec, ModelInfo
from tui.engine.pump import Pacer
from tui.hardware import HardwareProbe, HardwareService
from tui.launch import LaunchConfig, load_spec_for, sessions_dir_for
from tui.lifeline import lifeline
from tui.screens.chat.branch_keys import ALTERNATIVES, BranchKeys
from tui.screens.chat.dialogs import Dialogs
from tui.screens.chat.downloads import Downloads
from tui.screens.chat.events import (
    DownloadEnded,
    DownloadPlanned,
    DownloadProgressed,
    ModelLoaded,
    ModelLoadFailed,
    ModelLoadProgressed,
    ReplyChunked,
    ReplyFinished,
    ReplyStarted,
    SessionSaved,
    SessionSaveFailed,
)
from tui.screens.chat.loads import Loads
from tui.screens.chat.message_keys import MessageKeys
from tui.screens.chat.replies import Replies
from tui.store import SessionLoadError, SessionStore
from tui.store.autosave import Autosaver
from tui.store.session import Message, Session
from tui.widgets.conversation import Conversation
from tui.widgets.gauges import GaugesPane
from tui.widgets.message_view import MessageView
from tui.widgets.prompt import PromptInput
from tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from tui.engine.tokens import TokenStep
    from tui.screens.session_browser import SessionBrowser
    from tui.widgets.model_picker import ModelPicker


# The token alternatives of this many chats left behind are kept (each keeps up to 64 replies').
KEPT_TRACE_CHATS = 8


class ChatScreen(Screen[None]):
    """One open chat, its engine and its panes; the App around it keeps config and themes."""

    # The chat's keys; the App adds the theme (F3) and Textual's command palette. Quit is the
    # App's action, bound here first so the footer keeps its place for it (Textual lists a
    # screen's keys before the App's).
    BINDINGS = [
        Binding("ctrl+q", "app.quit", "Quit", id="quit", priority=True),
        Binding("escape", "stop", "Stop reply", id="stop"),
        Binding("ctrl+n", "new_chat", "New chat", id="new_chat"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="regenerate", show=False),
        Binding("f1", "help", "Help", id="help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f2", "edit_system", "System prompt", id="edit_system", show=False),
        Binding("f4", "browse_sessions", "Sessions", id="browse_sessions"),
        Binding("f5", "settings", "Settings", id="settings", show=False),
        Binding("f8", "inspect_prompt", "Inspect prompt", id="inspect_prompt", show=False),
        # The prompt (a TextArea) binds F7 to select-all: priority makes it reach the screen.
        Binding(
            "f7",
            "toggle_thinking",
            "Thinking on/off",
            id="toggle_thinking",
            show=False,
            priority=True,
        ),
        Binding(
            "ctrl+f",
            "toggle_all_thinking",
            "Show/fold thinking",
            id="toggle_all_thinking",
            show=False,
        ),
        Binding("f9", "copy_reply", "Copy reply", id="copy_reply", show=False),
        Binding("ctrl+t", "copy_code", "Copy code", id="copy_code", show=False),
        # The prompt (a TextArea) binds F6 itself: priority makes it reach the screen.
        Binding("f6", "toggle_models", "Models", id="toggle_models", priority=True),
        Binding("ctrl+g", "toggle_gauges", "Gauges", id="toggle_gauges", show=False),
    ]

    def __init__(
        self,
        launch: LaunchConfig,
        config: Config,
        backend: Backend,
        probe: HardwareProbe | None = None,
    ) -> None:
        super().__init__()
        self.launch = launch
        self.config = config
        self.backend = backend
        self.store = SessionStore(
            sessions_dir_for(launch, config), fmt=launch.format or config.format or "toml"
        )
        self.autosaver = Autosaver(
            self.store,
            on_saved=lambda r: self.post_message(
                SessionSaved(str(r.path), r.reason if r.copied else None, r.copied_from)
            ),
            on_error=lambda e: self.post_message(SessionSaveFailed(str(e))),
        )
        # The open chat (tui/chat): session, reply in flight, edits. Replaced with each chat.
        self.chat = Chat(
            self.new_session(), backend, self.autosaver.submit, config_settings=config.generation
        )
        self.reply_view: MessageView | None = None  # the reply in flight's view
        # The token alternatives of chats left behind: session id -> message id -> steps.
        self._traces: dict[str, dict[str, list[TokenStep]]] = {}
        # Spaces streamed batches by what they cost the UI thread (engine/pump.py).
        self.pacer = Pacer()
        self.replies_finished = 0  # counts fully handled replies; tests and benches wait on it
        # Token probabilities asked of the backend (branch_keys.py): from the first reply when
        # the config file says so (unset: once a model is on the CPU), else once `a` asks.
        self.alternatives_on = config.token_alternatives is True
        if self.alternatives_on:
            backend.keep_alternatives(ALTERNATIVES)
        # Held, not queried: events that arrive while the app shuts down still find them.
        self.conversation = Conversation(id="conversation")
        self.status = StatusLine(id="status")
        # NVML is skipped when the user asked for the CPU: no GPU gauges to explain then.
        self.hardware = HardwareService(probe, use_nvml=launch.device != "cpu")
        self.gauges = GaugesPane(self.hardware, id="gauges")
        self._gauges_chosen: bool | None = None  # None: follow the terminal width
        # Made on first use (F6): it scans the model caches and imports the catalog, none of
        # which the first frame needs (bench/first_frame.py).
        self._picker: ModelPicker | None = None
        self.replies = Replies(self)
        self.loads = Loads(self)
        self.downloads = Downloads(self)
        self.message_keys = MessageKeys(self)
        self.branch_keys = BranchKeys(self)
        self.dialogs = Dialogs(self)

    # ---- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="chat"):
                yield self.conversation
                yield PromptInput(
                    id="prompt",
                    placeholder="Message the model · Enter send · ctrl+j new line · F1 keys",
                )
            yield self.gauges
        yield self.status
        yield Footer()

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    def on_resize(self) -> None:
        self.fit_panes()

    def fit_panes(self) -> None:
        """Gauges: a side pane on wide terminals; under 100 columns the chat gets the room
        unless the user asked for them (ctrl+g). The model picker takes the gauges' place
        beside the chat from 100 columns, and covers the chat below that."""
        wide = self.size.width >= 100
        picker_shown = self.picker_shown
        overlay = picker_shown and not wide
        self.query_one("#chat").display = not overlay
        if self._picker is not None:
            self._picker.set_class(overlay, "-overlay")
        show = wide if self._gauges_chosen is None else self._gauges_chosen
        self.gauges.display = show and not picker_shown
        self.gauges.set_class(not wide, "-compact")

    @property
    def picker(self) -> ModelPicker:
        """The model picker pane, made and mounted (hidden) on first use."""
        if self._picker is None:
            from tui.models.catalog import merge_model_dirs
            from tui.widgets.model_picker import ModelPicker

            picker = ModelPicker(
                self.hardware,
                model_dirs=merge_model_dirs(self.config.model_dirs, self.launch.model_dirs),
                current=self.model_info.id if self.model_info else None,
                id="picker",
                **self.loads.picker_remote_options(),  # endpoints' served models
            )
            picker.display = False
            self._picker = picker
            self.query_one("#body").mount(picker)
        return self._picker

    @property
    def made_picker(self) -> ModelPicker | None:
        """The model picker if F6 has made it, without making it."""
        return self._picker

    @property
    def picker_shown(self) -> bool:
        return self._picker is not None and self._picker.display

    def show_picker(self, show: bool) -> None:
        if not show and self._picker is None:
            return
        self.picker.display = show
        self.fit_panes()
        # After a refresh: a picker made just now is mounted by then.
        self.call_after_refresh((self.picker if show else self.prompt).focus)

    def action_toggle_models(self) -> None:
        self.show_picker(not self.picker_shown)

    def action_toggle_gauges(self) -> None:
        self._gauges_chosen = not self.gauges.display
        self.fit_panes()

    # ---- the open chat (tui/chat) --------------------------------------------------------

    @property
    def session(self) -> Session:
        return self.chat.session

    @session.setter
    def session(self, session: Session) -> None:
        """Open `session` as the chat: a new Chat, on the model in use."""
        chat = Chat(
            session,
            self.backend,
            self.autosaver.submit,
            lambda: self.load_spec().model,
            config_settings=self.config.generation,
        )
        chat.model_info = self.chat.model_info
        # Token alternatives live as long as the app runs, per chat: back on a chat, its
        # replies' traces are there again (ids are only unique within one session).
        self._traces[self.chat.session.id] = self.chat.traces
        chat.traces = self._traces.pop(session.id, chat.traces)
        while len(self._traces) > KEPT_TRACE_CHATS:
            del self._traces[next(iter(self._traces))]
        self.chat = chat

    @property
    def model_info(self) -> ModelInfo | None:
        return self.chat.model_info

    @model_info.setter
    def model_info(self, info: ModelInfo | None) -> None:
        self.chat.model_info = info

    @property
    def generating(self) -> bool:
        return self.chat.generating

    @property
    def waiting_for_model(self) -> bool:
        """A reply was asked for before the model finished loading."""
        return self.chat.busy and not self.chat.generating

    @property
    def reply_message(self) -> Message | None:
        return self.chat.reply.message if self.chat.reply else None

    @property
    def editing(self) -> Message | None:
        return self.chat.editing

    def new_session(self) -> Session:
        system = self.launch.system
        if system is None:
            system = self.config.system_prompt or ""
        # settings_chosen []: the settings follow the model and config until F5 sets some.
        return Session(
            settings=self.config.generation_settings(), system_prompt=system, settings_chosen=[]
        )

    def load_spec(self) -> LoadSpec:
        return load_spec_for(self.launch, self.config, self.session)

    async def on_mount(self) -> None:
        self.fit_panes()
        # SIGHUP, SIGTERM or a closed terminal: save, then exit, within seconds (lifeline).
        lifeline.attach(self.save_now, self._on_terminate_signal, asyncio.get_running_loop())
        self.prompt.focus()
        if self.launch.resume is not None:
            self._resume(self.launch.resume)
        elif self.launch.system is not None:
            self.session.system_prompt = self.launch.system
        await self.conversation.show(self.session)
        self.set_history()
        self.replies.update_context()
        self.loads.start(self.load_spec())

    def _resume(self, ref: str) -> None:
        """Open the session `ref` names (newest when empty); on failure stay on a new chat."""
        try:
            path = self.store.resolve(ref) if ref else self.store.newest()
            if path is None:
                self.app.notify("No saved sessions yet: starting a new chat.", title="Resume")
                return
            self.session = self.store.load(path)
        except (SessionLoadError, LookupError, ValueError, OSError) as exc:
            self.app.notify(
                f"{exc}\nThe file is left untouched; this is a new chat.",
                title="Could not resume",
                severity="error",
                timeout=15,
            )
            return
        if self.launch.system is not None:
            self.session.system_prompt = self.launch.system
        # A reply saved mid-stream (the app died) keeps stop_reason "streaming": it is shown
        # as interrupted, with the text that reached the disk.

    async def open(self, session: Session, note: str | None = None) -> None:
        """Show `session` as the chat (a new, forked, resumed or picked one)."""
        self.session = session
        await self.conversation.show(session)
        self.set_history()
        if note is not None:
            self.app.notify(note, timeout=4)

    def set_history(self) -> None:
        # query, not the held prompt: an app closing while a chat opens has no prompt any more.
        for prompt in self.query(PromptInput):
            prompt.set_history([m.content for m in self.session.messages if m.role == "user"])

    # ---- what widgets and workers report, each to its part --------------------------------

    async def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        await self.replies.send(event.text)

    def on_reply_started(self, event: ReplyStarted) -> None:
        self.replies.started(event)

    async def on_reply_chunked(self, event: ReplyChunked) -> None:
        await self.replies.chunked(event)

    async def on_reply_finished(self, event: ReplyFinished) -> None:
        await self.replies.end(event.stats, event.error)

    def on_model_load_progressed(self, event: ModelLoadProgressed) -> None:
        self.loads.progressed(event)

    async def on_model_loaded(self, event: ModelLoaded) -> None:
        await self.loads.loaded(event)

    async def on_model_load_failed(self, event: ModelLoadFailed) -> None:
        await self.loads.failed(event)

    def on_model_picker_dismissed(self, _event: ModelPicker.Dismissed) -> None:
        self.show_picker(False)

    def on_model_picker_load_requested(self, event: ModelPicker.LoadRequested) -> None:
        if self.generating:
            self.app.notify(
                "A reply is being written: Esc stops it, then load.", severity="warning"
            )
            return
        self.show_picker(False)
        self.loads.start(event.spec)

    async def on_message_view_action_requested(self, event: MessageView.ActionRequested) -> None:
        event.stop()
        await self.message_keys.requested(event.view, event.action)

    def on_download_planned(self, event: DownloadPlanned) -> None:
        self.downloads.planned(event)

    def on_download_progressed(self, event: DownloadProgressed) -> None:
        self.downloads.progressed(event.progress)

    def on_download_ended(self, event: DownloadEnded) -> None:
        self.downloads.ended(event.spec, event.outcome, event.error, event.hint)

    def current_renamed(self, event: SessionBrowser.CurrentRenamed) -> None:
        self.session.title = event.title
        self.autosaver.submit(self.session)  # not chat.save(): a rename keeps `updated`

    async def current_deleted(self, event: SessionBrowser.CurrentDeleted) -> None:
        self.chat.deleted = True  # no later save may write it again
        self.action_stop()
        self.autosaver.flush(timeout=5)
        self.store.delete(event.path)  # again, in case a queued save landed meanwhile
        # A new chat, not action_new_chat: that would save the old one.
        await self.open(self.new_session(), "That chat was deleted: this is a new one.")
        self.replies.update_context(0)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """Last line of defence: a worker that raised still ends in a message, not a crash."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.app.notify(
                f"{type(event.worker.error).__name__}: {event.worker.error}",
                title="Unexpected error",
                severity="error",
            )

    # ---- saving --------------------------------------------------------------------------

    def on_session_saved(self, event: SessionSaved) -> None:
        self.status.saved = "saved"
        if event.copy_reason:
            if event.copied_from == self.session.id:  # not a chat left behind with ctrl+n
                self.session.id = Path(event.path).stem  # later saves go straight to the copy
            self.app.notify(
                f"{event.copy_reason}\nThis chat now saves to {event.path}.",
                title="Saved as a copy",
                severity="warning",
                timeout=15,
            )

    def on_session_save_failed(self, event: SessionSaveFailed) -> None:
        self.status.saved = "NOT SAVED"
        self.app.notify(
            f"{event.error}\nThe chat goes on in memory; saving resumes when it can.",
            title="Session not saved",
            severity="error",
            timeout=10,
        )

    def save_now(self) -> None:
        """Synchronous save of everything, including a partial reply: quit and signals."""
        self.chat.mark_interrupted()
        self.chat.save(self._save_synchronously)

    def _save_synchronously(self, session: Session) -> None:
        self.autosaver.flush(timeout=5)  # queued saves first: they are older
        self.autosaver.save_now(session)

    def _on_terminate_signal(self) -> None:
        """The lifeline has saved the chat: stop the reply and leave."""
        if self.chat.generating:
            self.chat.stop()
        self.app.exit()

    # ---- the chat's own keys -------------------------------------------------------------

    def action_stop(self) -> None:
        """Esc: stop the reply; else cancel a download; else cancel an edit; else go back to
        the prompt."""
        if self.replies.stop():
            pass
        elif self.downloads.cancel():
            pass
        elif not self.message_keys.cancel_edit():
            self.prompt.focus()

    async def action_new_chat(self) -> None:
        if self.generating:
            self.replies.after_reply = "new_chat"
            self.action_stop()
            return
        self.save_now()
        await self.open(self.new_session())
        self.replies.update_context(0)
        self.status.saved = ""
        self.prompt.focus()
        self.app.notify("New chat started. The previous one is saved.", timeout=3)

    async def leave(self) -> None:
        """Quit: stop the reply (waiting a moment for it), save, and exit the app."""
        if self.generating:
            self.replies.after_reply = "quit"
            self.action_stop()
            # Don't wait on a stuck model: quit anyway after a moment, saving what we have.
            self.set_timer(1.0, self.quit_now)
            return
        self.quit_now()

    def quit_now(self) -> None:
        self.save_now()
        self.autosaver.close()
        self.app.exit()

    def action_regenerate(self) -> None:
        self.message_keys.regenerate_last()

    def action_focus_message(self, step: int) -> None:
        self.message_keys.focus_message(step)

    def action_toggle_thinking(self) -> None:
        self.message_keys.toggle_thinking()

    def action_toggle_all_thinking(self) -> None:
        self.message_keys.toggle_all_thinking()

    def action_help(self) -> None:
        self.dialogs.help()

    def action_edit_system(self) -> None:
        self.dialogs.edit_system()

    def action_settings(self) -> None:
        self.dialogs.settings()

    def action_browse_sessions(self) -> None:
        self.dialogs.browse_sessions()

    def action_inspect_prompt(self) -> None:
        self.dialogs.inspect_prompt()

    def action_copy_reply(self) -> None:
        self.dialogs.copy_reply()

    def action_copy_code(self) -> None:
        self.dialogs.copy_code()

    def active_keys(self) -> dict[str, str]:
        """Binding id -> the key in force now (the user's keymap may have changed it)."""
        bindings = [*self.BINDINGS, *self.app.BINDINGS]
        keys = {b.id: b.key for b in bindings if isinstance(b, Binding) and b.id}
        keys.update(self.config.keymap)
        return {k: v for k, v in keys.items() if k}

    def on_unmount(self) -> None:
        self.downloads.cancel_on_exit()
        self.hardware.close()
