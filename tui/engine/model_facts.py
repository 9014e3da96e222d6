"""What the model picker knows about a model before loading it: size, context, template, MoE.

Loading a model to learn its parameter count takes seconds to minutes and gigabytes; the picker
needs the figures for dozens of models in well under a second. So everything here reads only
small files and headers: `config.json`, `tokenizer_config.json`, the JSON header at the front of
each `.safetensors` file, and the metadata + tensor table at the front of a `.gguf` file. No
torch, no transformers import (importing `transformers.models.auto` alone costs ~2.5 s and pulls
in torch), no weights read. All functions block on file I/O: call them from a thread worker.
"""

from __future__ import annotations

import json
import math
import mmap
import re
import struct
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any


class FactsError(Exception):
    """The model cannot be described at all (no or unreadable config): the picker lists it
    with this message instead of crashing."""


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


# -- formatting --------------------------------------------------------------------------------


def format_count(n: float | None) -> str:
    """135M, 6.74B, 46.7B: three significant digits, as model cards write sizes."""
    if n is None:
        return "?"
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.0f}{unit}" if value >= 100 else f"{value:.3g}{unit}"
    return f"{n:.0f}"


def format_bytes(n: float | None) -> str:
    """Decimal units (1 GB = 1e9 B), as disk sizes and GPU spec sheets use: "14.0 GB"."""
    if n is None:
        return "?"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
    return f"{n:.0f} B"


def format_params(facts: ModelFacts) -> str:
    """ "135M" for a dense model, "46.7B total, 12.9B active" for an MoE, "?" if unknown."""
    if facts.parameters is None:
        return "?"
    total = format_count(facts.parameters)
    if facts.moe is None or facts.active_parameters in (None, facts.parameters):
        return total
    return f"{total} total, {format_count(facts.active_parameters)} active"


# -- small helpers -----------------------------------------------------------------------------

_DTYPE_SHORT = {
    "float32": "fp32",
    "float": "fp32",
    "float16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "float8_e4m3fn": "fp8",
    "float8_e5m2": "fp8",
    "F64": "fp64",
    "F32": "fp32",
    "F16": "fp16",
    "BF16": "bf16",
    "F8_E4M3": "fp8",
    "F8_E5M2": "fp8",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
}


def short_dtype(name: str | None) -> str | None:
    """ "torch.bfloat16", "bfloat16" or "BF16" -> "bf16"; unknown names pass through."""
    if not name:
        return None
    key = str(name).removeprefix("torch.")
    return _DTYPE_SHORT.get(key, key)


def _as_int(value: Any) -> int | None:
    # bool is an int subclass; a config flag must never be read as a size.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if value > 0 else None


def _first_int(cfgs: list[dict[str, Any]], *keys: str) -> int | None:
    for cfg in cfgs:
        for key in keys:
            value = _as_int(cfg.get(key))
            if value is not None:
                return value
    return None


def _text_cfgs(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """The places a text model's hyper-parameters live: a multimodal wrapper (Gemma 3, Llava)
    keeps them in `text_config`, a plain LM at the top level. Text config wins."""
    text = cfg.get("text_config")
    return [text, cfg] if isinstance(text, dict) else [cfg]


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def folder_size(folder: Path) -> int:
    """Bytes of all files under `folder`, following the HF cache's symlinks to their blobs."""
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total


# -- which models are causal LMs ---------------------------------------------------------------

_CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel", "WithLMHead")

# Used only when transformers' source cannot be read: common decoder-only model types.
_FALLBACK_CAUSAL_TYPES = frozenset(
    "llama mistral mixtral qwen2 qwen2_moe qwen3 qwen3_moe gemma gemma2 gemma3 gemma3_text "
    "phi phi3 phimoe gpt2 gpt_neox gptj gpt_bigcode falcon olmo olmo2 olmoe starcoder2 "
    "granite granitemoe deepseek_v2 deepseek_v3 cohere cohere2 smollm3 stablelm opt bloom "
    "gpt_oss glm glm4 ernie4_5 ernie4_5_moe exaone4 helium hunyuan_v1_dense".split()
)


@lru_cache(maxsize=1)
def causal_lm_classes() -> dict[str, str]:
    """model_type -> class `AutoModelForCausalLM` loads for it, from transformers' own mapping.

    The mapping lives in `transformers/models/auto/modeling_auto.py`, and importing it costs
    ~2.5 s and torch. Its source is a literal list of ("model_type", "ClassName") pairs, so we
    read the text instead (a few ms, once). If the layout ever changes, a built-in list of
    common decoder types takes over.
    """
    spec = find_spec("transformers")
    for root in (spec.submodule_search_locations or []) if spec else []:
        source = Path(root) / "models" / "auto" / "modeling_auto.py"
        try:
            text = source.read_text(encoding="utf-8")
        except OSError:
            continue
        match = re.search(
            r"^MODEL_FOR_CAUSAL_LM_MAPPING_NAMES\s*=\s*OrderedDict\((.*?)^\)", text, re.M | re.S
        )
        if match:
            pairs = re.findall(r'^\s*\(\s*"([^"]+)"\s*,\s*"([^"]+)"', match.group(1), re.M)
            if pairs:
                return dict(pairs)
    fallback = dict.fromkeys(_FALLBACK_CAUSAL_TYPES, "")
    fallback["gemma3"] = "Gemma3ForConditionalGeneration"
    return fallback


def causal_model_types() -> frozenset[str]:
    """Model types AutoModelForCausalLM can load."""
    return frozenset(causal_lm_classes())


def causal_lm_problem(cfg: dict[str, Any]) -> str | None:
    """None if tchat can chat with this config, else why not (shown for hidden models).

    The rule: when `architectures` is given, the checkpoint's own head decides, because the
    model type alone is ambiguous (`bert` is in the causal mapping via BertLMHeadModel, yet a
    BertForMaskedLM checkpoint is no chat model). *ForCausalLM / *LMHeadModel / *WithLMHead
    are causal. *ForConditionalGeneration counts only when AutoModelForCausalLM maps its model
    type to that very class (Gemma 3 and similar), since that is what the backend loads: T5,
    Whisper (whose causal entry is its bare decoder) and Llava-style wrappers are excluded.
    Without `architectures`, a remote-code `auto_map` entry for AutoModelForCausalLM or a model
    type in the causal mapping is enough.
    """
    archs = [a for a in cfg.get("architectures") or [] if isinstance(a, str)]
    model_type = cfg.get("model_type")
    known = causal_lm_classes()
    if archs:
        if any(a.endswith(_CAUSAL_SUFFIXES) for a in archs):
            return None
        if isinstance(model_type, str) and known.get(model_type) in archs:
            return None
        return f"{archs[0]} is not a causal language model"
    auto_map = cfg.get("auto_map")
    if isinstance(auto_map, dict) and "AutoModelForCausalLM" in auto_map:
        return None
    if isinstance(model_type, str) and model_type in known:
        return None
    if model_type:
        return f"model type '{model_type}' is not a causal language model Transformers knows"
    return "config.json names neither an architecture nor a model type"


# -- config: context, KV cache shape, MoE, parameter estimate ----------------------------------


def context_length_from_config(cfg: dict[str, Any]) -> int | None:
    """The longest context the model was built for. A sliding window limits attention span,
    not the context, so it does not count; neither does a tokenizer's `model_max_length`."""
    return _first_int(
        _text_cfgs(cfg),
        "max_position_embeddings",
        "n_positions",
        "max_seq_len",
        "max_sequence_length",
        "seq_length",
        "n_ctx",
    )


@dataclass(frozen=True)
class _Shape:
    """The hyper-parameters the estimates need, normalised across model families."""

    hidden: int | None
    layers: int | None
    heads: int | None
    kv_heads: int | None
    head_dim: int | None
    vocab: int | None
    intermediate: int | None
    k_dim: int | None  # per-head key width; differs from v_dim with DeepSeek's MLA
    v_dim: int | None


def _shape(cfg: dict[str, Any]) -> _Shape:
    cfgs = _text_cfgs(cfg)
    hidden = _first_int(cfgs, "hidden_size", "n_embd", "d_model", "dim")
    layers = _first_int(cfgs, "num_hidden_layers", "n_layer", "num_layers", "n_layers")
    heads = _first_int(cfgs, "num_attention_heads", "n_head", "num_heads", "n_heads")
    kv_heads = _first_int(cfgs, "num_key_value_heads", "n_head_kv", "num_kv_heads", "n_kv_heads")
    if kv_heads is None and any(c.get("multi_query") is True for c in cfgs):
        kv_heads = 1  # Falcon-7B and GPT-BigCode style multi-query attention
    kv_heads = kv_heads or heads
    # `head_dim` is often present but null (Mixtral): then it is hidden / heads.
    head_dim = _first_int(cfgs, "head_dim") or (hidden // heads if hidden and heads else None)
    k_dim = v_dim = head_dim
    if _first_int(cfgs, "kv_lora_rank"):
        # DeepSeek MLA: Transformers caches decompressed K (nope + rope) and V per head.
        nope = _first_int(cfgs, "qk_nope_head_dim") or 0
        rope = _first_int(cfgs, "qk_rope_head_dim") or 0
        k_dim = (nope + rope) or head_dim
        v_dim = _first_int(cfgs, "v_head_dim") or head_dim
        kv_heads = heads
    return _Shape(
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        vocab=_first_int(cfgs, "vocab_size", "padded_vocab_size"),
        intermediate=_first_int(cfgs, "intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size"),
        k_dim=k_dim,
        v_dim=v_dim,
    )


def kv_elements_per_token(cfg: dict[str, Any]) -> int | None:
    """K + V elements cached per token over all layers: layers x kv heads x (k + v width)."""
    s = _shape(cfg)
    if not (s.layers and s.kv_heads and s.k_dim and s.v_dim):
        return None
    return s.layers * s.kv_heads * (s.k_dim + s.v_dim)


def moe_from_config(cfg: dict[str, Any]) -> MoEInfo | None:
    """Expert counts under the names the families use: Mixtral `num_local_experts`, Qwen MoE
    `num_experts`, DeepSeek `n_routed_experts` (+ `n_shared_experts`), others `moe_num_experts`;
    experts per token is `num_experts_per_tok` (or `moe_top_k` / `experts_per_token`)."""
    cfgs = _text_cfgs(cfg)
    experts = _first_int(
        cfgs, "num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts", "n_experts"
    )
    per_token = _first_int(
        cfgs, "num_experts_per_tok", "moe_top_k", "experts_per_token", "num_selected_experts"
    )
    if not experts or experts < 2 or not per_token:
        return None
    shared = _first_int(cfgs, "n_shared_experts", "num_shared_experts", "moe_num_shared_experts")
    if shared is None and _first_int(cfgs, "shared_expert_intermediate_size"):
        shared = 1  # Qwen MoE: one shared expert, sized separately
    return MoEInfo(
        num_experts=experts, experts_per_token=min(per_token, experts), shared_experts=shared or 0
    )


# Families whose MLP is two matrices (up, down) instead of the gated three (gate, up, down).
_UNGATED_MLP = frozenset("gpt2 gpt_neox gptj gpt_bigcode opt bloom falcon phi starcoder2".split())
# Families with biases on q/k/v although the config carries no flag for it.
_QKV_BIAS = frozenset("qwen2 qwen2_moe qwen2_vl qwen2_5_vl".split())


def _moe_layer_ids(cfg: dict[str, Any], layers: int) -> list[int]:
    """Which layers hold experts: DeepSeek keeps the first `first_k_dense_replace` dense; Qwen
    MoE uses every `decoder_sparse_step`-th layer except `mlp_only_layers`."""
    cfgs = _text_cfgs(cfg)
    first_dense = _first_int(cfgs, "first_k_dense_replace") or 0
    step = _first_int(cfgs, "decoder_sparse_step", "moe_layer_freq") or 1
    only_mlp: set[int] = set()
    for c in cfgs:
        if isinstance(c.get("mlp_only_layers"), list):
            only_mlp = {i for i in c["mlp_only_layers"] if isinstance(i, int)}
            break
    return [
        i for i in range(layers) if i >= first_dense and i not in only_mlp and (i + 1) % step == 0
    ]


def estimate_params_from_config(cfg: dict[str, Any]) -> tuple[int, int] | None:
    """(total, routed-expert) parameters from the config's shape, for folders whose weights
    cannot be read cheaply (.bin, packed quantized checkpoints, partial downloads).

    Counts embeddings (+ an untied LM head), attention (standard, GQA or DeepSeek MLA), gated
    or plain MLPs, routers, shared and routed experts, and norms. Exact for Llama, Mixtral,
    Qwen MoE and DeepSeek V3 layouts; an estimate elsewhere (biases, odd norms). A multimodal
    wrapper's vision tower is not counted.
    """
    s = _shape(cfg)
    if not (s.hidden and s.layers and s.heads and s.vocab and s.head_dim):
        return None
    cfgs = _text_cfgs(cfg)
    model_type = str(cfgs[0].get("model_type") or cfg.get("model_type") or "")
    h = s.hidden
    tied = any(c.get("tie_word_embeddings") is True for c in cfgs)
    total = s.vocab * h * (1 if tied else 2) + h  # embeddings, LM head, final norm

    q_lora = _first_int(cfgs, "q_lora_rank")
    kv_lora = _first_int(cfgs, "kv_lora_rank")
    if kv_lora:
        nope = _first_int(cfgs, "qk_nope_head_dim") or 0
        rope = _first_int(cfgs, "qk_rope_head_dim") or 0
        v_dim = s.v_dim or s.head_dim
        q_out = s.heads * (nope + rope)
        attn = (h * q_lora + q_lora + q_lora * q_out) if q_lora else h * q_out
        attn += h * (kv_lora + rope) + kv_lora + kv_lora * s.heads * (nope + v_dim)
        attn += s.heads * v_dim * h
    else:
        q_width, kv_width = s.heads * s.head_dim, (s.kv_heads or s.heads) * s.head_dim
        attn = 2 * h * q_width + 2 * h * kv_width
        if any(c.get("attention_bias") is True for c in cfgs) or model_type in _QKV_BIAS:
            attn += q_width + 2 * kv_width + (h if model_type not in _QKV_BIAS else 0)

    mats = 2 if model_type in _UNGATED_MLP else 3
    dense_mlp = mats * h * (s.intermediate or 4 * h)
    moe = moe_from_config(cfg)
    moe_layers = set(_moe_layer_ids(cfg, s.layers)) if moe else set()
    expert_inter = _first_int(cfgs, "moe_intermediate_size") or s.intermediate or 4 * h
    shared_inter = _first_int(cfgs, "shared_expert_intermediate_size")
    experts_total = 0
    for i in range(s.layers):
        total += attn + 2 * h  # attention + two norms
        if moe and i in moe_layers:
            routed = moe.num_experts * mats * h * expert_inter
            experts_total += routed
            total += routed + h * moe.num_experts  # experts + router
            if shared_inter:
                total += mats * h * shared_inter + h  # Qwen: shared expert + its gate
            elif moe.shared_experts:
                total += moe.shared_experts * mats * h * expert_inter
        else:
            total += dense_mlp
    return total, experts_total


def with_active(facts: ModelFacts, expert_params: int | None) -> ModelFacts:
    """Fill in active parameters: non-expert weights + k/E of the routed experts."""
    if facts.parameters is None:
        return facts
    if facts.moe is None or not expert_params:
        return replace(facts, active_parameters=facts.parameters)
    moe = replace(facts.moe, expert_params=expert_params)
    idle = (1 - moe.experts_per_token / moe.num_experts) * expert_params
    return replace(facts, moe=moe, active_parameters=round(facts.parameters - idle))


# -- safetensors headers -----------------------------------------------------------------------

# A routed expert's weights: "...mlp.experts.3.w1.weight" or fused "...mlp.experts.gate_up_proj".
# "shared_experts." / "shared_expert." do not match: shared experts run for every token.
_EXPERT_NAME = re.compile(r"(^|\.)experts\.")
# Buffers some checkpoints store beside the weights; model.parameters() does not count them.
_BUFFER_SUFFIXES = ("rotary_emb.inv_freq", "e_score_correction_bias", "attn.masked_bias")
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit; anything larger is a corrupt file


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a .safetensors file: 8-byte little-endian length, then JSON.
    Reads a few KB however large the file is."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path.name}: too short for a safetensors file")
        (length,) = struct.unpack("<Q", raw)
        if length > _MAX_HEADER:
            raise ValueError(f"{path.name}: header length {length} is not plausible")
        header = json.loads(fh.read(length))
    if not isinstance(header, dict):
        raise ValueError(f"{path.name}: header is not a JSON object")
    return header


@dataclass(frozen=True)
class TensorCount:
    """Sums over a checkpoint's tensor table: what `sum(p.numel())` would say after loading."""

    parameters: int
    expert_params: int
    embedding_params: int  # embed_tokens / wte / lm_head, for the quantized-memory estimate
    dtype_elements: dict[str, int]

    @property
    def dtype(self) -> str | None:
        """The dtype most weights are stored in (norms are often kept in fp32)."""
        if not self.dtype_elements:
            return None
        return short_dtype(max(self.dtype_elements.items(), key=lambda kv: kv[1])[0])


_EMBEDDING_NAME = re.compile(r"(embed_tokens|wte|word_embeddings|lm_head|embed_out)\.weight$")


def count_safetensors(files: list[Path]) -> TensorCount:
    params = experts = embeddings = 0
    dtypes: dict[str, int] = {}
    for path in files:
        for name, info in read_safetensors_header(path).items():
            if name == "__metadata__" or not isinstance(info, dict):
                continue
            shape = info.get("shape") or []
            # GPT-2's old checkpoints store the causal mask as "h.N.attn.bias" (4-D).
            if name.endswith(_BUFFER_SUFFIXES) or (name.endswith("attn.bias") and len(shape) == 4):
                continue
            n = math.prod(shape)
            params += n
            if _EXPERT_NAME.search(name):
                experts += n
            if _EMBEDDING_NAME.search(name):
                embeddings += n
            dtype = str(info.get("dtype", "?"))
            dtypes[dtype] = dtypes.get(dtype, 0) + n
    return TensorCount(params, experts, embeddings, dtypes)


def safetensors_files(folder: Path) -> list[Path]:
    """The checkpoint's shard files: those named by `model.safetensors.index.json` if there
    is one (raising if a shard is missing: a partial download), else every *.safetensors."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = _read_json(index).get("weight_map") or {}
        names = sorted(set(weight_map.values()))
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise ValueError(f"{len(missing)} of {len(names)} weight shards are missing")
        return [folder / n for n in names]
    return sorted(folder.glob("*.safetensors"))


# -- chat templates ----------------------------------------------------------------------------


def folder_has_chat_template(folder: Path) -> bool:
    """True if the tokenizer ships a chat template: `chat_template.jinja` (Transformers >= 4.43
    writes it there), `chat_template.json`, a `chat_template` in tokenizer_config.json, or
    named templates under additional_chat_templates/."""
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    if (folder / "additional_chat_templates").is_dir():
        return True
    try:
        tok_cfg = _read_json(folder / "tokenizer_config.json")
    except (OSError, ValueError):
        return False
    return bool(isinstance(tok_cfg, dict) and tok_cfg.get("chat_template"))


# -- folders -----------------------------------------------------------------------------------


def read_config(folder: Path) -> dict[str, Any]:
    """config.json as a dict; FactsError with a readable reason if missing or broken."""
    path = folder / "config.json"
    try:
        cfg = _read_json(path)
    except FileNotFoundError:
        raise FactsError(f"{folder.name} has no config.json") from None
    except ValueError as exc:
        raise FactsError(f"config.json is not valid JSON: {exc}") from None
    except OSError as exc:
        raise FactsError(f"cannot read config.json: {exc.strerror or exc}") from None
    if not isinstance(cfg, dict):
        raise FactsError("config.json is not a JSON object")
    return cfg


def _quantization_label(cfg: dict[str, Any]) -> str | None:
    q = cfg.get("quantization_config")
    if not isinstance(q, dict):
        return None
    method = str(q.get("quant_method") or "quantized")
    bits = _as_int(q.get("bits"))
    if bits is None and q.get("load_in_4bit") is True:
        bits = 4
    elif bits is None and q.get("load_in_8bit") is True:
        bits = 8
    return f"{method} {bits}-bit" if bits else method


def facts_from_config(cfg: dict[str, Any]) -> ModelFacts:
    """Everything the config alone says, with parameters estimated from the shape."""
    s = _shape(cfg)
    problem = causal_lm_problem(cfg)
    archs = cfg.get("architectures") or []
    cfgs = _text_cfgs(cfg)
    estimate = estimate_params_from_config(cfg)
    tied = any(c.get("tie_word_embeddings") is True for c in cfgs)
    facts = ModelFacts(
        parameters=estimate[0] if estimate else None,
        param_source="config" if estimate else None,
        moe=moe_from_config(cfg),
        context_length=context_length_from_config(cfg),
        dtype=short_dtype(_first_str(cfgs, "dtype", "torch_dtype")),
        quantization=_quantization_label(cfg),
        architecture=archs[0] if archs and isinstance(archs[0], str) else None,
        model_type=cfg.get("model_type") if isinstance(cfg.get("model_type"), str) else None,
        is_causal_lm=problem is None,
        not_causal_reason=problem,
        num_layers=s.layers,
        num_kv_heads=s.kv_heads,
        head_dim=s.head_dim,
        kv_elements_per_token=kv_elements_per_token(cfg),
        unquantized_params=(s.vocab * s.hidden * (1 if tied else 2))
        if s.vocab and s.hidden
        else None,
    )
    return with_active(facts, estimate[1] if estimate else None)


def _first_str(cfgs: list[dict[str, Any]], *keys: str) -> str | None:
    for cfg in cfgs:
        for key in keys:
            if isinstance(cfg.get(key), str):
                return cfg[key]
    return None


def facts_from_folder(folder: Path, *, size_on_disk: int | None = None) -> ModelFacts:
    """Facts for a save_pretrained folder (or an HF cache snapshot). Raises FactsError only
    when config.json is missing or broken; a bad weights header becomes a warning and the
    parameter count falls back to the config estimate. `size_on_disk` skips the folder walk
    when the caller already knows it (the HF cache scan does)."""
    cfg = read_config(folder)
    facts = facts_from_config(cfg)
    warnings: list[str] = []
    counted: TensorCount | None = None
    weights_format: str | None = None
    try:
        files = safetensors_files(folder)
        if files:
            weights_format = "safetensors"
            counted = count_safetensors(files)
    except (OSError, ValueError) as exc:
        weights_format = "safetensors"
        warnings.append(f"cannot read the weights' headers ({exc}); sizes are estimated")
    if weights_format is None:
        if any(folder.glob("*.bin")) or any(folder.glob("*.pt")):
            weights_format = "bin"
        else:
            warnings.append("no weight files found (partial download?)")
    changes: dict[str, Any] = {
        "weights_format": weights_format,
        "has_chat_template": folder_has_chat_template(folder),
        "size_on_disk": folder_size(folder) if size_on_disk is None else size_on_disk,
    }
    # A packed quantized checkpoint (gptq/awq/bnb-4bit) stores several weights per int32 or
    # uint8 element, so its header count is meaningless; the config estimate stands.
    packed = facts.quantization is not None and not facts.quantization.startswith("fp8")
    if counted is not None and counted.parameters and not packed:
        changes.update(parameters=counted.parameters, param_source="safetensors")
        if counted.embedding_params:
            changes["unquantized_params"] = counted.embedding_params
        if counted.dtype:
            changes["dtype"] = counted.dtype
        # Expert tensors named in a way we do not recognise: keep the config's expert share.
        expert_params = counted.expert_params or (facts.moe.expert_params if facts.moe else None)
        facts = with_active(replace(facts, **changes), expert_params)
    else:
        facts = replace(facts, **changes)
    if facts.quantization:
        facts = replace(facts, dtype=facts.quantization)
    return replace(facts, warnings=tuple(warnings))


# -- GGUF --------------------------------------------------------------------------------------

# GGUF value types (the spec's numbering, also gguf.GGUFValueType): struct format per scalar.
_GGUF_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_GGUF_STRING, _GGUF_ARRAY = 8, 9
# GGUF architectures that are encoders or embedders, not chat models.
_GGUF_NOT_CAUSAL = frozenset(
    "bert nomic-bert nomic-bert-moe jina-bert-v2 t5 t5encoder clip".split()
)
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.I)


@dataclass
class GGUFHeader:
    """The metadata and tensor table at the front of a GGUF file. Arrays are kept only when
    short (per-layer head counts); the tokenizer's 100k-entry arrays are skipped unread."""

    metadata: dict[str, Any]
    tensors: list[tuple[str, tuple[int, ...], int]]  # name, shape, ggml type id


class _Cursor:
    """Reads little-endian GGUF fields from a memory map."""

    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.take("<Q")
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self.pos += 8 + struct.unpack_from("<Q", self.buf, self.pos)[0]

    def value(self, vtype: int) -> Any:
        if vtype in _GGUF_SCALARS:
            return self.take(_GGUF_SCALARS[vtype])
        if vtype == _GGUF_STRING:
            return self.string()
        if vtype == _GGUF_ARRAY:
            item_type, count = self.take("<I"), self.take("<Q")
            if count <= 256:
                return [self.value(item_type) for _ in range(count)]
            # Long arrays (vocab, merges, scores) are skipped: only their length matters here.
            if item_type in _GGUF_SCALARS:
                self.pos += count * struct.calcsize(_GGUF_SCALARS[item_type])
            elif item_type == _GGUF_STRING:
                for _ in range(count):
                    self.skip_string()
            else:
                for _ in range(count):
                    self.value(item_type)
            return _SkippedArray(count)
        raise ValueError(f"unknown GGUF value type {vtype}")


@dataclass(frozen=True)
class _SkippedArray:
    length: int


def read_gguf_header(path: Path) -> GGUFHeader:
    """Parse a GGUF header (v2/v3) in ~50 ms. gguf's own GGUFReader takes ~2.5 s on the bundled
    file because it materialises every tokenizer string as a numpy view; we only need a few
    keys and the tensor table, so this walks the same format and skips the arrays."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        cur = _Cursor(buf)
        if buf[:4] != b"GGUF":
            raise ValueError(f"{path.name} is not a GGUF file")
        cur.pos = 4
        version = cur.take("<I")
        if version not in (2, 3):
            raise ValueError(f"{path.name}: GGUF version {version} is not supported")
        n_tensors, n_kv = cur.take("<Q"), cur.take("<Q")
        metadata: dict[str, Any] = {}
        for _ in range(n_kv):
            key = cur.string()
            metadata[key] = cur.value(cur.take("<I"))
        tensors = []
        for _ in range(n_tensors):
            name = cur.string()
            dims = tuple(cur.take("<Q") for _ in range(cur.take("<I")))
            ggml_type = cur.take("<I")
            cur.take("<Q")  # data offset
            tensors.append((name, dims, ggml_type))
    return GGUFHeader(metadata, tensors)


def _ggml_type_name(type_id: int) -> str:
    try:
        import gguf  # the package's enum names the formats exactly as llama.cpp does

        return gguf.GGMLQuantizationType(type_id).name
    except (ImportError, ValueError):
        return f"type{type_id}"


def _gguf_file_type(meta: dict[str, Any], tensors: list[tuple[str, tuple[int, ...], int]]) -> str:
    """ "Q4_1" from general.file_type, else the type holding most elements."""
    file_type = meta.get("general.file_type")
    if isinstance(file_type, int):
        try:
            import gguf

            return gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_").replace("ALL_", "")
        except (ImportError, ValueError):
            pass
    counts: dict[int, int] = {}
    for _, dims, type_id in tensors:
        counts[type_id] = counts.get(type_id, 0) + math.prod(dims)
    return _ggml_type_name(max(counts, key=counts.__getitem__)) if counts else "?"


def gguf_shards(path: Path) -> list[Path]:
    """All files of a split GGUF ("-00001-of-00003.gguf") given its first, else [path]."""
    match = _SHARD.search(path.name)
    if not match:
        return [path]
    stem, count = path.name[: match.start()], int(match.group(2))
    return [path.with_name(f"{stem}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def is_secondary_shard(path: Path) -> bool:
    match = _SHARD.search(path.name)
    return bool(match and int(match.group(1)) != 1)


def facts_from_gguf(path: Path) -> ModelFacts:
    """Facts from a GGUF file's header: llama.cpp keys are prefixed by the architecture
    (`llama.context_length`); experts are the `*_exps` tensors, shared ones `*_shexp`."""
    try:
        header = read_gguf_header(path)
        shards = gguf_shards(path)
        tensors = list(header.tensors)
        for shard in shards[1:]:
            tensors += read_gguf_header(shard).tensors
    except (OSError, ValueError, struct.error) as exc:
        raise FactsError(f"cannot read GGUF header: {exc}") from None
    meta = header.metadata
    arch = str(meta.get("general.architecture") or "")

    def num(key: str) -> int | None:
        value = meta.get(f"{arch}.{key}")
        if isinstance(value, list):  # per-layer values (OpenELM): the largest bounds the cache
            value = max((v for v in value if isinstance(v, int)), default=None)
        return _as_int(value)

    params = experts = embeddings = 0
    for name, dims, _ in tensors:
        n = math.prod(dims)
        params += n
        if "_exps." in name:
            experts += n
        if name.startswith(("token_embd.", "output.")):
            embeddings += n
    layers, heads = num("block_count"), num("attention.head_count")
    kv_heads = num("attention.head_count_kv") or heads
    hidden = num("embedding_length")
    head_dim = num("attention.key_length") or (hidden // heads if hidden and heads else None)
    v_dim = num("attention.value_length") or head_dim
    moe = None
    n_experts, per_token = num("expert_count"), num("expert_used_count")
    if n_experts and n_experts > 1 and per_token:
        moe = MoEInfo(n_experts, min(per_token, n_experts), num("expert_shared_count") or 0)
    file_type = _gguf_file_type(meta, tensors)
    not_causal = (
        f"GGUF architecture '{arch}' is not a causal LM" if arch in _GGUF_NOT_CAUSAL else None
    )
    facts = ModelFacts(
        parameters=params or None,
        param_source="gguf",
        moe=moe,
        context_length=num("context_length"),
        has_chat_template=bool(meta.get("tokenizer.chat_template")),
        dtype=file_type,
        quantization=file_type,
        size_on_disk=sum(p.stat().st_size for p in shards if p.exists()),
        weights_format="gguf",
        architecture=arch or None,
        model_type=arch or None,
        is_causal_lm=not_causal is None,
        not_causal_reason=not_causal,
        num_layers=layers,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        kv_elements_per_token=(layers * kv_heads * (head_dim + v_dim))
        if layers and kv_heads and head_dim and v_dim
        else None,
        unquantized_params=embeddings or None,
    )
    return with_active(facts, experts)


def gguf_display_name(path: Path) -> str:
    """A readable name: general.name is often a training-run label ("Smollm2 135M 8k Lc100K"),
    so the file stem (what people downloaded and recognise) is used, minus shard suffixes."""
    return _SHARD.sub("", path.name).removesuffix(".gguf").removesuffix(".GGUF")
