"""A model's own generation defaults: its `generation_config.json`.

Model makers ship the sampling values their model was tuned for (Qwen3: temperature 0.6,
top_p 0.95, top_k 20; Llama 3: 0.6 / 0.9) and the ids that end a turn (Llama 3's `<|eot_id|>`
besides `<|end_of_text|>`, gpt-oss's `<|return|>` and `<|call|>`). tchat takes the sampling
values for a new chat unless the user set them (tui/chat/sampling.py), and stops a reply on
every end-of-turn id.

Only the keys the file states count: transformers fills a `GenerationConfig` with its own
defaults (temperature 1.0, top_k 50, ...), which are not the model's recommendation. No torch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

FILE = "generation_config.json"


def _ok(name: str, value: Any) -> bool:
    """A value tchat's settings accept (the session file's own rules, tui/store/codec.py)."""
    if name == "do_sample":
        return isinstance(value, bool)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if name in ("top_k", "max_new_tokens"):
        return isinstance(value, int) and value >= (1 if name == "max_new_tokens" else 0)
    if not math.isfinite(value):
        return False
    if name == "top_p":
        return 0 < value <= 1
    if name == "repetition_penalty":
        return value > 0
    return name == "temperature" and value >= 0


SAMPLING = ("do_sample", "temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens")


def sampling_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The sampling values a generation config states, by GenerationSettings name."""
    out: dict[str, Any] = {}
    for name in SAMPLING:
        value = config.get(name)
        if value is not None and _ok(name, value):
            out[name] = float(value) if name in ("temperature", "top_p") else value
    if out.get("temperature") == 0:  # "temperature 0" in a config means greedy
        out.pop("temperature")
        out["do_sample"] = False
    if "repetition_penalty" in out:
        out["repetition_penalty"] = float(out["repetition_penalty"])
    return out


def read_file(source: str, gguf: bool = False) -> dict[str, Any]:
    """The generation config a model folder or cached hub repo ships ({} when none)."""
    path: Path | None = None
    folder = Path(source).expanduser()
    if folder.is_dir():
        path = folder / FILE
    elif not gguf and source.count("/") == 1:
        try:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(source, FILE)
        except Exception:  # noqa: BLE001 - no defaults is a fine answer
            found = None
        path = Path(found) if isinstance(found, str) else None
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def end_ids(config: dict[str, Any], *more: int | list[int] | None) -> list[int]:
    """Every end-of-turn id: the config's `eos_token_id` (one or a list) and `more`."""
    ids: set[int] = set()
    for value in (config.get("eos_token_id"), *more):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
                ids.add(item)
    return sorted(ids)
