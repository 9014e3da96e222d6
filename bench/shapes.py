"""`python -m bench.shapes NAME OUT`: a random-weights model of a known shape, for GPU runs.

Why: a lent GPU box cannot download weights, and the bundled model's file is too big to carry
there with the rest of the tree. Decode speed depends on the shape (layers, widths, bytes per
weight), not on the values, so a model of the same shape with random weights, and the bundled
model's tokenizer, times the same. Its replies are noise; the bench checks only token counts
and that the fast path's greedy text equals plain generate's.

The tokenizer and base config come from `TOKENIZER_FROM` (a folder: the converted default
model in the user's or the test cache). Shapes are those of the SmolLM2 family's configs.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

# name: config fields over the SmolLM2-135M base (hidden, MLP, layers, heads, KV heads).
SHAPES: dict[str, dict[str, int]] = {
    "smollm2-135m": {},
    "smollm2-360m": dict(
        hidden_size=960,
        intermediate_size=2560,
        num_hidden_layers=32,
        num_attention_heads=15,
        num_key_value_heads=5,
    ),
    "smollm2-1.7b": dict(
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=24,
        num_attention_heads=32,
        num_key_value_heads=32,
    ),
}
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)


def _copy(names: tuple[str, ...], source: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)


def write_assets(source: Path, out: Path) -> None:
    """Copy the config and tokenizer (a few MB, no weights) from a converted model folder."""
    _copy(("config.json", *TOKENIZER_FILES), source, out)


def build(name: str, assets: Path, out: Path, dtype: str = "bfloat16") -> Path:
    """Random weights of shape `name`, with the tokenizer from `assets`, saved to `out`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(assets)
    for key, value in SHAPES[name].items():
        setattr(config, key, value)
    config.head_dim = config.hidden_size // config.num_attention_heads
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.save_pretrained(out)
    _copy(TOKENIZER_FILES, assets, out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.shapes", description=__doc__.splitlines()[0])
    p.add_argument("shape", choices=[*SHAPES, "assets"])
    p.add_argument("out", type=Path)
    p.add_argument("--from", dest="source", type=Path, required=True, help="model folder")
    args = p.parse_args()
    if args.shape == "assets":
        write_assets(args.source, args.out)
    else:
        print(build(args.shape, args.source, args.out))


if __name__ == "__main__":
    main()
