"""What the catalogue knows about a model before loading it: the `ModelFacts` record.

Loading a model to learn its parameter count takes seconds to minutes and gigabytes; the picker
needs the figures for dozens of models in well under a second. So they are read from small
files and headers only (`config_facts`, `folder_facts`, `gguf_header`) into this one record,
which the catalogue lists and the estimates turn into memory and speed. Pure data: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tui.models.units import format_count


@dataclass(frozen=True)
class MoEInfo:
    """Mixture-of-experts shape: only `experts_per_token` of `num_experts` routed experts run
    per token, which is why a "47B" MoE decodes about as fast as a 13B dense model."""

    num_experts: int
    experts_per_token: int
    shared_experts: int = 0
    # Parameters in the routed experts over all layers (shared experts and router excluded).
    expert_params: int | None = None


@dataclass(frozen=True)
class ModelFacts:
    """Figures read from a model's files without loading it; None means "not known".

    `parameters` counts every stored weight once (tied embeddings once, as `model.parameters()`
    does); `active_parameters` is what one token touches (== parameters for dense models).
    `kv_elements_per_token` is K + V elements over all layers for one token of context, which
    the estimates multiply by bytes per element and context length.
    """

    parameters: int | None = None
    active_parameters: int | None = None
    param_source: str | None = None  # "safetensors" | "gguf" | "config"
    moe: MoEInfo | None = None
    context_length: int | None = None
    has_chat_template: bool | None = None
    dtype: str | None = None  # on disk: "bf16", "fp32", "Q4_1", "gptq 4-bit", ...
    quantization: str | None = None  # set for pre-quantized checkpoints (gptq, awq, GGUF)
    size_on_disk: int | None = None
    weights_format: str | None = None  # "safetensors" | "gguf" | "bin" | None (no weights)
    architecture: str | None = None
    model_type: str | None = None
    is_causal_lm: bool = True
    not_causal_reason: str | None = None
    num_layers: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    kv_elements_per_token: int | None = None
    # Embedding + LM head weights: bitsandbytes leaves these in 16 bit when it quantizes.
    unquantized_params: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_moe(self) -> bool:
        return self.moe is not None


def format_params(facts: ModelFacts) -> str:
    """ "135M" for a dense model, "46.7B total, 12.9B active" for an MoE, "?" if unknown."""
    if facts.parameters is None:
        return "?"
    total = format_count(facts.parameters)
    if facts.moe is None or facts.active_parameters in (None, facts.parameters):
        return total
    return f"{total} total, {format_count(facts.active_parameters)} active"


def with_active(facts: ModelFacts, expert_params: int | None) -> ModelFacts:
    """Fill in active parameters: non-expert weights + k/E of the routed experts."""
    if facts.parameters is None:
        return facts
    if facts.moe is None or not expert_params:
        return replace(facts, active_parameters=facts.parameters)
    moe = replace(facts.moe, expert_params=expert_params)
    idle = (1 - moe.experts_per_token / moe.num_experts) * expert_params
    return replace(facts, moe=moe, active_parameters=round(facts.parameters - idle))
