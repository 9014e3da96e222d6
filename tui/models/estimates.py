"""Will it fit, and how fast can it go: memory and decode-speed estimates per precision.

Before loading a model the picker answers two questions for each way of loading it (fp32,
bf16/fp16, 8-bit, 4-bit): does weights + KV cache + runtime overhead fit in the target device's
free memory, and what is the most tokens/s decoding can reach there? Decoding reads every active
weight once per token, so `bandwidth / bytes read per token` bounds it (the roofline in
`tui.hardware.bandwidth`, reused here). All pure arithmetic on `ModelFacts`: no I/O, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.hardware.bandwidth import bytes_per_param, bytes_per_token, decode_bound_tps
from tui.models import dtypes
from tui.models.facts import ModelFacts
from tui.models.units import format_bytes

# Context the KV cache is sized for when the caller does not choose: long enough for a real
# chat, short of the 128k some models advertise (at which the cache alone can exceed the
# weights and every model would look as if it does not fit).
DEFAULT_CONTEXT_TOKENS = 4096

# Runtime overhead beyond weights + KV cache: the CUDA context and torch's own allocations
# (~0.3-0.5 GB on a GPU, similar resident size on a CPU) plus what grows with the model:
# allocator fragmentation, temporary buffers while loading, prefill activations (~5%).
BASE_OVERHEAD_BYTES = 400_000_000
OVERHEAD_FRACTION = 0.05

_FP32, _BF16 = dtypes.get("fp32"), dtypes.get("bf16")

# The weights bitsandbytes leaves unquantized (embeddings, LM head) stay in 16 bit.
_UNQUANTIZED_BYTES = _BF16.bytes_per_param

MOE_ASSISTED_GENERATION_NOTE = (
    "Speculative decoding (assisted generation) may not help MoE models: each draft token "
    "can route to different experts, so verifying a draft reads more expert weights than "
    "decoding one token does."
)


def _quantized_bpp(quantization: str) -> float:
    value = bytes_per_param(None, quantization)
    assert value is not None, quantization  # tui.hardware.bandwidth knows these quantizations
    return value


@dataclass(frozen=True)
class Precision:
    """One way to load a model: the LoadSpec fields that select it and what it costs.

    `bytes_per_param` comes from the dtype table (`tui.models.dtypes`) unquantized, and from
    `tui.hardware.bandwidth` quantized (nf4 is ~4.13 bits with its scales, i.e. ~0.52 byte).
    The KV cache is kept in the compute dtype: fp32 for fp32, else 16 bit.
    """

    key: str  # "fp32" | "bf16" | "8bit" | "4bit"
    label: str
    dtype: str  # LoadSpec.dtype
    quantize: str | None  # LoadSpec.quantize
    bytes_per_param: float
    kv_bytes_per_element: float

    @property
    def quantized(self) -> bool:
        return self.quantize is not None


PRECISIONS: tuple[Precision, ...] = (
    Precision("fp32", "fp32", "fp32", None, _FP32.bytes_per_param, _FP32.bytes_per_param),
    Precision("bf16", "bf16/fp16", "bf16", None, _BF16.bytes_per_param, _BF16.bytes_per_param),
    Precision("8bit", "8-bit", "auto", "8bit", _quantized_bpp("8bit"), _BF16.bytes_per_param),
    Precision("4bit", "4-bit nf4", "auto", "4bit", _quantized_bpp("nf4"), _BF16.bytes_per_param),
)


@dataclass(frozen=True)
class EstimateRow:
    """One precision's figures; None where the facts do not allow an estimate."""

    precision: Precision
    weights_bytes: int | None
    kv_bytes: int | None
    overhead_bytes: int | None
    total_bytes: int | None
    fits: bool | None  # None when free memory or the total is unknown
    bytes_per_token: int | None  # weights read to decode one token (active ones only)
    bound_tps: float | None  # None when bandwidth or parameters are unknown


@dataclass(frozen=True)
class Estimate:
    """The table the picker shows: one row per precision, most precise first."""

    rows: tuple[EstimateRow, ...]
    context_tokens: int
    free_bytes: int | None
    bandwidth_bytes_per_s: float | None
    notes: tuple[str, ...] = ()

    def row(self, key: str) -> EstimateRow:
        return next(r for r in self.rows if r.precision.key == key)

    def best_fit(self) -> EstimateRow | None:
        """The most precise row that fits: what to suggest loading with."""
        return next((r for r in self.rows if r.fits), None)


def weights_bytes(params: int, precision: Precision, unquantized_params: int | None = 0) -> int:
    """Memory for `params` weights. Quantized, the embeddings and LM head stay 16 bit
    (bitsandbytes replaces Linear layers only), which matters for small models: SmolLM2-135M
    has 28M of its 135M parameters in the embedding."""
    if not precision.quantized:
        return round(params * precision.bytes_per_param)
    kept = min(unquantized_params or 0, params)
    return round((params - kept) * precision.bytes_per_param + kept * _UNQUANTIZED_BYTES)


def kv_cache_bytes(facts: ModelFacts, context_tokens: int, bytes_per_element: float) -> int | None:
    """layers x kv heads x (K width + V width) x bytes x tokens. kv heads are
    num_key_value_heads (GQA) or else num_attention_heads; head width is head_dim or
    hidden / heads. Sliding-window layers are counted at full length: an upper bound."""
    if facts.kv_elements_per_token is None:
        return None
    return round(facts.kv_elements_per_token * bytes_per_element * context_tokens)


def overhead_bytes(weights: int, base: int = BASE_OVERHEAD_BYTES) -> int:
    return round(base + OVERHEAD_FRACTION * weights)


def estimate(
    facts: ModelFacts,
    *,
    free_bytes: int | None,
    bandwidth_bytes_per_s: float | None,
    context_tokens: int | None = None,
    precisions: tuple[Precision, ...] = PRECISIONS,
    base_overhead_bytes: int = BASE_OVERHEAD_BYTES,
) -> Estimate:
    """Memory and speed for `facts` on a device with `free_bytes` free (NVML's free memory
    for a GPU, psutil's available for the CPU; include what the current model would release
    if it is being replaced) and `bandwidth_bytes_per_s` (from tui.hardware.bandwidth).

    Memory follows *total* parameters (every expert must be resident); speed follows *active*
    parameters (a token reads only its routed experts). The speed bound ignores KV-cache reads,
    which lower it as the context fills: it is a ceiling, not a forecast.
    """
    notes: list[str] = []
    tokens = context_tokens or DEFAULT_CONTEXT_TOKENS
    if facts.context_length and tokens > facts.context_length:
        notes.append(f"Context capped at the model's {facts.context_length} tokens.")
        tokens = facts.context_length
    if facts.parameters is None:
        notes.append("Parameter count unknown: no memory or speed estimate.")
    if facts.kv_elements_per_token is None and facts.parameters is not None:
        notes.append("KV-cache size unknown (no layer/head figures): totals exclude it.")
    if facts.quantization and facts.weights_format != "gguf":
        notes.append(
            f"The checkpoint is pre-quantized ({facts.quantization}): it loads in that format."
        )
    if facts.moe is not None:
        notes.append(
            "MoE: memory counts all experts, speed only the "
            f"{facts.moe.experts_per_token} of {facts.moe.num_experts} each token uses."
        )
        notes.append(MOE_ASSISTED_GENERATION_NOTE)
    rows = tuple(
        _row(facts, p, tokens, free_bytes, bandwidth_bytes_per_s, base_overhead_bytes)
        for p in precisions
    )
    return Estimate(rows, tokens, free_bytes, bandwidth_bytes_per_s, tuple(notes))


def _row(
    facts: ModelFacts,
    precision: Precision,
    tokens: int,
    free_bytes: int | None,
    bandwidth: float | None,
    base_overhead: int,
) -> EstimateRow:
    if facts.parameters is None:
        return EstimateRow(precision, None, None, None, None, None, None, None)
    weights = weights_bytes(facts.parameters, precision, facts.unquantized_params)
    kv = kv_cache_bytes(facts, tokens, precision.kv_bytes_per_element)
    overhead = overhead_bytes(weights, base_overhead)
    total = weights + (kv or 0) + overhead
    fits = None if free_bytes is None else total <= free_bytes
    active = facts.active_parameters or facts.parameters
    per_token = weights_bytes(active, precision, facts.unquantized_params)
    bound = None
    if bandwidth:
        # bytes_per_token(n, b) = n * b; the effective bytes per active weight folds in the
        # 16-bit embeddings a quantized model keeps.
        bound = decode_bound_tps(bandwidth, bytes_per_token(active, per_token / active))
    return EstimateRow(precision, weights, kv, overhead, total, fits, per_token, bound)


def _tps(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _fits(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def render_estimate(est: Estimate, device: str = "device") -> list[str]:
    """Plain-text lines (no markup) for the picker's detail pane or a log:

    precision   weights   KV @4096   total     fits  ≤ tok/s
    bf16/fp16   14 GB     537 MB     15.1 GB   yes   239
    """
    header = ("precision", "weights", f"KV @{est.context_tokens}", "total", "fits", "≤ tok/s")
    table = [header] + [
        (
            r.precision.label,
            format_bytes(r.weights_bytes),
            format_bytes(r.kv_bytes),
            format_bytes(r.total_bytes),
            _fits(r.fits),
            _tps(r.bound_tps),
        )
        for r in est.rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    facts = [f"{device}: {format_bytes(est.free_bytes)} free"]
    if est.bandwidth_bytes_per_s:
        facts.append(f"{format_bytes(est.bandwidth_bytes_per_s)}/s memory bandwidth")
    lines.append(" · ".join(facts))
    lines.extend(est.notes)
    return lines
