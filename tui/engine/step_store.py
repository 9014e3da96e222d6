"""Where compiled decode steps live on disk, and what a package must match to be used.

A package (aot_decode.py) holds machine code and frozen weights, so it is only valid for the
exact model (its weights, not its name: a fine-tune under the same path must not reuse it),
the way the weights are stored (fp32, 4-bit), the cache size, the thread count it was tuned
for, the torch and transformers that built it, and this CPU (a package built for AVX-512 must
never run on an AVX2 machine). All of these go into its key; a package whose key differs is
simply another file.

Layout: `$XDG_CACHE_HOME/tchat/compiled/<key>.so` (the package's shared library, frozen
weights inside; aot_decode.py says why not the `.pt2`) with `<key>.json` beside it (what it is,
how long it took to build, for the bench and the curious). Old packages are pruned, least
recently used first, past `KEEP_BYTES`. Two tchat processes never build the same package at
once: the builder holds `<key>.lock` (an OS file lock, released if it dies).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui import paths

# Bump when DecodeStep's inputs or outputs change: older packages then no longer match.
FORMAT = 3
# The compiled folder's budget: a default-model package is 0.2 GB in 4-bit, 0.6 GB in fp32.
KEEP_BYTES = 8 << 30
# Values sampled per tensor for the weights' fingerprint.
SAMPLES = 1024


def folder() -> Path:
    return paths.ensure_private_dir(paths.cache_dir() / "compiled")


def fingerprint(model: Any) -> str:
    """A digest of the model's weights as loaded: names, shapes, dtypes and a sample of values
    from every tensor (evenly spaced, up to SAMPLES per tensor). Cheap (no full read of the
    weights), and any other checkpoint (a fine-tune, another quantization) differs in its
    samples; where the weights came from does not matter (the same weights saved again, or
    moved, keep their package)."""
    import torch

    digest = hashlib.sha256()
    with torch.no_grad():
        for name, tensor in sorted(model.state_dict().items()):
            flat = tensor.detach().reshape(-1)
            step = max(1, flat.numel() // SAMPLES)
            sample = flat[::step][:SAMPLES].to(torch.float64).tolist() if flat.numel() else []
            digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|{sample}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class StepKey:
    """Everything a package must match, and its digest (the file name)."""

    fields: dict[str, Any]

    @property
    def digest(self) -> str:
        text = json.dumps(self.fields, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def package(self) -> Path:
        return folder() / f"{self.digest}.so"

    @property
    def meta(self) -> Path:
        return folder() / f"{self.digest}.json"


def key_for(model: Any, weights: str, bucket: int, threads: int, print_: str = "") -> StepKey:
    """The key of the decode step of `model` (already fingerprinted as `print_`, or now)."""
    import torch
    import transformers

    from tui.hardware import cpu_features

    return StepKey(
        {
            "format": FORMAT,
            "weights": print_ or fingerprint(model),
            "architecture": type(model).__name__,
            "config": hashlib.sha256(model.config.to_json_string().encode()).hexdigest()[:16],
            "storage": weights,
            "bucket": bucket,
            "threads": threads,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
            "cpu": cpu_features.read().key(),
        }
    )


def ready(key: StepKey) -> bool:
    return key.package.is_file()


def write_meta(key: StepKey, **facts: Any) -> None:
    """What the package is and how it was made, beside it (atomically)."""
    data = {"key": key.fields, "created": time.time(), **facts}
    tmp = key.meta.with_name(f".{key.meta.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, key.meta)


def read_meta(key: StepKey) -> dict[str, Any]:
    try:
        data = json.loads(key.meta.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def touch(key: StepKey) -> None:
    """Mark a package as just used (pruning keeps the recently used ones)."""
    with contextlib.suppress(OSError):
        os.utime(key.package)


def discard(key: StepKey) -> None:
    """Remove a package and its record (one that failed to load)."""
    for path in (key.package, key.meta):
        with contextlib.suppress(OSError):
            path.unlink()


def prune(keep: Path | None = None, budget: int = KEEP_BYTES) -> list[Path]:
    """Delete the least recently used packages past `budget` bytes (never `keep`)."""
    try:
        packages = sorted(folder().glob("*.so"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    total, removed = 0, []
    for package in packages:
        try:
            size = package.stat().st_size
        except OSError:
            continue
        total += size
        if total > budget and package != keep:
            for path in (package, package.with_suffix(".json")):
                with contextlib.suppress(OSError):
                    path.unlink()
            removed.append(package)
    return removed


@contextlib.contextmanager
def build_lock(key: StepKey) -> Iterator[bool]:
    """Hold `<key>.lock` while building. Yields False if another process holds it (it is
    building that same package: wait for it with `wait_for_builder`, or do something else)."""
    lock = folder() / f"{key.digest}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        except ImportError:  # not a POSIX system: no cross-process lock, build anyway
            pass
        yield True
    finally:
        os.close(fd)


def wait_for_builder(key: StepKey) -> None:
    """Block until no process holds `<key>.lock` (the other builder finished or died)."""
    lock = folder() / f"{key.digest}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except ImportError:
        pass
    finally:
        os.close(fd)
