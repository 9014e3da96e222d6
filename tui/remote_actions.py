"""The app's side of served models: switching engines, what the status line and gauges say.

A mixin for the App, so app.py stays about the chat flow. A model on this machine is loaded by
a local backend, a served one by the remote backend (tui/engine/remote); when the user switches
between them (the model picker, a resumed chat, --endpoint) the load runs on a new backend made
for the spec (`backend_for`), and the chat moves to it only once it is ready (`use_backend`), so
a failed switch leaves the chat on the model it had. For a served model the status line names
the server, the chat gets one notice of what the server does with tchat's settings, the gauges
read the server's /metrics and label this machine's figures as this machine's, and the model
picker lists every endpoint's served models beside the local ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui import endpoints
from tui.chat_host import ChatHost
from tui.engine.backend import Backend, LoadSpec, ModelInfo
from tui.engine.registry import make_backend, name_for

if TYPE_CHECKING:
    from tui.engine.endpoint import Endpoint
    from tui.widgets.gauges import GaugesPane


class RemoteActions(ChatHost):
    """Backend switching and the served model's extras (implemented on `TchatApp`)."""

    gauges: GaugesPane
    loaded_spec: LoadSpec | None

    def backend_for(self, spec: LoadSpec) -> Backend:
        """The backend in use when it loads `spec`, else a new one of the right kind (called
        from the load worker: making one imports nothing heavy)."""
        if self.backend.can_load(spec):
            return self.backend
        return make_backend(name_for(spec, self.launch.backend), self.launch.fast)

    def use_backend(self, backend: Backend | None) -> None:
        """After a load on `backend`: the chat moves to it, the old one lets go of its model."""
        if backend is None or backend is self.backend:
            return
        old, self.backend = self.backend, backend
        self.chat.backend = backend  # (the chat hands it its settings with every reply)
        try:
            old.unload()
        except Exception:  # noqa: BLE001 - freeing memory on the way out of a model
            pass

    def served_detail(self, info: ModelInfo) -> str | None:
        """The status line's detail for a served model ("vLLM 0.32.0 at gpu-box:8000")."""
        return info.server if info.backend == "remote" else None

    def show_server(self, info: ModelInfo) -> None:
        """The gauges read a served model's server, or this machine's hardware alone."""
        if info.backend == "remote" and not self.backend.capabilities.local_hardware:
            self.gauges.set_server(self.backend.server_metrics, info.server or "")
        else:
            self.gauges.set_server(None)

    def _current_endpoint(self) -> Endpoint | None:
        spec = self.loaded_spec
        return spec.endpoint if spec is not None else None

    def picker_remote_options(self) -> dict[str, Any]:
        """ModelPicker arguments that add the endpoints' served models to its list."""
        from tui.widgets.endpoint_models import RemoteModels

        remote = RemoteModels(
            lambda: endpoints.for_picker(self.launch, self.config, self._current_endpoint())
        )
        return {"lister": remote.lister, "remote_spec": remote.spec_for}
