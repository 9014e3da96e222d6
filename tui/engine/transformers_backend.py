"""The real engine: Hugging Face Transformers, following the chat guide.

`AutoTokenizer` + `AutoModelForCausalLM`, `apply_chat_template(add_generation_prompt=True)`,
and `model.generate` in its own thread feeding a streamer. torch and transformers are
imported inside `load`, which the app calls from a worker, so the first frame never waits.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from tui.engine import (
    cpu_int4,
    cpu_quant,
    fast_path,
    four_bit_shapes,
    generation_defaults,
    hf_chat,
    reply_streamer,
    token_probs,
)
from tui.engine.assisted import DraftSlot
from tui.engine.backend import (
    Backend,
    Capabilities,
    EngineError,
    LoadSpec,
    ModelInfo,
    ProgressFn,
    Reply,
)
from tui.engine.chat_format import ChatFormat
from tui.engine.templates import ensure_chat_template
from tui.engine.transformers_options import TRANSFORMERS_OPTIONS
from tui.models import default_model, dtypes
from tui.models.errors import CatalogError
from tui.store.session import GenerationSettings, ReplyStats


def _quiet_transformers() -> None:
    """tqdm bars and warnings on stderr would scribble over the full-screen UI."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    # bitsandbytes logs "MatMul8bitLt: inputs will be cast..." on every CPU forward.
    import logging

    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)


def pick_device(requested: str) -> str:
    import torch

    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise EngineError(
                f"Device '{requested}' asked for, but torch sees no CUDA GPU.",
                "Use --device cpu, or install a CUDA build of torch on a GPU machine.",
            )
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(requested: str, device: str) -> str:
    """'auto' is bf16 on a GPU that supports it, fp16 on an older GPU, fp32 on the CPU."""
    import torch

    if requested and requested != "auto":
        if requested not in dtypes.LOADABLE:
            raise EngineError(f"Unknown dtype '{requested}'.", "Use auto, bf16, fp16 or fp32.")
        return requested
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def avoid_cudnn_attention() -> None:
    """Turn off PyTorch's cuDNN backend for scaled_dot_product_attention.

    Why: on Hopper GPUs PyTorch (2.5+) prefers cuDNN attention for bf16, and cuDNN builds an
    execution plan per attention shape, cached per thread. A chat decodes at a new key/value
    length every token, and each reply runs in a fresh generate thread, so nearly every
    attention call paid for a new plan: measured on an H200 (torch 2.11, a SmolLM2-135M-shaped
    model), 15 tok/s with it and 52 tok/s without, where flash / memory-efficient attention
    take over (tests/gpu, bench/gpu_check.sh). A process-wide switch, set once a model loads
    on a GPU; tchat has no other attention users."""
    import torch

    torch.backends.cuda.enable_cudnn_sdp(False)


def _make_cancel_criteria(cancel: threading.Event) -> Any:
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class CancelCriteria(StoppingCriteria):
        """Checked after every token, so Esc stops a reply within one decode step."""

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full(
                (input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device
            )

    return StoppingCriteriaList([CancelCriteria()])


# What the gauges say of a reply, by the fast path's state when it started (fast_path.py).
_PATH_WORDS = {"compiled": "compiled", "warming": "compiling", "failed": "compile failed"}


class TransformersBackend(Backend):
    """Loads one model at a time and streams replies from it."""

    capabilities = Capabilities(
        drafts=True,
        continue_reply=True,
        exact_token_counts=True,
        prompt_text=True,
        local_hardware=True,
        compiled_path=True,
        hub_models=True,
        token_alternatives=True,
    )
    load_options = TRANSFORMERS_OPTIONS

    @classmethod
    def create(cls, fast: str = "auto") -> TransformersBackend:
        return cls(fast=fast)

    def __init__(self, fast: str = "auto") -> None:
        if fast not in fast_path.FAST_MODES:
            raise ValueError(f"fast must be one of {fast_path.FAST_MODES}, not {fast!r}")
        self.model: Any = None
        self.tokenizer: Any = None
        self.info: ModelInfo | None = None
        self._lock = threading.Lock()  # one generate at a time on one model
        # Static cache + compiled decode (fast_path.py): "auto" uses it where it pays.
        self.fast = fast
        self.fast_path: fast_path.FastPath | None = None
        self.fast_note = ""  # why the fast path is on or off, for the user
        self._reply_path = ""  # what speed_path() says of the latest reply
        self._quant_note: str | None = None  # layers the load kept unquantized, if any
        self._alternatives = 0  # token alternatives recorded per step (token_probs.py)
        self._format: ChatFormat | None = None  # the template's ways (hf_chat.detect)
        self._thinking: bool | None = None  # the open chat's thinking switch
        self._end_ids: list[int] = []
        self.drafts = DraftSlot(self._load_draft)  # assisted generation's draft in use

    # ---- loading -------------------------------------------------------------------------

    def load(self, spec: LoadSpec, progress: ProgressFn | None = None) -> ModelInfo:
        report = progress or (lambda _m, _f: None)
        started = time.perf_counter()
        report("Starting torch and transformers…", None)
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as exc:
            raise EngineError(
                f"Cannot import {exc.name}.", "Run `make run`, or pip install -e . in a venv."
            ) from exc
        _quiet_transformers()
        device = pick_device(spec.device)
        dtype = pick_dtype(spec.dtype, device)
        source, kwargs, model_id, name = self._resolve(spec, report)
        self._quant_note = None
        report(f"Loading {name} ({dtype} on {device})…", 0.85 if spec.model == "" else None)
        tokenizer, model = self._from_pretrained(source, kwargs, spec, device, dtype, report)
        quant_note = self._quant_note  # before a draft's load sets its own
        note = ensure_chat_template(tokenizer)
        fmt = hf_chat.detect(tokenizer)
        gen_file = generation_defaults.read_file(source, gguf="gguf_file" in kwargs)
        if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
            tokenizer.pad_token = tokenizer.eos_token
        model.eval()
        # Before the swap: a draft that cannot assist this model leaves the old model in use.
        assistant = self.drafts.prepare(spec, model, tokenizer, name, device, dtype, report)
        self.model, self.tokenizer = model, tokenizer
        self._format = fmt
        self._end_ids = hf_chat.end_ids(tokenizer, model.generation_config, fmt)
        self.drafts.install(assistant)
        if self.fast_path is not None:
            self.fast_path.enabled = False  # the old model's: never used again
        # Compiled after the first reply (fast_path.py); replies use plain generate until then.
        self.fast_path, self.fast_note = fast_path.start(self.fast, model, tokenizer, spec=spec)
        config = model.config
        self.info = ModelInfo(
            id=model_id,
            name=name,
            device=str(getattr(model, "device", device)),
            dtype=dtypes.short_dtype(str(model.dtype)) or str(model.dtype),
            quantization=spec.quantize,
            revision=getattr(config, "_commit_hash", None) or _cached_revision(source),
            context_length=getattr(config, "max_position_embeddings", None),
            # num_parameters() unpacks 4-bit weights (two per stored byte); numel() does not;
            # the CPU's int4 layers hold buffers, counted before packing (cpu_int4.py).
            parameters=getattr(model, "tchat_parameters", None) or model.num_parameters(),
            template_note=note,
            chat_format=fmt,
            generation_defaults=generation_defaults.sampling_defaults(gen_file),
            quantization_note=quant_note,
            draft=assistant.name if assistant else None,
            draft_note=assistant.note if assistant else None,
            load_s=time.perf_counter() - started,
        )
        report(f"Loaded {name} in {self.info.load_s:.1f} s.", 1.0)
        return self.info

    def _resolve(self, spec: LoadSpec, report: ProgressFn) -> tuple[str, dict[str, Any], str, str]:
        """Turn the user's model string into (source, extra kwargs, id to record, short name)."""
        model = spec.model.strip()
        if default_model.is_default(model):
            try:
                folder = default_model.ensure_converted(report)
            except CatalogError as exc:  # the catalogue's error, in the engine's words
                raise EngineError(exc.message, exc.hint) from exc
            return (
                str(folder),
                {},
                default_model.DEFAULT_MODEL_ID,
                default_model.DEFAULT_MODEL_NAME,
            )
        path = Path(model).expanduser()
        if path.suffix.lower() == ".gguf":
            if not path.is_file():
                raise EngineError(f"No GGUF file at {path}.", "Check the path.")
            return str(path.parent), {"gguf_file": path.name}, str(path.resolve()), path.stem
        if path.exists() or model.startswith((".", "/", "~")):
            if not (path / "config.json").is_file():
                raise EngineError(
                    f"{path} is not a model folder (no config.json).",
                    "Point --model at a folder saved with save_pretrained, a .gguf file, "
                    "or a Hugging Face id like HuggingFaceTB/SmolLM2-360M-Instruct.",
                )
            return str(path), {}, str(path.resolve()), path.name
        if model.count("/") > 1 or " " in model:
            raise EngineError(f"'{model}' is neither a file, a folder nor a Hugging Face id.")
        return model, {"hub": True}, model, model.split("/")[-1]

    def _from_pretrained(
        self,
        source: str,
        kwargs: dict[str, Any],
        spec: LoadSpec,
        device: str,
        dtype: str,
        report: ProgressFn,
    ) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        hub = kwargs.pop("hub", False)
        model_kwargs: dict[str, Any] = dict(kwargs)
        model_kwargs["dtype"] = getattr(torch, dtypes.torch_name(dtype))
        model_kwargs["trust_remote_code"] = spec.trust_remote_code
        if spec.attn_implementation and spec.attn_implementation != "auto":
            model_kwargs["attn_implementation"] = spec.attn_implementation
        if device.startswith("cuda"):
            model_kwargs["device_map"] = "auto" if device == "cuda" else device
            avoid_cudnn_attention()
        # 8-bit on the CPU: PyTorch's int8 kernels (cpu_quant.py), 2.4x fp32 where bitsandbytes
        # was slower than fp32. bitsandbytes stays for GPUs and for 4-bit.
        cpu_int8 = spec.quantize == "8bit" and device == "cpu" and dtype == "fp32"
        cpu_int8 = cpu_int8 and cpu_quant.available()
        # 4-bit on the CPU: PyTorch's int4 kernels (cpu_int4.py), which compile with the fast
        # path; bitsandbytes where this torch lacks them (or TCHAT_CPU_4BIT=bitsandbytes).
        int4 = spec.quantize == "4bit" and device == "cpu" and cpu_int4.wanted()
        if spec.quantize and not cpu_int8 and not int4:
            model_kwargs["quantization_config"] = _bnb_config(spec.quantize, dtype)
            model_kwargs.setdefault("device_map", "auto" if device == "cuda" else device)
        tok_kwargs = {k: v for k, v in kwargs.items() if k == "gguf_file"}
        tok_kwargs["trust_remote_code"] = spec.trust_remote_code
        four_bit_here = spec.quantize == "4bit" and device == "cpu" and not int4

        def attempt(local_only: bool) -> tuple[Any, Any]:
            tok = AutoTokenizer.from_pretrained(source, local_files_only=local_only, **tok_kwargs)
            if four_bit_here and four_bit_shapes.cpu_repacks_4bit():
                keep = self._plan_cpu_4bit(source, local_only, tok_kwargs)
                model_kwargs["quantization_config"] = _bnb_config("4bit", dtype, keep)
            mdl = AutoModelForCausalLM.from_pretrained(
                source, local_files_only=local_only, **model_kwargs
            )
            if cpu_int8:
                cpu_quant.quantize_int8(mdl)
            if int4:
                self._quant_note = cpu_int4.quantize_int4(mdl)
            return tok, mdl

        try:
            if not hub:
                return attempt(local_only=True)
            # Cache first: a cached model must load in seconds with no network, not after
            # minutes of hub retries. Only a cache miss goes to the network.
            try:
                return attempt(local_only=True)
            except OSError:
                if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
                    raise EngineError(
                        f"{source} is not in the local Hugging Face cache, and HF_HUB_OFFLINE "
                        "is set.",
                        "Download it on a connected machine (huggingface-cli download) or "
                        "unset HF_HUB_OFFLINE.",
                    ) from None
                report(f"{source} is not cached: downloading from the Hugging Face hub…", None)
                return attempt(local_only=False)
        except EngineError:
            raise
        except torch.OutOfMemoryError as exc:
            raise EngineError(
                f"Out of GPU memory while loading {source}.",
                "Try --quantize 4bit, --dtype bf16, or a smaller model.",
            ) from exc
        except MemoryError as exc:
            raise EngineError(
                f"Out of memory while loading {source}.",
                "Try a smaller model or --quantize 4bit.",
            ) from exc
        except Exception as exc:  # noqa: BLE001 - turned into a message the user can act on
            raise _explain_load_error(source, exc) from exc

    def _plan_cpu_4bit(self, source: str, local_only: bool, kwargs: dict[str, Any]) -> list[str]:
        """The layers this CPU's 4-bit kernel cannot run (four_bit_shapes.py), from the
        model's config on the meta device: refuses 4-bit when none would be left."""
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        config = AutoConfig.from_pretrained(source, local_files_only=local_only, **kwargs)
        with torch.device("meta"):
            shell = AutoModelForCausalLM.from_config(
                config, trust_remote_code=kwargs.get("trust_remote_code", False)
            )
        plan = four_bit_shapes.plan(shell)
        if not plan.quantizable:
            raise EngineError(
                "4-bit cannot quantize this model on this CPU: bitsandbytes' 4-bit kernel "
                f"here (AVX512-BF16) needs layers with outputs in multiples of "
                f"{four_bit_shapes.PACK_ROWS} and inputs in multiples of "
                f"{four_bit_shapes.BLOCK}, and this model has none.",
                "Load it without --quantize, or with --quantize 8bit.",
            )
        self._quant_note = plan.note
        return plan.keep

    def _load_draft(self, spec: LoadSpec, report: ProgressFn) -> tuple[Any, Any, str]:
        """A draft model for assisted generation, loaded as any model is."""
        source, kwargs, _model_id, name = self._resolve(spec, report)
        report(f"Loading draft model {name}…", None)
        tokenizer, model = self._from_pretrained(
            source, kwargs, spec, spec.device, spec.dtype, report
        )
        return tokenizer, model, name

    def set_draft(
        self,
        draft: str | None,
        progress: ProgressFn | None = None,
        *,
        trust_remote_code: bool = False,
        attn_implementation: str | None = None,
    ) -> ModelInfo:
        """Attach a draft model (id or path), "prompt-lookup", or None (plain decoding) to the
        model already loaded, without reloading it. Blocking: call from a worker. On error the
        previous draft stays in use."""
        if self.model is None or self.info is None:
            raise EngineError("No model is loaded yet.", "Load a model, then pick a draft.")
        report = progress or (lambda _m, _f: None)
        dtype = dtypes.loadable_name(str(getattr(self.model, "dtype", ""))) or "auto"
        device = str(getattr(self.model, "device", "cpu"))
        spec = LoadSpec(
            model=self.info.id,
            dtype=dtype,
            device=device,
            trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation,
            draft=draft,
        )
        assistant = self.drafts.prepare(
            spec, self.model, self.tokenizer, self.info.name, device, dtype, report
        )
        self.drafts.install(assistant, new_model=False)
        self.info.draft = assistant.name if assistant else None
        self.info.draft_note = assistant.note if assistant else None
        report(f"Draft: {assistant.name}." if assistant else "Draft removed.", 1.0)
        return self.info

    def speed_path(self) -> str:
        return self._reply_path

    def engine_status(self) -> str:
        """The fast path's state (a compile's progress) and, on the CPU, the thread count."""
        if self.model is None:
            return ""
        parts = [self.fast_path.status()] if self.fast_path is not None else []
        if getattr(self.model.device, "type", "") == "cpu":
            from tui.engine import cpu_threads

            parts.append(cpu_threads.current().text())
        return " · ".join(p for p in parts if p)

    def keep_alternatives(self, top: int) -> None:
        self._alternatives = max(0, top)

    def unload(self) -> None:
        if self.fast_path is not None:
            self.fast_path.enabled = False
        self.fast_path = None
        self.model = self.tokenizer = None
        self.info = None
        try:
            import gc

            import torch

            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    # ---- generation ----------------------------------------------------------------------

    def _encode(self, messages: list[dict[str, str]], continue_final: bool = False) -> Any:
        if self.model is None:
            raise EngineError("No model is loaded yet.")
        return hf_chat.encode(
            self.tokenizer, messages, self._format, self._thinking, continue_final
        )

    def use_thinking(self, on: bool | None) -> None:
        self._thinking = on

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return int(self._encode(messages)["input_ids"].shape[-1])

    def token_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """The prompt's token ids (chat template applied): the prompt inspector's `t`."""
        return [int(i) for i in self._encode(messages)["input_ids"][0].tolist()]

    def render_prompt(self, messages: list[dict[str, str]]) -> str:
        """The exact text the model receives: what the prompt inspector shows."""
        return hf_chat.render(self.tokenizer, messages, self._format, self._thinking)

    def stream(
        self,
        messages: list[dict[str, str]],
        settings: GenerationSettings,
        cancel: threading.Event,
        continue_final: bool = False,
    ) -> Reply:
        import torch

        started = time.perf_counter()
        enc = self._encode(messages, continue_final)
        model = self.model
        enc = {k: v.to(model.device) for k, v in enc.items()}
        prompt_tokens = int(enc["input_ids"].shape[-1])
        reply = Reply(chunks=iter(()), stats=ReplyStats(prompt_tokens=prompt_tokens))
        drop = hf_chat.dropped_specials(self.tokenizer, self._format)
        kwargs: dict[str, Any] = dict(
            enc,
            max_new_tokens=settings.max_new_tokens,
            stopping_criteria=_make_cancel_criteria(cancel),
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self._end_ids or None,  # every end-of-turn id stops the reply
            do_sample=settings.do_sample,
            repetition_penalty=settings.repetition_penalty,
        )
        if settings.do_sample:
            kwargs.update(
                temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k
            )
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        # {} unless a draft is set. Assisted replies must not also get a static cache: with
        # prompt lookup, transformers 5.24 fails (IndexError in the cache) — keep them exclusive.
        assisted = self.drafts.generate_kwargs(settings, prompt_tokens)
        kwargs.update(assisted)
        # Token probabilities, when asked (not for assisted replies: drafts score rejected
        # tokens too). Cost: bench/token_alternatives.py.
        recorder = token_probs.Recorder(self._alternatives) if self._alternatives else None
        if recorder is not None and not assisted:
            recorder.attach(kwargs)
            reply.tokens = []
        path = self.fast_path if not assisted else None
        compiled_on_cpu = False
        if path is not None:
            # None until the compiled path for this length is warm: then plain generate.
            fast = path.generate_kwargs(prompt_tokens, settings.max_new_tokens)
            kwargs.update(fast or {})
            self._reply_path = _PATH_WORDS.get("compiled" if fast else path.state, "")
            compiled_on_cpu = fast is not None and path.on_cpu
        else:
            self._reply_path = ""
        # A CPU compiled step is one call that lets go of Python's lock: see reply_streamer.
        streamer = reply_streamer.make_streamer(
            self.tokenizer, reply.stats, started, drop, decode_in_reader=compiled_on_cpu
        )
        kwargs["streamer"] = streamer
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with self._lock, torch.inference_mode():
                    if settings.seed is not None:
                        torch.manual_seed(settings.seed)
                    model.generate(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported through the Reply
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="tchat-generate", daemon=True)

        def chunks():  # noqa: ANN202
            thread.start()
            try:
                for text in streamer:
                    if text:
                        yield text
            finally:
                thread.join()
                self._finish(reply, streamer, settings, cancel, failure, started)
                if reply.tokens is not None and recorder is not None:
                    reply.tokens.extend(recorder.steps(self.tokenizer))
                self.drafts.reply_done(reply.stats)
                if path is not None:
                    path.reply_done()  # compiles now, between replies, if this one lacked it

        reply.chunks = chunks()
        return reply

    def _finish(
        self,
        reply: Reply,
        streamer: Any,
        settings: GenerationSettings,
        cancel: threading.Event,
        failure: list[BaseException],
        started: float,
    ) -> None:
        stats = reply.stats
        stats.new_tokens = streamer.new_tokens
        stats.total_s = time.perf_counter() - started
        if streamer.first_at is not None:
            stats.ttft_s = streamer.first_at - started
            if streamer.new_tokens > 1 and streamer.last_at > streamer.first_at:
                stats.decode_tps = (streamer.new_tokens - 1) / (
                    streamer.last_at - streamer.first_at
                )
        eos_ids = set(self._end_ids) | {self.tokenizer.eos_token_id}
        if failure:
            stats.stop_reason = "error"
            reply.error = _explain_generation_error(failure[0])
        elif cancel.is_set():
            stats.stop_reason = "cancelled"
        elif streamer.last_token in eos_ids:
            stats.stop_reason = "end_of_turn"
        elif streamer.new_tokens >= settings.max_new_tokens:
            stats.stop_reason = "length"
        else:
            stats.stop_reason = "end_of_turn"


def _cached_revision(repo_id: str) -> str | None:
    """The commit of the cached snapshot a hub model was loaded from (None for folders)."""
    if Path(repo_id).exists() or repo_id.count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001 - a missing revision is not worth failing a load
        return None
    if isinstance(found, str) and "/snapshots/" in found:
        return Path(found).parent.name
    return None


def _bnb_config(quantize: str, dtype: str, keep: list[str] | None = None) -> Any:
    """bitsandbytes' settings; `keep` names layers to leave unquantized (None: transformers'
    default, the output embedding)."""
    import torch

    try:
        from transformers import BitsAndBytesConfig
    except ImportError as exc:  # pragma: no cover - transformers always has it
        raise EngineError("This transformers has no bitsandbytes support.") from exc
    if quantize == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    if quantize == "4bit":
        compute = torch.float32 if dtype == "fp32" else getattr(torch, dtypes.torch_name(dtype))
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=compute,
            llm_int8_skip_modules=keep,
        )
    raise EngineError(f"Unknown quantization '{quantize}'.", "Use 8bit or 4bit.")


def _explain_load_error(source: str, exc: Exception) -> EngineError:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    if "GatedRepo" in name:
        return EngineError(
            f"{source} is gated: accept its licence on huggingface.co first.",
            "Then log in with `huggingface-cli login` and try again.",
        )
    if "RepositoryNotFound" in name or "404" in text:
        return EngineError(
            f"No model called '{source}' on the Hugging Face hub.",
            "Check the spelling (owner/name), or give a local folder or .gguf file.",
        )
    if "bitsandbytes" in text.lower():
        return EngineError(
            f"bitsandbytes cannot quantize on this device: {text}",
            "Load without --quantize, or use a supported GPU.",
        )
    if isinstance(exc, (OSError, ValueError)) and any(
        w in text.lower() for w in ("connection", "resolve", "offline", "internet", "network")
    ):
        return EngineError(
            f"{source} is not in the local cache and the hub cannot be reached.",
            "Connect to the internet, or pick a model that is already cached.",
        )
    return EngineError(f"Could not load {source}: {name}: {text}")


def _explain_generation_error(exc: BaseException) -> str:
    name = type(exc).__name__
    if "OutOfMemory" in name or isinstance(exc, MemoryError):
        return (
            "Out of memory while generating. The partial reply is kept. "
            "Try a shorter conversation (ctrl+n), fewer max_new_tokens, or --quantize 4bit."
        )
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"Generation failed: {name}: {text}" if text else f"Generation failed: {name}"
