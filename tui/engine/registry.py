"""Backends by name, imported only when chosen: `--backend NAME` and config pick one.

Adding a backend is its own module plus one entry here. The import is deferred so that
choosing the fake backend never imports torch, and the first frame never waits for either.
"""

from __future__ import annotations

import importlib

from tui.engine.backend import Backend, EngineError, LoadSpec

# name -> "module:Class". Each class builds itself from the launch with `create(fast)`.
BACKENDS: dict[str, str] = {
    "transformers": "tui.engine.transformers_backend:TransformersBackend",
    "fake": "tui.engine.fake:FakeBackend",
    # A model served by vLLM, SGLang, llama-server or transformers serve (LoadSpec.endpoint).
    "remote": "tui.engine.remote.backend:RemoteBackend",
}


def names() -> tuple[str, ...]:
    return tuple(BACKENDS)


def name_for(spec: LoadSpec, local: str) -> str:
    """The backend that loads `spec`: "remote" for a served model, else `local` (the
    launch's --backend, or transformers when that was remote)."""
    if spec.endpoint is not None:
        return "remote"
    return "transformers" if local == "remote" else local


def backend_class(name: str) -> type[Backend]:
    """The class registered as `name` (imported now)."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise EngineError(
            f"No engine called '{name}'.", f"Pick one of: {', '.join(BACKENDS)}."
        ) from None
    module, _, cls = target.partition(":")
    found = getattr(importlib.import_module(module), cls)
    assert issubclass(found, Backend), target
    return found


def make_backend(name: str, fast: str = "auto") -> Backend:
    """A new backend of kind `name`; `fast` is the launch's --fast choice."""
    return backend_class(name).create(fast)
