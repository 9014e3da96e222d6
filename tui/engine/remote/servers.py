"""What each OpenAI-compatible server accepts and offers beyond the common API.

They all take `/v1/chat/completions` with `messages`, `max_tokens`, `temperature`, `top_p` and
`stream`, but differ where tchat needs more: vLLM and SGLang take `top_k` and
`repetition_penalty` (llama-server calls the latter `repeat_penalty`), `transformers serve`
refuses unknown fields with a 422 and decodes greedily unless the model's own generation config
samples; vLLM, SGLang and llama-server count a prompt's tokens on `/tokenize` and publish
Prometheus `/metrics`; a stopped reply can be carried on with `continue_final_message` on vLLM
and SGLang, and llama-server carries on a trailing assistant message by itself. Each `Server`
below says so, and the backend builds its requests and its notes from it, so what tchat claims
is what the server does. An unknown server gets only the common fields.

The kind is recognised from `/v1/models` (`owned_by`, and transformers serve's `status`), then
`/version` (vLLM) and `/props` (llama-server).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.store.session import GenerationSettings


@dataclass(frozen=True)
class Server:
    """One server kind: what to send it and what to ask it."""

    kind: str  # vllm | sglang | llama-server | transformers | openai
    label: str  # for people: "vLLM", "transformers serve"
    top_k: bool = False  # takes top_k
    repetition_penalty: str | None = None  # the field's name, None: not taken
    seed: bool = True
    usage_option: bool = True  # stream_options.include_usage is how to ask for usage
    live_usage: bool = False  # stream_options.continuous_usage_stats: usage in every chunk
    tokenize: bool = False  # POST /tokenize with messages
    metrics: bool = False  # GET /metrics, Prometheus text
    # How a stopped reply is carried on: "continue_final_message" (the request's flags), "prefill"
    # (a trailing assistant message is continued as it is), or "" (it cannot be).
    continuation: str = ""
    samples_always: bool = True  # False: greedy unless the model's generation config samples
    metrics_hint: str = ""  # how to turn /metrics on, when it is off by default

    def request_fields(self, settings: GenerationSettings) -> dict[str, Any]:
        """The sampling fields for `settings`, in this server's names. Greedy is temperature 0
        (every server knows it); the rest only where the server takes them."""
        body: dict[str, Any] = {"max_tokens": settings.max_new_tokens}
        if not settings.do_sample:
            body["temperature"] = 0.0
        else:
            body["temperature"] = settings.temperature
            body["top_p"] = settings.top_p
            if self.top_k and settings.top_k:
                body["top_k"] = settings.top_k
        if self.repetition_penalty and settings.repetition_penalty != 1.0:
            body[self.repetition_penalty] = settings.repetition_penalty
        if self.seed and settings.seed is not None:
            body["seed"] = settings.seed
        if self.usage_option:
            options: dict[str, Any] = {"include_usage": True}
            if self.live_usage:
                options["continuous_usage_stats"] = True
            body["stream_options"] = options
        return body

    def continue_fields(self) -> dict[str, Any]:
        """What asks the server to carry on the trailing assistant message."""
        if self.continuation == "continue_final_message":
            return {"continue_final_message": True, "add_generation_prompt": False}
        return {}

    def sampling_note(self, settings: GenerationSettings) -> str:
        """What this server does with the chat's settings that they do not say, or ""."""
        dropped = []
        if settings.do_sample and settings.top_k and not self.top_k:
            dropped.append("top_k")
        if settings.repetition_penalty != 1.0 and not self.repetition_penalty:
            dropped.append("repetition_penalty")
        if settings.seed is not None and not self.seed:
            dropped.append("seed")
        bits = []
        if not self.samples_always and settings.do_sample:
            bits.append(
                f"{self.label} samples only where the model's own generation_config.json says "
                "do_sample: otherwise it decodes greedily, whatever the temperature"
            )
        if dropped:
            names = " or ".join(dropped) if len(dropped) < 3 else ", ".join(dropped)
            if self.kind == "openai":
                bits.append(f"{names} are not in the OpenAI API: tchat does not send them")
            else:
                bits.append(f"it does not take {names}, so tchat does not send them")
        return f"{'; '.join(bits)}." if bits else ""


SERVERS: dict[str, Server] = {
    "vllm": Server(
        "vllm",
        "vLLM",
        top_k=True,
        repetition_penalty="repetition_penalty",
        live_usage=True,
        tokenize=True,
        metrics=True,
        continuation="continue_final_message",
    ),
    "sglang": Server(
        "sglang",
        "SGLang",
        top_k=True,
        repetition_penalty="repetition_penalty",
        tokenize=True,
        metrics=True,
        continuation="continue_final_message",
        metrics_hint="start it with --enable-metrics",
    ),
    "llama-server": Server(
        "llama-server",
        "llama-server",
        top_k=True,
        repetition_penalty="repeat_penalty",
        tokenize=True,
        metrics=True,
        continuation="prefill",
        metrics_hint="start it with --metrics",
    ),
    "transformers": Server(
        "transformers",
        "transformers serve",
        # It answers 422 "Unexpected fields" to anything outside its schema, and ignores
        # stream_options (usage always comes in the finish chunk).
        usage_option=False,
        samples_always=False,
    ),
    "openai": Server("openai", "OpenAI-compatible server"),
}


def recognise(
    models: list[dict[str, Any]],
    version: dict[str, Any] | None = None,
    props: dict[str, Any] | None = None,
) -> Server:
    """The server kind from its /v1/models entries and, where asked, /version and /props."""
    owners = {str(m.get("owned_by", "")).lower() for m in models}
    if "vllm" in owners:
        return SERVERS["vllm"]
    if "sglang" in owners:
        return SERVERS["sglang"]
    if "llamacpp" in owners or (props is not None and "default_generation_settings" in props):
        return SERVERS["llama-server"]
    if any(isinstance(m.get("status"), dict) and "value" in m["status"] for m in models):
        return SERVERS["transformers"]  # its own field: which listed models are loaded
    if version is not None and "version" in version:
        return SERVERS["vllm"]  # vLLM behind a proxy that renames owned_by
    return SERVERS["openai"]


def context_length(model: dict[str, Any], props: dict[str, Any] | None = None) -> int | None:
    """A served model's context length where the server says it: vLLM's and SGLang's
    `max_model_len`, llama-server's `/props` (n_ctx) or its model `meta` (n_ctx_train)."""
    for key in ("max_model_len", "context_length", "max_context_length"):
        value = model.get(key)
        if isinstance(value, int) and value > 0:
            return value
    if props:
        settings = props.get("default_generation_settings")
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        n_ctx = n_ctx or props.get("n_ctx")
        if isinstance(n_ctx, int) and n_ctx > 0:
            return n_ctx
    meta = model.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("n_ctx_train"), int):
        return int(meta["n_ctx_train"])
    return None


def first_model(models: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The model to use when none is named: the only one, else the first loaded, else the
    first listed (an unpinned transformers serve lists its whole HF cache)."""
    if not models:
        return None
    for m in models:
        status = m.get("status")
        if isinstance(status, dict) and status.get("value") == "loaded":
            return m
    return models[0]
