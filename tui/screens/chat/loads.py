"""Models and engines: loading one, swapping a draft, moving the chat to a served model.

A load runs on a thread worker while the model in use keeps answering; the chat moves to the
new model only once it is ready, and stays where it was if the load fails. A model on this
machine is loaded by a local backend, a served one by the remote backend (tui/engine/remote):
switching between them (the model picker, a resumed chat, --endpoint) loads on a new backend
made for the spec (`backend_for`), and the chat moves to it with the model (`use_backend`).
For a served model the status line names the server, the chat gets one notice of what the
server does with tchat's settings, the gauges read the server's /metrics and label this
machine's figures as this machine's, and the model picker lists every endpoint's models.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from tui import endpoints
from tui.engine.backend import Backend, EngineError, LoadSpec
from tui.engine.registry import make_backend, name_for
from tui.screens.chat.events import ModelLoaded, ModelLoadFailed, ModelLoadProgressed
from tui.screens.chat.part import Part
from tui.store.session import ReplyStats

if TYPE_CHECKING:
    from tui.engine.endpoint import Endpoint


class Loads(Part):
    """Loads models for the chat and keeps the status line and gauges about them."""

    loaded_spec: LoadSpec | None = None  # what the model in use was loaded with
    _requested_spec: LoadSpec | None = None  # a load in flight

    def start(self, spec: LoadSpec) -> None:
        """Load `spec`; a change of draft alone keeps the model and swaps only the draft.
        A hub model not in the cache is downloaded first, once the user confirms."""
        if spec.endpoint is None and self.screen.downloads.download_first(spec):
            return  # downloads.py starts this load again when the download is done
        self._requested_spec = spec
        loaded = self.loaded_spec
        same_model = loaded is not None and replace(spec, draft=None) == replace(loaded, draft=None)
        if same_model and self.backend.capabilities.drafts:
            self._run(self._change_draft, spec)
        else:
            self.load(spec)

    def load(self, spec: LoadSpec) -> None:
        """Load `spec` whatever is loaded now (a resumed chat's own model)."""
        self._run(self._load, spec)

    def _run(self, work: Any, spec: LoadSpec) -> None:
        self.screen.run_worker(
            partial(work, spec), thread=True, exclusive=True, group="load", exit_on_error=False
        )

    def _progress(self, text: str, fraction: float | None) -> None:
        self.screen.post_message(ModelLoadProgressed(text, fraction))

    def _load(self, spec: LoadSpec) -> None:
        post = self.screen.post_message
        post(ModelLoadProgressed(f"Loading {spec.model or 'default model'}…"))
        try:
            backend = self.backend_for(spec)  # a served model: the remote engine (and back)
            info = backend.load(spec, self._progress)
        except EngineError as exc:
            post(ModelLoadFailed(exc.message, exc.hint))
            return
        except Exception as exc:  # noqa: BLE001 - any load failure becomes a message
            post(ModelLoadFailed(f"{type(exc).__name__}: {exc}"))
            return
        post(ModelLoaded(info, backend))

    def _change_draft(self, spec: LoadSpec) -> None:
        try:
            info = self.backend.set_draft(
                spec.draft,
                self._progress,
                trust_remote_code=spec.trust_remote_code,
                attn_implementation=spec.attn_implementation,
            )
        except EngineError as exc:
            self.screen.post_message(ModelLoadFailed(exc.message, exc.hint))
            return
        self.screen.post_message(ModelLoaded(info))

    def progressed(self, event: ModelLoadProgressed) -> None:
        screen = self.screen
        screen.gauges.set_generating(True)  # watch memory fill up while the model loads
        pct = f" {event.fraction:.0%}" if event.fraction is not None else ""
        screen.status.activity = f"{event.text}{pct}"
        if screen.reply_view is not None and screen.waiting_for_model:
            screen.reply_view.refresh_meta(f"waiting for the model: {event.text}")

    async def loaded(self, event: ModelLoaded) -> None:
        screen = self.screen
        previous = screen.model_info
        self.use_backend(event.backend)  # the chat moves to the engine that loaded it
        info = screen.model_info = event.info
        screen.branch_keys.apply_alternatives(info)  # on this engine too, if they are on
        self.loaded_spec, self._requested_spec = self._requested_spec, None
        if screen.made_picker is not None:
            screen.made_picker.mark_loaded(info.id)
        screen.status.model = info.name
        quant = f" · {info.quantization}" if info.quantization else ""
        draft = f" · draft {info.draft}" if info.draft else ""
        served = info.server if info.backend == "remote" else None  # "vLLM 0.32.0 at gpu-box"
        screen.status.detail = served or f"{info.device} · {info.dtype}{quant}{draft}"
        new_model = previous is None or previous.id != info.id
        if previous is not None and new_model:
            self.app.notify(f"Now chatting with {info.name}.", timeout=4)
        if info.draft_note:
            await self.conversation.notice(info.draft_note, kind="warning")
        screen.status.activity = f"ready (loaded in {info.load_s:.1f} s)"
        screen.gauges.set_generating(False)
        screen.gauges.set_model(info)
        screen.gauges.status_source = self.backend.engine_status  # compile progress, threads
        # The gauges read a served model's server, or this machine's hardware alone.
        if info.backend == "remote" and not self.backend.capabilities.local_hardware:
            screen.gauges.set_server(self.backend.server_metrics, info.server or "")
        else:
            screen.gauges.set_server(None)
        if info.server_note and new_model:
            await self.conversation.notice(info.server_note, kind="info")
        if info.template_note and new_model:
            await self.conversation.notice(info.template_note, kind="warning")
        if info.quantization_note:
            await self.conversation.notice(info.quantization_note, kind="warning")
        screen.replies.count_context()
        if screen.waiting_for_model:
            screen.replies.generate_pending()

    async def failed(self, event: ModelLoadFailed) -> None:
        screen = self.screen
        self._requested_spec = None
        still = screen.model_info
        screen.status.activity = f"still using {still.name}" if still else "no model loaded"
        screen.gauges.set_generating(False)
        text = f"{event.error}\n{event.hint}".strip()
        self.app.notify(text, title="Model not loaded", severity="error", timeout=20)
        await self.conversation.notice(text, kind="error")
        if screen.waiting_for_model:
            await screen.replies.end(ReplyStats(stop_reason="error"), "No model is loaded.")

    # ---- engines -----------------------------------------------------------------------

    def backend_for(self, spec: LoadSpec) -> Backend:
        """The backend in use when it loads `spec`, else a new one of the right kind (called
        from the load worker: making one imports nothing heavy)."""
        if self.backend.can_load(spec):
            return self.backend
        launch = self.screen.launch
        return make_backend(name_for(spec, launch.backend), launch.fast)

    def use_backend(self, backend: Backend | None) -> None:
        """After a load on `backend`: the chat moves to it, the old one lets go of its model."""
        screen = self.screen
        if backend is None or backend is screen.backend:
            return
        old, screen.backend = screen.backend, backend
        self.chat.backend = backend  # (the chat hands it its settings with every reply)
        try:
            old.unload()
        except Exception:  # noqa: BLE001 - freeing memory on the way out of a model
            pass

    def _current_endpoint(self) -> Endpoint | None:
        spec = self.loaded_spec
        return spec.endpoint if spec is not None else None

    def picker_remote_options(self) -> dict[str, Any]:
        """ModelPicker arguments that add the endpoints' served models to its list."""
        from tui.widgets.endpoint_models import RemoteModels

        screen = self.screen
        remote = RemoteModels(
            lambda: endpoints.for_picker(screen.launch, screen.config, self._current_endpoint())
        )
        return {"lister": remote.lister, "remote_spec": remote.spec_for}
