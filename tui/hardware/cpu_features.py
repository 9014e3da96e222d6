"""What this CPU can do for a decode step: its model name and the vector units that matter.

Why: on a CPU, which kernels run (and how fast a 4-bit or compiled path is) depends on the
instruction sets far more than on the clock: AVX2 vs AVX-512, AVX-512 VNNI (int8 dot
products, what llama.cpp's 4-bit kernels use), AVX-512 BF16 (bitsandbytes repacks its 4-bit
weights for it), AMX (tile matmuls on newer Xeons). Two machines that both say "2 cores" can
differ by 2x. The bench's machine line names them, and the compiled decode steps cached on
disk are keyed by them (a package built for AVX-512 must not run on an AVX2 machine).

Read from /proc/cpuinfo (Linux); elsewhere only the model name from `platform`. No torch.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import cache

# The flags that change which kernels can run, as /proc/cpuinfo spells them.
_KNOWN = (
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU's model name, logical cores, and the kernel-relevant flags it has."""

    model: str
    cores: int
    flags: frozenset[str]

    def has(self, flag: str) -> bool:
        return flag in self.flags

    def summary(self) -> str:
        """'AVX2, AVX-512 (+VNNI, no BF16), no AMX': what the README and the bench print."""
        parts = ["AVX2" if self.has("avx2") else "no AVX2"]
        if self.has("avx512f"):
            extras = [
                "+VNNI" if self.has("avx512_vnni") else "no VNNI",
                "+BF16" if self.has("avx512_bf16") else "no BF16",
            ]
            parts.append(f"AVX-512 ({', '.join(extras)})")
        else:
            parts.append("no AVX-512")
        if self.has("amx_tile"):
            kinds = [k for k in ("bf16", "int8") if self.has(f"amx_{k}")]
            parts.append("AMX (" + ", ".join(kinds) + ")" if kinds else "AMX")
        else:
            parts.append("no AMX")
        return ", ".join(parts)

    def key(self) -> str:
        """A short stable text for cache keys: the model and the sorted known flags."""
        return f"{self.model}|{self.cores}|{','.join(sorted(self.flags))}"


@cache
def read() -> CpuFeatures:
    """This machine's CPU (cached: it does not change while tchat runs)."""
    model = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "model name" and model in ("", platform.machine()):
                    model = value.strip()
                elif name == "flags" and not flags:
                    flags = set(value.split())
                if flags and model:
                    break
    except OSError:
        pass
    return CpuFeatures(model=model, cores=os.cpu_count() or 1, flags=frozenset(flags & set(_KNOWN)))
