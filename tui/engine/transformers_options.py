"""The load options of the Transformers backend, declared once (see options.py): the flags
--dtype, --quantize, --device, --attn and --trust-remote-code, and the picker's rows for them.

The draft model (--draft) is not among them: its choices depend on the model highlighted in the
picker (drafts of the same family), so the picker builds that row itself.
"""

from __future__ import annotations

from tui.engine.options import LoadOption

TRANSFORMERS_OPTIONS: tuple[LoadOption, ...] = (
    LoadOption(
        key="dtype",
        label="dtype",
        flag="--dtype",
        dest="dtype",
        help="weights dtype (default auto: bf16 on GPU, fp32 on CPU)",
        choices=(("auto", "auto"), ("bf16", "bf16"), ("fp16", "fp16"), ("fp32", "fp32")),
    ),
    LoadOption(
        key="quantize",
        label="quantize",
        flag="--quantize",
        dest="quantize",
        help="bitsandbytes quantization (on the CPU, 8bit uses PyTorch's int8 kernels)",
        choices=(("none", "none"), ("8bit", "8-bit"), ("4bit", "4-bit nf4")),
        unset="none",
        flag_takes_unset=False,
    ),
    LoadOption(
        key="device",
        label="device",
        flag="--device",
        dest="device",
        help="auto | cpu | cuda | cuda:N (default auto)",
        choices=(("auto", "auto"), ("cpu", "cpu")),
        kind="text",
        cli_default="auto",
    ),
    LoadOption(
        key="attn",
        label="attention",
        flag="--attn",
        dest="attn",
        help="attention implementation (default auto)",
        choices=(
            ("auto", "auto"),
            ("sdpa", "sdpa"),
            ("eager", "eager"),
            ("flash_attention_2", "flash-attn 2"),
        ),
        unset="auto",
        needs=(("flash_attention_2", "flash_attn"),),  # offered only where it can load
    ),
    LoadOption(
        key="trust",
        label="remote code",
        flag="--trust-remote-code",
        dest="trust_remote_code",
        help="run the model repo's own Python code (only for repos you trust)",
        kind="switch",
    ),
)
