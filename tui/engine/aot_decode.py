"""The CPU's compiled decode step as an AOTInductor package: compiled once, loaded in seconds.

Why: on the CPU what makes a decode step fast is inductor's C++ micro-GEMM on *frozen* weights
(packed into its layout at compile time, see fast_path.py), and inductor's on-disk caches do
not keep frozen graphs, so `torch.compile` paid 70-100 s of compile at every launch. An
AOTInductor package is the compiled step itself, frozen weights included: a shared library plus
its constants in one `.pt2` file. Built once per model, cache size and machine (step_store.py
keys and keeps them), a later launch loads it in a few seconds and decodes at compiled speed
from its first reply.

What is compiled: one decode step, `DecodeStep`: (token, position, the static KV cache's
tensors) -> next-token logits, the cache written in place. The prefill stays eager: prompts
vary in length, and one prefill per reply costs little. `generate` still runs the loop
(logits processors, stopping criteria, the streamer are unchanged): the step plugs in where
transformers would call its own compiled forward (`attach`), so greedy text is that of the
model with the same weights and kernels.

Requires a transformers whose StaticCache keeps its fill as a tensor per layer
(`cumulative_length`, 5.x); `supported` says when not.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]

# The inductor settings a package is compiled with: frozen weights, C++ GEMM templates.
INDUCTOR_CONFIGS = {
    "freezing": True,
    "max_autotune": True,
    "max_autotune_gemm_backends": "CPP,ATEN",
    "max_autotune_report_choices_stats": False,
}


def supported(model: Any) -> str | None:
    """None when a decode step of this model can be exported, else why not (for the user)."""
    try:
        from transformers import StaticCache
    except ImportError:
        return "this transformers has no StaticCache"
    try:
        cache = StaticCache(config=model.config, max_cache_len=16)
    except Exception as exc:  # noqa: BLE001 - a model family without a static cache
        return f"no static cache for this model ({type(exc).__name__})"
    layers = getattr(cache, "layers", None)
    if not layers or any(type(layer).__name__ != "StaticLayer" for layer in layers):
        return "its cache layers are not plain static ones (sliding window or hybrid)"
    if not all(hasattr(layer, "cumulative_length") for layer in layers):
        return "this transformers' static cache has no per-layer length (needs 5.x)"
    return None


def example_cache(model: Any, bucket: int) -> Any:
    """A static cache of `bucket` tokens, its layers allocated by one eager token: the shapes
    and dtypes a reply's cache will have after its prefill."""
    import torch
    from transformers import StaticCache

    with torch.no_grad():
        cache = StaticCache(config=model.config, max_cache_len=bucket)
        ids = torch.zeros((1, 1), dtype=torch.long, device=model.device)
        model(input_ids=ids, cache=cache, use_cache=True)
    layer: Any
    for layer in cache.layers:
        layer.cumulative_length.zero_()
    return cache


def _decode_step_class() -> Any:
    import torch

    class DecodeStep(torch.nn.Module):
        """One token through the model against a static cache given as plain tensors.

        The token comes in embedded (the Runner looks it up, eagerly): the embedding table
        then stays out of the package, which would otherwise hold a second copy of it. The
        cache object `generate` keeps is rebuilt here around the tensors passed in, so
        that the model's own attention code writes them (`index_copy_` at `position`); the
        export records those writes as in-place updates of the inputs."""

        def __init__(self, model: Any, template: Any) -> None:
            super().__init__()
            self.model = model
            self.template = template

        def forward(self, inputs_embeds: Any, position: Any, *kv: Any) -> Any:
            cache = copy.copy(self.template)
            layers = []
            for i, layer in enumerate(self.template.layers):
                mine = copy.copy(layer)
                mine.keys, mine.values = kv[2 * i], kv[2 * i + 1]
                mine.cumulative_length = position.reshape(()).clone()
                layers.append(mine)
            cache.layers = layers
            out = self.model(
                inputs_embeds=inputs_embeds,
                position_ids=position.reshape(1, 1),
                cache=cache,
                use_cache=True,
            )
            return out.logits[:, -1, :]

    return DecodeStep


def cache_tensors(cache: Any) -> list[Any]:
    """The step's cache inputs, in order: keys then values of each layer."""
    tensors = []
    for layer in cache.layers:
        tensors += [layer.keys, layer.values]
    return tensors


def build(model: Any, bucket: int, target: Path, progress: ProgressFn | None = None) -> float:
    """Export the decode step for a `bucket`-token cache and compile it into `target` (.pt2).

    Blocking (minutes on a small CPU: export, autotuning each matmul shape, a C++ build).
    Written to a temporary name and renamed, so a package on disk is always whole. Returns the
    seconds it took."""
    import torch
    from torch._inductor import select_algorithm

    report = progress or (lambda _f, _t: None)
    started = time.perf_counter()
    report(0.02, "preparing")
    template = example_cache(model, bucket)
    step = _decode_step_class()(model, template).eval()
    ids = torch.zeros((1, 1), dtype=torch.long, device=model.device)
    with torch.no_grad():
        embeds = model.get_input_embeddings()(ids)
    position = torch.zeros((1,), dtype=torch.long, device=model.device)
    report(0.05, "exporting the decode step")
    with torch.no_grad(), _quiet():
        exported = torch.export.export(
            step, (embeds, position, *cache_tensors(template)), strict=False
        )
    # Each matmul shape is autotuned once; the count is known (one per Linear layer).
    matmuls = max(
        1, sum(1 for m in model.modules() if isinstance(m, torch.nn.Linear) or hasattr(m, "packed"))
    )
    done = [0]

    def tuned(*_args: Any, **_kwargs: Any) -> None:
        done[0] += 1
        if done[0] >= matmuls:  # the rest is code generation and the C++ build
            report(0.8, "building the C++ library")
        else:
            report(0.25 + 0.55 * done[0] / matmuls, "autotuning matmuls")

    report(0.25, "compiling kernels")
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.pt2")  # AOTI wants ".pt2"
    select_algorithm.PRINT_AUTOTUNE = False
    select_algorithm.add_feedback_saver(tuned)
    try:
        with torch.no_grad(), _quiet():
            torch._inductor.aoti_compile_and_package(
                exported, package_path=str(tmp), inductor_configs=dict(INDUCTOR_CONFIGS)
            )
        os.replace(tmp, target)
    finally:
        select_algorithm.clear_feedback_savers()
        with contextlib.suppress(OSError):
            tmp.unlink()
    report(1.0, "compiled")
    return time.perf_counter() - started


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Export and inductor warn about deprecated storage APIs they use themselves: noise on
    stderr, which would scribble over a full-screen UI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class Runner:
    """A loaded package, called by `generate` in place of the model for decode steps.

    `generate` calls it with the model's keyword arguments; it needs only the new token and
    the static cache (whose fill, kept per layer, gives the position), and returns what the
    model would: logits for the one new token, and the same cache, one token longer."""

    def __init__(self, compiled: Any, bucket: int, embed: Any) -> None:
        self.compiled = compiled
        self.bucket = bucket
        self.embed = embed  # the model's input embedding (a lookup, eager)
        self._lock = threading.Lock()

    def __call__(self, input_ids: Any = None, cache: Any = None, **_kwargs: Any) -> Any:
        from transformers.modeling_outputs import CausalLMOutputWithPast

        layers = cache.layers
        position = layers[0].cumulative_length.reshape(1)
        embeds = self.embed(input_ids)
        with self._lock:  # one package, one set of scratch buffers
            logits = self.compiled(embeds, position, *cache_tensors(cache))
        for layer in layers:
            layer.cumulative_length.add_(1)
        return CausalLMOutputWithPast(logits=logits.unsqueeze(1), cache=cache)


def load(path: Path, bucket: int, model: Any) -> Runner:
    """Load a package built by `build` (seconds: a shared library and its constants)."""
    import torch

    with _quiet():
        compiled = torch._inductor.aoti_load_package(str(path))
    return Runner(compiled, bucket, model.get_input_embeddings())


def storage_of(model: Any) -> str:
    """How the weights are stored, for the package's key: 'int4' or the dtype ('fp32')."""
    if getattr(model, "tchat_int4", False):
        return "int4"
    return str(getattr(model, "dtype", "")).replace("torch.", "") or "unknown"


def step_config(runner: Runner) -> Any:
    """The `compile_config` a reply passes to `generate` to decode with `runner`."""
    config = _step_config_class()(fullgraph=False, dynamic=False)
    # transformers compiles automatically only on accelerators; this flag allows the CPU.
    config._compile_all_devices = True
    config.tchat_runner = runner
    return config


@functools.cache
def _step_config_class() -> Any:
    from transformers import CompileConfig

    class StepConfig(CompileConfig):  # type: ignore[misc]
        """A compile config that carries a loaded package. `generate` may deep-copy its
        settings; the package is shared, never copied."""

        def __deepcopy__(self, memo: dict[int, Any]) -> StepConfig:
            return self

    return StepConfig


def attach(model: Any) -> None:
    """Make `generate` decode with the package a reply's StepConfig carries.

    transformers asks `model.get_compiled_call(compile_config)` for the forward it calls at
    each decode step (and compiles one itself there); this wraps that method on the instance
    so that a StepConfig answers with its Runner, and any other config is served as before."""
    if getattr(model, "_tchat_step_hook", False):
        return
    original = model.get_compiled_call

    def get_compiled_call(config: Any) -> Any:
        runner = getattr(config, "tchat_runner", None)
        return runner if runner is not None else original(config)

    model.get_compiled_call = get_compiled_call
    model._tchat_step_hook = True
