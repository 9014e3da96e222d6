"""The CPU's compiled decode step, ahead of time (AOTInductor): compiled once, loaded in 0.4 s.

Why: on the CPU what makes a decode step fast is inductor's C++ micro-GEMM on *frozen* weights
(packed into its layout at compile time, see fast_path.py), and inductor's on-disk caches do
not keep frozen graphs, so `torch.compile` paid 70-100 s of compile at every launch. AOTInductor
compiles the step itself into a shared library with the frozen weights inside it. Built once
per model, cache size and machine (step_store.py keys and keeps them), a later launch maps it
and decodes at compiled speed from its first reply.

What is compiled: one decode step, `DecodeStep`: (the token's embedding, its position, a length
that says how much of the cache is filled, the static KV cache's tensors) -> next-token logits,
the cache written in place. The length is a dynamic size of the export, so attention reads and
attends over the tokens so far only, not over the whole cache (a 1,024-token fp32 cache is 47
MB a step for the default model, more than its 4-bit weights). The prefill stays eager:
prompts vary in length, and one prefill per reply costs little. `generate` still runs the loop
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
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ProgressFn = Callable[[float, str], None]

# The inductor settings a package is compiled with: frozen weights, C++ GEMM templates.
INDUCTOR_CONFIGS = {
    "freezing": True,
    "max_autotune": True,
    "max_autotune_gemm_backends": "CPP,ATEN",
    "max_autotune_report_choices_stats": False,
    # The frozen weights inside the shared library: one file, mapped when it is loaded.
    "aot_inductor.package_constants_in_so": True,
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


def _visible_layer_class() -> Any:
    from transformers.cache_utils import StaticLayer

    class VisibleLayer(StaticLayer):  # type: ignore[misc]
        """A static cache layer that writes its full buffer and lets attention see only its
        filled part: `visible` tokens (a size the export keeps symbolic), so a step reads and
        attends over the tokens so far, not over the whole cache. Everything else is
        StaticLayer's."""

        visible: Any = None

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
            keys: Any = self.keys
            values: Any = self.values
            at = self.cumulative_length.reshape(1)
            keys.index_copy_(2, at, key_states)
            values.index_copy_(2, at, value_states)
            self.cumulative_length.add_(key_states.shape[-2])
            return keys[:, :, : self.visible], values[:, :, : self.visible]

        def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
            return self.visible, 0

    return VisibleLayer


def _decode_step_class() -> Any:
    import torch

    visible_layer = _visible_layer_class()

    class DecodeStep(torch.nn.Module):
        """One token through the model against a static cache given as plain tensors.

        The token comes in embedded (the Runner looks it up, eagerly): the embedding table
        then stays out of the package, which would otherwise hold a second copy of it. The
        cache object `generate` keeps is rebuilt here around the tensors passed in, so that
        the model's own attention code writes them (`index_copy_` at `position`); the export
        records those writes as in-place updates of the inputs. `visible` is a tensor whose
        length (position + 1) is what attention reads of the cache: a dynamic size of the
        export, so one package serves every fill of its cache."""

        def __init__(self, model: Any, template: Any) -> None:
            super().__init__()
            self.model = model
            self.template = template

        def forward(self, inputs_embeds: Any, position: Any, visible: Any, *kv: Any) -> Any:
            cache = copy.copy(self.template)
            layers = []
            for i, layer in enumerate(self.template.layers):
                mine = visible_layer.__new__(visible_layer)
                mine.__dict__.update(layer.__dict__)
                mine.keys, mine.values = kv[2 * i], kv[2 * i + 1]
                mine.cumulative_length = position.reshape(()).clone()
                mine.visible = visible.shape[0]
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
    """Export the decode step for a `bucket`-token cache and compile it into `target`: the
    shared library of an AOTInductor package (frozen weights inside it).

    Blocking (minutes on a small CPU: export, autotuning each matmul shape, a C++ build).
    Written to a temporary name and renamed, so a library on disk is always whole. Returns the
    seconds it took.

    Why the library and not the `.pt2` package around it: loading a package unzips it (the
    weights too) into a temporary folder at every launch, 4 s for the default model's fp32
    step here, against 0.4 s to map the library itself."""
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
    position = torch.full((1,), 7, dtype=torch.long, device=model.device)
    visible = torch.zeros((8,), device=model.device)
    kv = cache_tensors(template)
    # At most bucket - 1: a reply that fits its cache (prompt + new tokens <= bucket) never
    # feeds its last token back, and a full-size slice would be a special case of its own.
    length = torch.export.Dim("visible", min=2, max=bucket - 1)
    report(0.05, "exporting the decode step")
    with torch.no_grad(), _quiet():
        exported = torch.export.export(
            step,
            (embeds, position, visible, *kv),
            dynamic_shapes=(None, None, {0: length}, (None,) * len(kv)),
            strict=False,
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
    tmp_so = target.with_name(f".{target.stem}.{os.getpid()}.tmp.so")
    select_algorithm.PRINT_AUTOTUNE = False
    select_algorithm.add_feedback_saver(tuned)
    try:
        with torch.no_grad(), _quiet():
            torch._inductor.aoti_compile_and_package(
                exported, package_path=str(tmp), inductor_configs=dict(INDUCTOR_CONFIGS)
            )
        report(0.98, "writing the compiled step")
        _extract_library(tmp, tmp_so)
        os.replace(tmp_so, target)
    finally:
        select_algorithm.clear_feedback_savers()
        for leftover in (tmp, tmp_so):
            with contextlib.suppress(OSError):
                leftover.unlink()
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
        import torch

        self.compiled = compiled
        self.bucket = bucket
        self.embed = embed  # the model's input embedding (a lookup, eager)
        self._lock = threading.Lock()
        # `visible` inputs are views of this: only their length matters.
        self._lengths = torch.zeros((bucket,), device=getattr(embed.weight, "device", None))

    def __call__(self, input_ids: Any = None, cache: Any = None, **_kwargs: Any) -> Any:
        from transformers.modeling_outputs import CausalLMOutputWithPast

        inputs = getattr(cache, "_tchat_step_inputs", None)
        if inputs is None:
            # Once per reply, after its eager prefill: from here on only this step writes the
            # cache, so the layers can share one fill counter (one add per token, not one per
            # layer) and the list of cache tensors is made once.
            layers = cache.layers
            for layer in layers[1:]:
                layer.cumulative_length = layers[0].cumulative_length
            inputs = (layers[0].cumulative_length, cache_tensors(cache))
            cache._tchat_step_inputs = inputs
        filled, kv = inputs
        position = filled.reshape(1)
        visible = self._lengths[: int(filled) + 1]
        embeds = self.embed(input_ids)
        with self._lock:  # one library, one set of scratch buffers
            (logits,) = self.compiled.run([embeds, position, visible, *kv])
        filled.add_(1)
        return CausalLMOutputWithPast(logits=logits.unsqueeze(1), cache=cache)


def _extract_library(package: Path, target: Path) -> None:
    """Copy the model's shared library out of an AOTInductor package (a zip file)."""
    import shutil
    import zipfile

    with zipfile.ZipFile(package) as archive:
        names = [n for n in archive.namelist() if n.endswith(".so") and "/aotinductor/" in n]
        if len(names) != 1:
            raise RuntimeError(f"expected one library in the package, found {len(names)}")
        with archive.open(names[0]) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 16 << 20)


def load(path: Path, bucket: int, model: Any) -> Runner:
    """Load a library built by `build`: mapped, its constants (the frozen weights) in it."""
    import torch

    with _quiet():
        compiled = torch._C._aoti.AOTIModelContainerRunnerCpu(str(path), 1)
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
    so that a StepConfig answers with its Runner, and any other config is served as before.
    It also wraps `prepare_inputs_for_generation`, so the Runner's steps skip inputs it never
    reads. (Both are transformers' own overridable model methods; tests/unit/
    test_compiled_steps.py holds the greedy text of a compiled reply to the eager one's.)"""
    if getattr(model, "_tchat_step_hook", False):
        return
    original = model.get_compiled_call
    prepare = model.prepare_inputs_for_generation

    def get_compiled_call(config: Any) -> Any:
        runner = getattr(config, "tchat_runner", None)
        return runner if runner is not None else original(config)

    def prepare_inputs_for_generation(input_ids: Any, *args: Any, **kwargs: Any) -> Any:
        # A step the Runner decodes (its cache says so: the Runner marks it at its first
        # step) reads only the new token and the cache: the 4D mask and positions generate
        # would build for the model were thrown away, at 0.6 ms a token (bench decode_gap).
        cache = kwargs.get("cache")
        if getattr(cache, "_tchat_step_inputs", None) is not None:
            return {"input_ids": input_ids[:, -1:], "cache": cache, "use_cache": True}
        return prepare(input_ids, *args, **kwargs)

    model.get_compiled_call = get_compiled_call
    model.prepare_inputs_for_generation = prepare_inputs_for_generation
    model._tchat_step_hook = True
