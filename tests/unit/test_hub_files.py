"""Which files of a hub repo a download takes: one weight format and what configures it."""

from __future__ import annotations

import pytest

from tui.models.hub_files import SelectionError, gguf_files, index_to_read, select_files

CONFIGS = {
    "config.json": 700,
    "generation_config.json": 200,
    "tokenizer.json": 9_000_000,
    "tokenizer_config.json": 50_000,
    "special_tokens_map.json": 500,
    "chat_template.jinja": 4_000,
    "merges.txt": 1_600_000,
    "vocab.json": 2_700_000,
}
NOISE = {"README.md": 5_000, ".gitattributes": 1_500, "LICENSE": 11_000, "figure.png": 90_000}


def test_safetensors_win_over_bin_and_other_folders_are_left_out() -> None:
    files = {
        **CONFIGS,
        **NOISE,
        "model.safetensors": 16_000_000_000,
        "pytorch_model.bin": 16_000_000_000,
        "original/consolidated.00.pth": 16_000_000_000,
        "original/params.json": 300,
        "onnx/model.onnx": 16_000_000_000,
        "flax_model.msgpack": 16_000_000_000,
        "training_args.bin": 5_000,
    }
    chosen = select_files(files)
    assert chosen.weights_format == "safetensors"
    assert set(chosen.files) == set(CONFIGS) | {"model.safetensors"}
    assert "pytorch_model.bin" in chosen.skipped and "original/params.json" in chosen.skipped


def test_the_index_names_the_shards_and_a_consolidated_copy_is_left_out() -> None:
    files = {
        **CONFIGS,
        "model.safetensors.index.json": 30_000,
        "model-00001-of-00002.safetensors": 9_000_000_000,
        "model-00002-of-00002.safetensors": 5_000_000_000,
        "consolidated.safetensors": 14_000_000_000,
        "pytorch_model.bin.index.json": 30_000,
        "pytorch_model-00001-of-00002.bin": 9_000_000_000,
    }
    assert index_to_read(files) == "model.safetensors.index.json"
    weight_map = {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    chosen = select_files(files, weight_map)
    weights = {n for n in chosen.files if n not in CONFIGS}
    assert weights == {
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    }
    assert sum(chosen.files.values()) == sum(CONFIGS.values()) + 30_000 + 14_000_000_000


def test_without_an_index_consolidated_weights_give_way_to_the_others() -> None:
    files = {**CONFIGS, "model.safetensors": 100, "consolidated.safetensors": 100}
    assert "consolidated.safetensors" not in select_files(files).files


def test_bin_weights_when_there_are_no_safetensors() -> None:
    files = {**CONFIGS, "pytorch_model.bin": 500_000_000, "training_args.bin": 4_000}
    chosen = select_files(files)
    assert chosen.weights_format == "bin"
    assert "pytorch_model.bin" in chosen.files and "training_args.bin" not in chosen.files


def test_named_chat_templates_and_remote_code_come_along() -> None:
    files = {
        **CONFIGS,
        "model.safetensors": 100,
        "additional_chat_templates/tool_use.jinja": 3_000,
        "modeling_custom.py": 40_000,
        "tokenizer.model": 500_000,
    }
    chosen = select_files(files)
    assert {
        "additional_chat_templates/tool_use.jinja",
        "modeling_custom.py",
        "tokenizer.model",
    } <= set(chosen.files)


def test_a_gguf_only_repo_names_its_quantizations() -> None:
    files = {"README.md": 1, "model-Q4_K_M.gguf": 5, "model-Q8_0.gguf": 9}
    with pytest.raises(SelectionError, match="GGUF files only .*model-Q4_K_M.gguf"):
        select_files(files)


def test_one_gguf_quantization_with_its_split_shards_and_no_other() -> None:
    files = {
        "Q4_K_M/m-Q4_K_M-00001-of-00002.gguf": 5,
        "Q4_K_M/m-Q4_K_M-00002-of-00002.gguf": 5,
        "Q8_0/m-Q8_0-00001-of-00002.gguf": 9,
        "Q8_0/m-Q8_0-00002-of-00002.gguf": 9,
        "m-Q2_K.gguf": 2,
    }
    assert gguf_files(files) == [
        "Q4_K_M/m-Q4_K_M-00001-of-00002.gguf",
        "Q8_0/m-Q8_0-00001-of-00002.gguf",
        "m-Q2_K.gguf",
    ]
    chosen = select_files(files, gguf_file="Q4_K_M/m-Q4_K_M-00001-of-00002.gguf")
    assert set(chosen.files) == {
        "Q4_K_M/m-Q4_K_M-00001-of-00002.gguf",
        "Q4_K_M/m-Q4_K_M-00002-of-00002.gguf",
    }
    assert chosen.weights_format == "gguf"


def test_a_repo_without_config_or_weights_is_refused() -> None:
    with pytest.raises(SelectionError, match="no config.json"):
        select_files({"README.md": 1})
    with pytest.raises(SelectionError, match="no safetensors or PyTorch weights"):
        select_files({"config.json": 1, "original/consolidated.pth": 9})
