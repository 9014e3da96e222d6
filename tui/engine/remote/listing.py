"""What an endpoint serves, for the model picker: `GET /v1/models` (and llama-server's `/props`
for its context length), quickly, never raising. Blocking: the picker calls it from its scan
worker, one endpoint after another, each bounded by the connection timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.engine.backend import EngineError
from tui.engine.endpoint import Endpoint, check_key_transport, read_key
from tui.engine.remote import errors
from tui.engine.remote.servers import context_length, recognise

LIST_TIMEOUT_S = 3.0  # a picker waits this long at most for a server that does not answer


@dataclass(frozen=True)
class ServedModel:
    """One model an endpoint serves."""

    id: str  # the name to send as `model`
    name: str  # for people (a local path's last folder)
    endpoint: Endpoint
    server: str  # "vLLM", "transformers serve"
    context_length: int | None = None


def served_models(endpoint: Endpoint) -> tuple[list[ServedModel], str | None]:
    """(the models `endpoint` serves, None) or ([], why they could not be listed)."""
    from tui.engine.remote.backend import display_name
    from tui.engine.remote.client import Connection

    if endpoint.problem:
        return [], endpoint.problem
    quick = endpoint.with_options(connect_timeout_s=min(endpoint.connect_timeout_s, LIST_TIMEOUT_S))
    try:
        key = read_key(quick)
        check_key_transport(quick, key)
    except EngineError as exc:
        return [], exc.message
    conn = None
    try:
        conn = Connection(quick, key)
        models = conn.models()
        props = None
        if any(str(m.get("owned_by", "")).lower() == "llamacpp" for m in models):
            props = conn.page_json("/props")
        server = recognise(models, None, props)
    except Exception as exc:  # noqa: BLE001 - a picker line, not a crash
        return [], errors.describe(exc, errors.Context(quick, key)).message
    finally:
        if conn is not None:
            conn.close()
    found = [
        ServedModel(
            id=str(m["id"]),
            name=display_name(str(m["id"])),
            endpoint=endpoint,
            server=server.label,
            context_length=context_length(m, props),
        )
        for m in models
    ]
    return found, None
