"""Facts for a model folder (save_pretrained layout or an HF cache snapshot).

Puts together what the folder's small files say: config.json (`config_facts`), the
safetensors headers (`safetensors_header`, shards named by the index), whether the tokenizer
ships a chat template, and the size on disk. All functions block on file I/O: call them from
a thread worker.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from tui.models.config_facts import facts_from_config
from tui.models.errors import FactsError
from tui.models.facts import ModelFacts, with_active
from tui.models.safetensors_header import TensorCount, count_safetensors


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
