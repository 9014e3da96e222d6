"""The remote backend: a model served by vLLM, SGLang, llama-server or `transformers serve`.

It speaks the OpenAI chat-completions API (client.py), reads the stream as these servers send it
(stream.py), knows what each one takes and offers (servers.py), and turns every failure into one
sentence (errors.py). It never imports torch: nothing of the model runs here.

Loading is connecting: list the served models, recognise the server, pick the model (the one
named, else the only or first), learn its context length (from the server, else from the
model's config where this machine has the same model) and whether the server counts tokens.
The connection in use is replaced only once the new one works, so a failed switch leaves the
chat where it was.

Stopping: every reply runs under a watchdog thread that closes the reply's own HTTP client when
Esc is pressed (the server sees the connection drop and stops generating), when no first token
comes within `first_token_timeout_s`, or when the stream stalls for `read_timeout_s`. Whatever
arrived is kept by the chat core; nothing is ever re-sent automatically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from tui.engine.backend import (
    Backend,
    Capabilities,
    EngineError,
    LoadSpec,
    ModelInfo,
    ProgressFn,
    Reply,
)
from tui.engine.endpoint import Endpoint, check_key_transport, read_key
from tui.engine.remote import errors
from tui.engine.remote.servers import Server, context_length, first_model, recognise
from tui.engine.remote.stream import ChunkReader
from tui.engine.remote.tokens import NOTE as ESTIMATE_NOTE
from tui.engine.remote.tokens import Estimator
from tui.hardware.server_metrics import ServerMetrics, parse, unavailable
from tui.store.session import GenerationSettings, ReplyStats

WATCH_INTERVAL_S = 0.05  # how often the watchdog looks at the cancel event and the clock


class Watchdog:
    """Closes a reply's HTTP client on Esc (`cancel`), or when the server goes quiet: no first
    token within `first_s`, or nothing for `read_s` after that. `tripped` says which."""

    def __init__(self, cancel: threading.Event, first_s: float, read_s: float, close: Any) -> None:
        self.cancel = cancel
        self.first_s = first_s
        self.read_s = read_s
        self._close = close
        self._done = threading.Event()
        self.last = time.perf_counter()
        self.got_first = False
        self.tripped: str | None = None  # "cancel" | "first" | "read"
        self._thread = threading.Thread(target=self._run, name="tchat-remote-watchdog", daemon=True)
        self._thread.start()

    def alive(self, got_text: bool) -> None:
        self.last = time.perf_counter()
        self.got_first = self.got_first or got_text

    def _run(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):
            if self.cancel.is_set():
                self._trip("cancel")
                return
            limit = self.read_s if self.got_first else self.first_s
            if time.perf_counter() - self.last > limit:
                self._trip("read" if self.got_first else "first")
                return

    def _trip(self, why: str) -> None:
        self.tripped = why
        try:
            self._close()
        except Exception:  # noqa: BLE001 - closing a client another thread reads from
            pass

    def stop(self) -> None:
        self._done.set()


def display_name(model_id: str) -> str:
    """A served model's name for people: a local path's last folder, else the id."""
    if model_id.startswith("/"):
        return PurePosixPath(model_id).name or model_id
    return model_id


def _local_context_length(model_id: str) -> int | None:
    """The context length in the model's own config, where this machine has the same model
    (a folder at that path, or that id in the HF cache): `transformers serve` does not say."""
    if not (model_id.startswith("/") or model_id.count("/") == 1):
        return None
    try:
        from tui.models.catalog import describe

        entry = describe(model_id)
    except Exception:  # noqa: BLE001 - only a better guess; unknown is fine
        return None
    return entry.facts.context_length if entry.error is None else None


class _Link:
    """The state of one working connection: swapped in whole when a load succeeds."""

    def __init__(
        self,
        conn: Any,
        endpoint: Endpoint,
        key: str | None,
        server: Server,
        model: str,
        models: list[str],
        tokenize: bool,
    ) -> None:
        self.conn = conn
        self.endpoint = endpoint
        self.key = key
        self.server = server
        self.model = model
        self.models = models
        self.tokenize = tokenize

    def context(self) -> errors.Context:
        return errors.Context(
            self.endpoint, self.key, self.model, lambda: self.models, bool(self.server.continuation)
        )


class RemoteBackend(Backend):
    """A model behind an OpenAI-compatible endpoint (LoadSpec.endpoint)."""

    # Before it connects: what any such server might do. load() sets what this one does.
    capabilities = Capabilities(continue_reply=True, local_hardware=False)

    def __init__(self) -> None:
        self.info: ModelInfo | None = None
        self._link: _Link | None = None
        self._estimator = Estimator()
        self._counted: tuple[tuple[tuple[str, str], ...], int] | None = None
        self._thinking: bool | None = None

    def can_load(self, spec: LoadSpec) -> bool:
        return spec.endpoint is not None

    # -- connecting -------------------------------------------------------------------------

    def load(self, spec: LoadSpec, progress: ProgressFn | None = None) -> ModelInfo:
        endpoint = spec.endpoint
        if endpoint is None:
            raise EngineError("The remote engine needs an endpoint.", "Pass --endpoint URL.")
        if endpoint.problem:
            raise EngineError(endpoint.problem, endpoint.problem_hint)
        report = progress or (lambda _m, _f: None)
        started = time.perf_counter()
        report(f"Connecting to {endpoint.label}…", None)
        key = read_key(endpoint)
        check_key_transport(endpoint, key)
        from tui.engine.remote.client import Connection

        conn = Connection(endpoint, key)
        ctx = errors.Context(endpoint, key, spec.model or endpoint.model)
        try:
            models = conn.models()
        except Exception as exc:  # noqa: BLE001 - every failure becomes one message
            conn.close()
            raise errors.describe(exc, ctx) from None
        names = [str(m["id"]) for m in models]
        ctx.served = lambda: names
        wanted = spec.model or endpoint.model
        chosen = next((m for m in models if m["id"] == wanted), None) if wanted else None
        if chosen is None and wanted:
            # A served name may differ from a path's last folder: match that too, once.
            chosen = next((m for m in models if display_name(str(m["id"])) == wanted), None)
        if chosen is None and wanted:
            conn.close()
            listing = ", ".join(names) if names else "nothing"
            raise EngineError(
                f"{endpoint.label} does not serve '{wanted}'; it serves {listing}.",
                "Pick one with --model NAME, or in the model picker (F6).",
            )
        chosen = chosen or first_model(models)
        if chosen is None:
            conn.close()
            raise EngineError(
                f"{endpoint.label} serves no model yet.",
                "Start the server with a model (vllm serve MODEL, transformers serve MODEL).",
            )
        report(f"Asking {endpoint.label} what it is…", None)
        version = conn.page_json("/version")
        props = conn.page_json("/props")
        server = recognise(models, version, props)
        model_id = str(chosen["id"])
        ctx_len = context_length(chosen, props)
        ctx_source = "server"
        if ctx_len is None:
            ctx_len = _local_context_length(str(chosen.get("root") or model_id))
            ctx_source = "local" if ctx_len else "unknown"
        tokenize = False
        if server.tokenize:
            try:  # a server whose /tokenize ignores `messages` counts 0: not exact then
                tokenize = conn.tokenize(model_id, [{"role": "user", "content": "hi"}]) > 0
            except Exception:  # noqa: BLE001 - no /tokenize (or a broken one): estimates then
                tokenize = False
        label = server.label
        if version and isinstance(version.get("version"), str):
            label += f" {version['version']}"
        notes = []
        if ctx_source == "local":
            notes.append(
                f"Context {ctx_len:,} tokens, from the model's config on this machine "
                f"({server.label} does not say)."
            )
        elif ctx_source == "unknown":
            notes.append(
                f"{server.label} does not say the model's context length: prompts are sent "
                "whole, however long."
            )
        if not tokenize:
            notes.append(ESTIMATE_NOTE[0].upper() + ESTIMATE_NOTE[1:] + ".")
        if not server.continuation:
            notes.append(f"{server.label} cannot carry on a stopped reply (+): regenerate instead.")
        sampling = server.sampling_note(GenerationSettings())  # what it does with tchat's own
        if sampling:
            notes.append(sampling[0].upper() + sampling[1:] if sampling[0] == "i" else sampling)
        link = _Link(conn, endpoint, key, server, model_id, names, tokenize)
        old, self._link = self._link, link
        if old is not None:
            old.conn.close()
        self._estimator = Estimator()
        self._counted = None
        self.capabilities = replace(
            RemoteBackend.capabilities,
            continue_reply=bool(server.continuation),
            exact_token_counts=tokenize,
        )
        self.info = ModelInfo(
            id=model_id,
            name=display_name(model_id),
            device=endpoint.label,
            dtype="",
            context_length=ctx_len,
            load_s=time.perf_counter() - started,
            backend="remote",
            endpoint=endpoint.url,
            server=f"{label} at {endpoint.label}",
            server_note=" ".join(notes) or None,
        )
        return self.info

    def unload(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.conn.close()
        self.info = None

    def use_thinking(self, on: bool | None) -> None:
        self._thinking = on

    # -- counting ---------------------------------------------------------------------------

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        link = self._link
        key = tuple((m["role"], m["content"]) for m in messages)
        if self._counted is not None and self._counted[0] == key:
            return self._counted[1]
        count = None
        if link is not None and link.tokenize:
            try:
                count = link.conn.tokenize(link.model, messages)
            except Exception:  # noqa: BLE001 - an estimate rather than no count
                count = None
        if count is None:
            count = self._estimator.count(messages)
        self._counted = (key, count)
        return count

    # -- streaming --------------------------------------------------------------------------

    def _body(
        self,
        link: _Link,
        messages: list[dict[str, str]],
        settings: GenerationSettings,
        continue_final: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": link.model, "messages": messages}
        body.update(link.server.request_fields(settings))
        if continue_final:
            body.update(link.server.continue_fields())
        if self._thinking is not None and link.server.kind != "openai":
            body["chat_template_kwargs"] = {"enable_thinking": self._thinking}
        return body

    def stream(
        self,
        messages: list[dict[str, str]],
        settings: GenerationSettings,
        cancel: threading.Event,
        continue_final: bool = False,
    ) -> Reply:
        link = self._link
        if link is None or self.info is None:
            raise EngineError("Not connected to a server yet.")
        if continue_final and not link.server.continuation:
            raise EngineError(
                f"{link.server.label} cannot carry on a stopped reply: it always starts a new "
                "assistant turn.",
                "Regenerate the reply (r) instead.",
            )
        body = self._body(link, messages, settings, continue_final)
        stats = ReplyStats(prompt_tokens=self.count_tokens(messages), stop_reason="streaming")
        reply = Reply(chunks=iter(()), stats=stats)
        reply.chunks = self._chunks(link, body, messages, cancel, reply)
        return reply

    def _chunks(
        self,
        link: _Link,
        body: dict[str, Any],
        messages: list[dict[str, str]],
        cancel: threading.Event,
        reply: Reply,
    ) -> Iterator[str]:
        stats = reply.stats
        started = time.perf_counter()
        reader = ChunkReader(stats, started)
        ctx = link.context()
        handle = link.conn.open_stream()
        endpoint = link.endpoint
        dog = Watchdog(
            cancel, endpoint.first_token_timeout_s, endpoint.read_timeout_s, handle.abort
        )
        failure: EngineError | None = None
        try:
            events = link.conn.chat(handle.client, body)
            for event in events:
                if not isinstance(event, dict):
                    continue
                pieces = reader.feed(event, time.perf_counter())
                dog.alive(bool(pieces))
                yield from pieces
                if cancel.is_set():
                    break
        except GeneratorExit:
            cancel.set()  # the reply was closed: the watchdog need not wait
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one message
            if dog.tripped in ("first", "read"):
                limit = (
                    endpoint.first_token_timeout_s
                    if dog.tripped == "first"
                    else (endpoint.read_timeout_s)
                )
                failure = errors.stalled(limit, ctx, first=dog.tripped == "first")
            elif not cancel.is_set():
                if type(exc).__name__ == "APIError" and getattr(exc, "body", None) is not None:
                    failure = errors.midstream(errors.body_detail(exc.body), ctx)  # type: ignore[attr-defined]
                else:
                    failure = errors.describe(exc, ctx, streaming=reader.first_at is not None)
        finally:
            dog.stop()
            handle.close()
            reader.finish(time.perf_counter())
            if failure is not None:
                stats.stop_reason = "error"
                reply.error = str(failure)
            elif cancel.is_set():
                stats.stop_reason = "cancelled"
            elif reader.aborted_by_server:
                stats.stop_reason = "error"
                reply.error = str(
                    errors.midstream("the server aborted the request (finish_reason abort)", ctx)
                )
            elif reader.finish_reason is None:
                stats.stop_reason = "error"
                reply.error = str(
                    EngineError(
                        f"The stream from {ctx.label} ended before the reply did.",
                        f"{errors.KEPT} To try again, {ctx.again()}.",
                    )
                )
            if reader.usage_seen and reader.prompt_tokens and not link.tokenize:
                self._estimator.calibrate(messages, reader.prompt_tokens)
                self._counted = None

    # -- the server's own figures -----------------------------------------------------------

    def server_metrics(self) -> ServerMetrics:
        link = self._link
        if link is None:
            return unavailable("not connected")
        server = link.server
        if not server.metrics and server.kind == "transformers":
            return unavailable(f"{server.label} publishes no /metrics")
        from tui.engine.remote.client import PageMissing

        try:
            text = link.conn.metrics_text()
        except PageMissing:
            hint = f": {server.metrics_hint}" if server.metrics_hint else ""
            return unavailable(f"{server.label} has no /metrics page{hint}")
        except Exception as exc:  # noqa: BLE001 - shown in the gauges, nothing breaks
            return unavailable(f"/metrics: {errors.describe(exc, link.context()).message}")
        metrics = parse(text)
        if not metrics.available and not metrics.reason:
            return unavailable("no figures")
        return metrics
