"""The tchat App: composes the panes, owns the key bindings, routes messages.

Thin on purpose: the engine (models, generation) and the store (sessions) do the work in
thread workers and report back with messages (`tui.messages`); widgets render what they are
told. Data flows one way: keys -> widget -> message -> app -> worker -> message -> widget.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from tui import themes
from tui.branch_keys import ALTERNATIVES
from tui.chat import (
    THINKING_BUDGET_NOTE,
    Chat,
    ChatRefused,
    ReplyInFlight,
    ran_out_while_thinking,
)
from tui.chat.context import dropped_note
from tui.config import Config, ConfigError, load_config
from tui.download_actions import DownloadActions
from tui.engine.backend import Backend, EngineError, LoadSpec, ModelInfo
from tui.engine.pump import Pacer, pump
from tui.engine.registry import make_backend
from tui.hardware import HardwareProbe, HardwareService
from tui.launch import LaunchConfig, load_spec_for, sessions_dir_for
from tui.lifeline import lifeline
from tui.message_actions import MessageActions
from tui.messages import (
    ModelLoaded,
    ModelLoadFailed,
    ModelLoadProgressed,
    ReplyChunked,
    ReplyFinished,
    ReplyStarted,
    SessionSaved,
    SessionSaveFailed,
)
from tui.remote_actions import RemoteActions
from tui.safe_driver import guard as guard_driver
from tui.screen_actions import ScreenActions
from tui.store import SessionLoadError, SessionStore
from tui.store.autosave import Autosaver
from tui.store.session import Message, ReplyStats, Session
from tui.text import visible
from tui.thinking_actions import ThinkingActions
from tui.widgets.conversation import Conversation
from tui.widgets.gauges import GaugesPane
from tui.widgets.message import MessageView
from tui.widgets.prompt import PromptInput
from tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from tui.widgets.model_picker import ModelPicker

# While a reply streams, the partial text is saved this often: a crash or a dropped SSH
# connection loses at most this much of a reply, and never what the user typed.
STREAM_SAVE_INTERVAL_S = 3.0


class TchatApp(DownloadActions, MessageActions, RemoteActions, ScreenActions, ThinkingActions):
    """Chat with a local model; every session saved as it goes."""

    CSS_PATH = "app.tcss"
    TITLE = "tchat"

    BINDINGS = [
        Binding("escape", "stop", "Stop reply", id="stop"),
        Binding("ctrl+n", "new_chat", "New chat", id="new_chat"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="regenerate", show=False),
        Binding("f1", "help", "Help", id="help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f2", "edit_system", "System prompt", id="edit_system", show=False),
        Binding("f3", "change_theme", "Theme", id="change_theme", show=False),
        Binding("f4", "browse_sessions", "Sessions", id="browse_sessions"),
        Binding("f5", "settings", "Settings", id="settings", show=False),
        Binding("f8", "inspect_prompt", "Inspect prompt", id="inspect_prompt", show=False),
        # The prompt (a TextArea) binds F7 to select-all: priority makes it reach the app.
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
        # The prompt (a TextArea) binds F6 itself: priority makes it reach the app.
        Binding("f6", "toggle_models", "Models", id="toggle_models", priority=True),
        Binding("ctrl+g", "toggle_gauges", "Gauges", id="toggle_gauges", show=False),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
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
        self.backend = backend or make_backend(self.launch.backend, self.launch.fast)
        self.store = SessionStore(
            sessions_dir_for(self.launch, config), fmt=self.launch.format or config.format or "toml"
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
            self._new_session(),
            self.backend,
            self.autosaver.submit,
            config_settings=self.config.generation,
        )
        self.reply_view: MessageView | None = None  # the reply in flight's view
        self._last_stream_save = 0.0
        # Spaces streamed batches by what they cost this UI thread (engine/pump.py).
        self.pacer = Pacer()
        self._batch_cpu: float | None = None  # UI-thread CPU clock at the latest batch
        self._after_reply: str | None = None  # "new_chat" / "quit" once the reply stops
        self.replies_finished = 0  # counts fully handled replies; tests and benches wait on it
        # Token probabilities asked of the backend (branch_keys.py): from the first reply when
        # the config file says so (unset: once a model is on the CPU), else once `a` asks.
        self.alternatives_on = self.config.token_alternatives is True
        if self.alternatives_on:
            self.backend.keep_alternatives(ALTERNATIVES)
        # Held, not queried: messages that arrive while the app shuts down still find them.
        self.conversation = Conversation(id="conversation")
        self.status = StatusLine(id="status")
        # NVML is skipped when the user asked for the CPU: no GPU gauges to explain then.
        self.hardware = HardwareService(probe, use_nvml=self.launch.device != "cpu")
        self.gauges = GaugesPane(self.hardware, id="gauges")
        self._gauges_chosen: bool | None = None  # None: follow the terminal width
        # Made on first use (F6): it scans the model caches and imports the catalog, none of
        # which the first frame needs (bench/first_frame.py).
        self._picker: ModelPicker | None = None
        self.loaded_spec: LoadSpec | None = None  # what the model in use was loaded with
        self._requested_spec: LoadSpec | None = None  # a load in flight

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
            lambda: self._load_spec().model,
            config_settings=self.config.generation,
        )
        chat.model_info = self.chat.model_info
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

    def on_resize(self) -> None:
        self._fit_panes()

    def _fit_panes(self) -> None:
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
                **self.picker_remote_options(),  # endpoints' served models (remote_actions)
            )
            picker.display = False
            self._picker = picker
            self.query_one("#body").mount(picker)
        return self._picker

    @property
    def picker_shown(self) -> bool:
        return self._picker is not None and self._picker.display

    def action_toggle_models(self) -> None:
        self._show_picker(not self.picker_shown)

    def _show_picker(self, show: bool) -> None:
        if not show and self._picker is None:
            return
        self.picker.display = show
        self._fit_panes()
        # After a refresh: a picker made just now is mounted by then.
        self.call_after_refresh((self.picker if show else self.query_one(PromptInput)).focus)

    def on_model_picker_dismissed(self, _event: ModelPicker.Dismissed) -> None:
        self._show_picker(False)

    def on_model_picker_load_requested(self, event: ModelPicker.LoadRequested) -> None:
        if self.generating:
            self.notify("A reply is being written: Esc stops it, then load.", severity="warning")
            return
        self._show_picker(False)
        self._start_load(event.spec)

    def _start_load(self, spec: LoadSpec) -> None:
        """Load `spec`; a change of draft alone keeps the model and swaps only the draft.
        The model in use keeps answering until the new one is ready, and stays if it fails.
        A hub model not in the cache is downloaded first, once the user confirms."""
        if spec.endpoint is None and self.download_first(spec):
            return  # download_actions.py starts this load again when the download is done
        self._requested_spec = spec
        loaded = self.loaded_spec
        same_model = loaded is not None and replace(spec, draft=None) == replace(loaded, draft=None)
        if same_model and self.backend.capabilities.drafts:
            self.change_draft(spec)
        else:
            self.load_model(spec)

    def action_toggle_gauges(self) -> None:
        self._gauges_chosen = not self.gauges.display
        self._fit_panes()

    async def on_mount(self) -> None:
        self._fit_panes()
        self._install_signal_handlers()
        if self.config.keymap:
            self.set_keymap(self.config.keymap)  # binding ids -> keys, from config.toml
        self.query_one(PromptInput).focus()
        if self.config_problem:
            self.notify(self.config_problem, title="Config file ignored", severity="error")
        for error in self.theme_set.errors:
            self.notify(error, title="Theme file ignored", severity="warning", timeout=10)
        if self.theme_note:
            self.notify(self.theme_note, title="Theme")
        themes.persist_theme_changes(
            self, save=lambda name: themes.save_theme_choice(name, self.launch.config_path)
        )
        if self.launch.resume is not None:
            self._resume(self.launch.resume)
        elif self.launch.system is not None:
            self.session.system_prompt = self.launch.system
        await self.conversation.show(self.session)
        self._set_history()
        self._update_context()
        self._start_load(self._load_spec())

    def _new_session(self) -> Session:
        system = self.launch.system
        if system is None:
            system = self.config.system_prompt or ""
        # settings_chosen []: the settings follow the model and config until F5 sets some.
        return Session(
            settings=self.config.generation_settings(), system_prompt=system, settings_chosen=[]
        )

    def _resume(self, ref: str) -> None:
        """Open the session `ref` names (newest when empty); on failure stay on a new chat."""
        try:
            path = self.store.resolve(ref) if ref else self.store.newest()
            if path is None:
                self.notify("No saved sessions yet: starting a new chat.", title="Resume")
                return
            self.session = self.store.load(path)
        except (SessionLoadError, LookupError, ValueError, OSError) as exc:
            self.notify(
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

    def _load_spec(self) -> LoadSpec:
        return load_spec_for(self.launch, self.config, self.session)

    # ---- model loading -------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_model(self, spec: LoadSpec) -> None:
        self.post_message(ModelLoadProgressed(f"Loading {spec.model or 'default model'}…"))
        try:
            backend = self.backend_for(spec)  # a served model: the remote engine (and back)
            info = backend.load(
                spec, lambda text, frac: self.post_message(ModelLoadProgressed(text, frac))
            )
        except EngineError as exc:
            self.post_message(ModelLoadFailed(exc.message, exc.hint))
            return
        except Exception as exc:  # noqa: BLE001 - any load failure becomes a message
            self.post_message(ModelLoadFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ModelLoaded(info, backend))

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def change_draft(self, spec: LoadSpec) -> None:
        try:
            info = self.backend.set_draft(
                spec.draft,
                lambda text, frac: self.post_message(ModelLoadProgressed(text, frac)),
                trust_remote_code=spec.trust_remote_code,
                attn_implementation=spec.attn_implementation,
            )
        except EngineError as exc:
            self.post_message(ModelLoadFailed(exc.message, exc.hint))
            return
        self.post_message(ModelLoaded(info))

    def on_model_load_progressed(self, event: ModelLoadProgressed) -> None:
        self.gauges.set_generating(True)  # watch memory fill up while the model loads
        pct = f" {event.fraction:.0%}" if event.fraction is not None else ""
        self.status.activity = f"{event.text}{pct}"
        if self.reply_view is not None and self.waiting_for_model:
            self.reply_view.refresh_meta(f"waiting for the model: {event.text}")

    async def on_model_loaded(self, event: ModelLoaded) -> None:
        previous = self.model_info
        self.use_backend(event.backend)  # the chat moves to the engine that loaded it
        info = self.model_info = event.info
        self.apply_alternatives(info)  # on this engine too, if they are on
        self.loaded_spec, self._requested_spec = self._requested_spec, None
        if self._picker is not None:
            self._picker.mark_loaded(info.id)
        self.status.model = info.name
        quant = f" · {info.quantization}" if info.quantization else ""
        draft = f" · draft {info.draft}" if info.draft else ""
        self.status.detail = (
            self.served_detail(info) or f"{info.device} · {info.dtype}{quant}{draft}"
        )
        new_model = previous is None or previous.id != info.id
        if previous is not None and new_model:
            self.notify(f"Now chatting with {info.name}.", timeout=4, markup=False)
        if info.draft_note:
            await self.conversation.notice(info.draft_note, kind="warning")
        self.status.activity = f"ready (loaded in {info.load_s:.1f} s)"
        self.gauges.set_generating(False)
        self.gauges.set_model(info)
        self.gauges.status_source = self.backend.engine_status  # compile progress, threads
        self.show_server(info)
        if info.server_note and new_model:
            await self.conversation.notice(info.server_note, kind="info")
        if info.template_note and new_model:
            await self.conversation.notice(info.template_note, kind="warning")
        if info.quantization_note:
            await self.conversation.notice(info.quantization_note, kind="warning")
        self.count_context()
        if self.waiting_for_model:
            self._generate_pending()

    async def on_model_load_failed(self, event: ModelLoadFailed) -> None:
        self._requested_spec = None
        still = self.model_info
        self.status.activity = f"still using {still.name}" if still else "no model loaded"
        self.gauges.set_generating(False)
        text = f"{event.error}\n{event.hint}".strip()
        self.notify(text, title="Model not loaded", severity="error", timeout=20)
        await self.conversation.notice(text, kind="error")
        if self.waiting_for_model:
            await self._end_reply(ReplyStats(stop_reason="error"), "No model is loaded.")

    # ---- sending and streaming -----------------------------------------------------------

    async def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        prompt = self.query_one(PromptInput)
        try:
            user, rewound = self.chat.send(event.text)
        except ChatRefused as refused:
            prompt.text = event.text  # give the draft back, unsent
            self.notify(str(refused), severity="warning")
            return
        prompt.border_title = None  # an edit, if there was one, is sent
        if rewound:
            await self.conversation.show(self.session)
        else:
            await self.conversation.add(user)
        await self._show_reply(self.chat.start_reply())

    async def _show_reply(self, reply: ReplyInFlight, carried: MessageView | None = None) -> None:
        """Show a reply the chat has just asked for (in `carried`, the view of the reply it
        continues), and start it unless the model is still loading."""
        if carried is None:
            self.reply_view = await self.conversation.add(reply.message)
        else:
            self.reply_view = carried
            await carried.restart_stream()
        if self.model_info is None:
            self.reply_view.refresh_meta("waiting for the model to load…")
            return
        self._generate_pending()

    def _generate_pending(self) -> None:
        assert self.reply_view is not None
        reply = self.chat.launch()
        self._last_stream_save = time.monotonic()
        self.reply_view.refresh_meta("thinking…")
        self.status.activity = "generating…"
        # A blinking cursor is a frame every half second: while a reply streams, frames are
        # UI-thread time taken from generate (they share the GIL), and the text moves anyway.
        self.query_one(PromptInput).cursor_blink = False
        self.generate(reply)

    @work(thread=True, group="reply", exit_on_error=False)
    def generate(self, reply: ReplyInFlight) -> None:
        try:
            stream, dropped = self.chat.open_stream(reply)
            if dropped:
                self.call_from_thread(self.notify, dropped_note(dropped), markup=False)
        except EngineError as exc:
            self.post_message(ReplyFinished(ReplyStats(stop_reason="error"), str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - shown in the conversation, app goes on
            self.post_message(
                ReplyFinished(ReplyStats(stop_reason="error"), f"{type(exc).__name__}: {exc}")
            )
            return
        self.post_message(ReplyStarted(stream.stats.prompt_tokens))
        try:
            pump(
                stream,
                lambda text, n, elapsed, ttft: self.post_message(
                    ReplyChunked(text, n, elapsed, ttft, stream.stats.thinking_tokens or 0)
                ),
                self.pacer,
            )
        except Exception as exc:  # noqa: BLE001
            stream.stats.stop_reason = "error"
            stream.error = f"{type(exc).__name__}: {exc}"
        self.post_message(ReplyFinished(stream.stats, stream.error))

    def on_reply_started(self, event: ReplyStarted) -> None:
        self.gauges.reply_started(event.prompt_tokens, self.backend.speed_path())
        self._update_context(event.prompt_tokens)
        self._batch_cpu = None  # the wait for the first token is not a batch's cost

    async def on_reply_chunked(self, event: ReplyChunked) -> None:
        if self.chat.reply is None or self.reply_view is None:
            return
        # Everything this thread did since the previous batch is what that batch cost.
        cpu = time.thread_time()
        if self._batch_cpu is not None:
            self.pacer.note(cpu - self._batch_cpu)
        self._batch_cpu = cpu
        self.chat.add_text(event.text)
        await self.reply_view.append(event.text)
        decoding = event.elapsed_s - (event.ttft_s or 0.0)
        speed = (event.new_tokens - 1) / decoding if event.new_tokens > 1 and decoding > 0 else 0
        # The live speed goes under the reply and in the gauges, not also in the status line:
        # a full-width line changing on every batch made every frame repaint the whole screen.
        self.reply_view.show_progress(
            event.new_tokens, speed, event.thinking_tokens, event.elapsed_s
        )
        self.gauges.reply_progress(
            event.new_tokens, event.elapsed_s, event.ttft_s, event.thinking_tokens
        )
        if time.monotonic() - self._last_stream_save >= STREAM_SAVE_INTERVAL_S:
            self._last_stream_save = time.monotonic()
            self.chat.save()

    async def on_reply_finished(self, event: ReplyFinished) -> None:
        await self._end_reply(event.stats, event.error)

    async def _end_reply(self, stats: ReplyStats, error: str | None) -> None:
        view, self.reply_view = self.reply_view, None
        message = self.chat.finish(stats, error)  # recorded and saved
        if message is None or view is None:
            return
        self.query_one(PromptInput).cursor_blink = True
        self.gauges.reply_finished(stats)
        await view.finish()
        if stats.decode_tps:
            self.status.activity = f"{stats.decode_tps:.1f} tok/s"
        elif error:
            self.status.activity = "reply failed"
        else:
            self.status.activity = "ready"
        if error:
            self.notify(error, title="Generation stopped", severity="error")
        elif ran_out_while_thinking(message):
            self.notify(THINKING_BUDGET_NOTE, title="No answer yet", severity="warning", timeout=8)
        self._update_context(stats.prompt_tokens + stats.new_tokens)
        self.replies_finished += 1
        after, self._after_reply = self._after_reply, None
        if after == "new_chat":
            await self.action_new_chat()
        elif after == "quit":
            await self.action_quit()

    @work(thread=True, exclusive=True, group="context", exit_on_error=False)
    def count_context(self) -> None:
        """Exact prompt size of the chat so far (a resumed chat can be long): off the UI."""
        messages = self.chat.prompt_messages()
        if not messages or self.model_info is None:
            return
        used = self.backend.count_tokens(messages)
        self.call_from_thread(self._update_context, used)

    def _update_context(self, used: int | None = None) -> None:
        if used is None:
            used = sum(len(m.content) for m in self.session.messages) // 4  # rough, pre-load
            approx = "~"
        else:  # an engine that can only estimate (a server without /tokenize) says so
            approx = "" if self.backend.capabilities.exact_token_counts else "~"
        limit = self.model_info.context_length if self.model_info else None
        self.gauges.set_context(used, limit)
        self.status.context = f"ctx {approx}{used}/{limit}" if limit else f"ctx {approx}{used}"

    # ---- saving --------------------------------------------------------------------------

    def on_session_saved(self, event: SessionSaved) -> None:
        self.status.saved = "saved"
        if event.copy_reason:
            if event.copied_from == self.session.id:  # not a chat left behind with ctrl+n
                self.session.id = Path(event.path).stem  # later saves go straight to the copy
            self.notify(
                f"{event.copy_reason}\nThis chat now saves to {event.path}.",
                title="Saved as a copy",
                severity="warning",
                timeout=15,
            )

    def on_session_save_failed(self, event: SessionSaveFailed) -> None:
        self.status.saved = "NOT SAVED"
        self.notify(
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

    def _install_signal_handlers(self) -> None:
        """SIGHUP, SIGTERM or a closed terminal: save, then exit, within seconds (lifeline)."""
        lifeline.attach(self.save_now, self._on_terminate_signal, asyncio.get_running_loop())

    def _on_terminate_signal(self) -> None:
        """The lifeline has saved the chat: stop the reply and leave."""
        if self.chat.generating:
            self.chat.stop()
        self.exit()

    # ---- actions -------------------------------------------------------------------------

    def action_stop(self) -> None:
        """Esc: stop the reply; else cancel a download; else cancel an edit; else go back to
        the prompt."""
        outcome = self.chat.stop()
        if outcome == "stopping":
            self.status.activity = "stopping…"
        elif outcome == "dropped":  # it was waiting for the model: it ends here, unwritten
            self.call_later(self._end_reply, ReplyStats(stop_reason="cancelled"), None)
        elif self.cancel_download():
            pass
        elif not self.cancel_edit():
            self.query_one(PromptInput).focus()

    async def action_new_chat(self) -> None:
        if self.generating:
            self._after_reply = "new_chat"
            self.action_stop()
            return
        self.save_now()
        self.session = self._new_session()
        await self.conversation.show(self.session)
        self._set_history()
        self._update_context(0)
        self.status.saved = ""
        self.query_one(PromptInput).focus()
        self.notify("New chat started. The previous one is saved.", timeout=3)

    async def action_quit(self) -> None:
        if self.generating:
            self._after_reply = "quit"
            self.action_stop()
            # Don't wait on a stuck model: quit anyway after a moment, saving what we have.
            self.set_timer(1.0, self._force_quit)
            return
        self._force_quit()

    def _force_quit(self) -> None:
        self.save_now()
        self.autosaver.close()
        self.exit()

    def on_unmount(self) -> None:
        self.hardware.close()

    def get_system_commands(self, screen):  # noqa: ANN001, ANN201 - Textual's signature
        """Every app action in the command palette (ctrl+p), with its key as the help line."""
        yield from super().get_system_commands(screen)
        keys = self._active_keys()
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or binding.action in ("quit", "change_theme"):
                continue  # Textual's own palette already offers these two
            key = keys.get(binding.id or "", binding.key)
            yield SystemCommand(
                binding.description,
                f"Key: {key}",
                partial(self.run_action, binding.action),
            )

    def _active_keys(self) -> dict[str, str]:
        """Binding id -> the key in force now (the user's keymap may have changed it)."""
        keys = {b.id: b.key for b in self.BINDINGS if isinstance(b, Binding) and b.id}
        keys.update(self.config.keymap)
        return {k: v for k, v in keys.items() if k}

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """Last line of defence: a worker that raised still ends in a message, not a crash."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(
                f"{type(event.worker.error).__name__}: {event.worker.error}",
                title="Unexpected error",
                severity="error",
            )
