"""The one table of weight dtypes, and the names each layer calls them by.

The same dtype has a name in each place it appears: tchat's `--dtype`, LoadSpec and the status
bar say "bf16"; torch calls it `torch.bfloat16`, and config.json's `torch_dtype` "bfloat16";
a safetensors header writes "BF16"; the estimates need its 2 bytes per weight. One row per
dtype keeps them in step: the backend, the draft loader and the picker each used to carry a
partial table of their own. No torch import: rows hold torch's attribute *names*.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dtype:
    """One dtype under all its names."""

    name: str  # tchat's short name, shown everywhere: "bf16"
    torch_name: str  # the attribute of torch, also config.json's spelling: "bfloat16"
    bytes_per_param: float
    loadable: bool = False  # one of --dtype's choices: the backend loads weights in it
    aliases: tuple[str, ...] = ()  # torch's aliases ("half") and safetensors' names ("F16")


DTYPES: tuple[Dtype, ...] = (
    Dtype("fp32", "float32", 4.0, True, ("float", "F32")),
    Dtype("bf16", "bfloat16", 2.0, True, ("BF16",)),
    Dtype("fp16", "float16", 2.0, True, ("half", "F16")),
    Dtype("fp64", "float64", 8.0, aliases=("F64",)),
    Dtype("fp8", "float8_e4m3fn", 1.0, aliases=("F8_E4M3",)),
    Dtype("fp8", "float8_e5m2", 1.0, aliases=("F8_E5M2",)),
    Dtype("int64", "int64", 8.0, aliases=("I64",)),
    Dtype("int32", "int32", 4.0, aliases=("I32",)),
    Dtype("int16", "int16", 2.0, aliases=("I16",)),
    Dtype("int8", "int8", 1.0, aliases=("I8",)),
    Dtype("uint8", "uint8", 1.0, aliases=("U8",)),
    Dtype("bool", "bool", 1.0, aliases=("BOOL",)),
)

_BY_SPELLING: dict[str, Dtype] = {}
for _row in DTYPES:
    for _spelling in (_row.name, _row.torch_name, *_row.aliases):
        _BY_SPELLING.setdefault(_spelling, _row)  # "fp8" finds the first fp8 row
_LOADABLE = {d.name: d for d in DTYPES if d.loadable}

# What `--dtype` may name besides "auto", in table order.
LOADABLE: tuple[str, ...] = tuple(_LOADABLE)


def lookup(name: str | None) -> Dtype | None:
    """The row for any spelling ("bf16", "bfloat16", "torch.bfloat16", "BF16"), else None.
    Spellings are matched exactly: "F16" is safetensors' name, "f16" is no one's."""
    if not name:
        return None
    return _BY_SPELLING.get(str(name).removeprefix("torch."))


def get(name: str) -> Dtype:
    """The row for `name`, which the caller knows is in the table (KeyError otherwise)."""
    found = lookup(name)
    if found is None:
        raise KeyError(name)
    return found


def short_dtype(name: str | None) -> str | None:
    """ "torch.bfloat16", "bfloat16" or "BF16" -> "bf16"; unknown names pass through, less any
    "torch." prefix; None for no name."""
    if not name:
        return None
    found = lookup(name)
    return found.name if found else str(name).removeprefix("torch.")


def loadable_name(name: str | None) -> str | None:
    """tchat's name for a dtype the backend can load in ("torch.float16" -> "fp16"), else None."""
    found = lookup(name)
    return found.name if found is not None and found.loadable else None


def torch_name(name: str) -> str:
    """torch's attribute for one of LOADABLE: "bf16" -> "bfloat16" (KeyError for others)."""
    return _LOADABLE[name].torch_name
