"""Which files of a hub repo loading a model needs: one weight format, its configs, its tokenizer.

A model repo often holds the same weights two or three times: `model.safetensors` beside
`pytorch_model.bin`, an `original/` folder of consolidated checkpoints, ONNX or Flax exports,
a dozen GGUF quantizations. Downloading all of them would cost the user twice the disk and
twice the wait for nothing: `from_pretrained` reads one format. So the download takes the
small files at the top of the repo that configure the model and its tokenizer, and one weight
format: safetensors where there are any, else PyTorch `.bin`, else the one GGUF file asked for.
Where a weights index exists (`model.safetensors.index.json`), the shards it names are the
checkpoint; other weight files beside it are left out.

Pure functions over file names and sizes: no network, no disk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SAFETENSORS_INDEX = "model.safetensors.index.json"
BIN_INDEX = "pytorch_model.bin.index.json"

# Small top-level files that configure the model or its tokenizer, by extension; weights
# indexes are chosen with their weights, not here.
_CONFIG_SUFFIXES = (".json", ".txt", ".model", ".tiktoken", ".jinja", ".py")
# Folders whose files a tokenizer loads (named chat templates); everything else in a sub-folder
# (original/, onnx/, openvino/, ...) is another format of the same model.
_CONFIG_FOLDERS = ("additional_chat_templates/",)
# `.bin` files that are not weights.
_NOT_BIN_WEIGHTS = ("training_args.bin", "optimizer.bin", "scheduler.bin", "rng_state.bin")
_GGUF_SHARD = re.compile(r"^(?P<stem>.+)-(?P<k>\d{5})-of-(?P<n>\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class Selection:
    """The files to fetch (name -> size), the weight format chosen, and what was left out."""

    files: dict[str, int]
    weights_format: str  # "safetensors" | "bin" | "gguf"
    skipped: tuple[str, ...] = ()


class SelectionError(ValueError):
    """The repo has nothing tchat can load (or a GGUF repo with no file named): the message
    says what it has."""


def index_to_read(files: Mapping[str, int]) -> str | None:
    """The weights index whose `weight_map` decides the shards, if the repo has one."""
    if SAFETENSORS_INDEX in files:
        return SAFETENSORS_INDEX
    if not _top(files, ".safetensors") and BIN_INDEX in files:
        return BIN_INDEX
    return None


def gguf_files(files: Mapping[str, int]) -> list[str]:
    """The GGUF quantizations in the repo (first shards only), for a message or a chooser."""
    names = [n for n in files if n.lower().endswith(".gguf")]
    firsts = []
    for name in names:
        shard = _GGUF_SHARD.match(name.rsplit("/", 1)[-1])
        if shard is None or int(shard["k"]) == 1:
            firsts.append(name)
    return sorted(firsts)


def select_files(
    files: Mapping[str, int],
    weight_map: Mapping[str, str] | None = None,
    gguf_file: str | None = None,
) -> Selection:
    """Choose from `files` (repo path -> size) what loading needs. `weight_map` is the
    index's map (tensor -> shard) when `index_to_read` named one; `gguf_file` picks one GGUF
    quantization (with its split shards) in a repo of GGUF files."""
    if gguf_file is not None:
        return _select_gguf(files, gguf_file)
    chosen = {n: s for n, s in files.items() if _is_config(n)}
    if "config.json" not in files:
        ggufs = gguf_files(files)
        if ggufs:
            listed = ", ".join(g.rsplit("/", 1)[-1] for g in ggufs[:6])
            more = f" and {len(ggufs) - 6} more" if len(ggufs) > 6 else ""
            raise SelectionError(
                f"this repo holds GGUF files only ({listed}{more}): choose one of them"
            )
        raise SelectionError("this repo has no config.json: it is not a Transformers model")
    weights, fmt = _weights(files, weight_map)
    if not weights:
        raise SelectionError("this repo has no safetensors or PyTorch weights at its top level")
    chosen.update(weights)
    skipped = tuple(sorted(n for n in files if n not in chosen))
    return Selection(chosen, fmt, skipped)


def _top(files: Mapping[str, int], suffix: str) -> list[str]:
    return [n for n in files if "/" not in n and n.lower().endswith(suffix)]


def _is_config(name: str) -> bool:
    if name in (SAFETENSORS_INDEX, BIN_INDEX):
        return False
    if name.startswith(_CONFIG_FOLDERS):
        return True
    return "/" not in name and name.lower().endswith(_CONFIG_SUFFIXES)


def _weights(
    files: Mapping[str, int], weight_map: Mapping[str, str] | None
) -> tuple[dict[str, int], str]:
    safetensors = _top(files, ".safetensors")
    if safetensors:
        return _from_index_or_all(files, safetensors, SAFETENSORS_INDEX, weight_map), "safetensors"
    bins = [n for n in _top(files, ".bin") if n not in _NOT_BIN_WEIGHTS]
    return _from_index_or_all(files, bins, BIN_INDEX, weight_map), "bin"


def _from_index_or_all(
    files: Mapping[str, int],
    candidates: list[str],
    index: str,
    weight_map: Mapping[str, str] | None,
) -> dict[str, int]:
    if index in files and weight_map:
        shards = {str(v) for v in weight_map.values()}
        chosen = {n: files[n] for n in candidates if n in shards}
        if chosen:
            chosen[index] = files[index]
            return chosen
    # No index: one file, or a set of shards beside a consolidated copy (Mistral's layout).
    kept = [n for n in candidates if not n.startswith("consolidated")] or candidates
    return {n: files[n] for n in kept}


def _select_gguf(files: Mapping[str, int], gguf_file: str) -> Selection:
    if gguf_file not in files:
        raise SelectionError(f"this repo has no file {gguf_file}")
    chosen = {gguf_file: files[gguf_file]}
    folder, _, base = gguf_file.rpartition("/")
    shard = _GGUF_SHARD.match(base)
    if shard is not None:
        prefix = f"{folder}/" if folder else ""
        pattern = re.compile(
            re.escape(prefix + shard["stem"]) + r"-\d{5}-of-" + shard["n"] + r"\.gguf$",
            re.IGNORECASE,
        )
        chosen.update({n: s for n, s in files.items() if pattern.match(n)})
    skipped = tuple(sorted(n for n in files if n not in chosen))
    return Selection(chosen, "gguf", skipped)
