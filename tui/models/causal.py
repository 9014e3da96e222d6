"""Which models tchat can chat with: causal LMs, decided from config.json alone.

The picker hides encoders, seq2seq and vision wrappers instead of letting a load fail after
minutes. The rule follows what `AutoModelForCausalLM` would load, read from transformers'
source text rather than imported (importing its auto mapping costs ~2.5 s and torch).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

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
