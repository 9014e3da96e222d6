"""The catalogue of models on disk, apart from the runtime that loads and runs them.

What a model is before it is loaded: its figures read from small files and headers only
(`config.json`, the safetensors JSON header, the GGUF metadata), which models on this machine
can be picked (`catalog`), whether they fit and how fast they can go (`estimates`), and the
bundled default (`default_model`). Never imports Textual nor `tui.engine`, and never torch,
transformers or gguf at module import: those are imported inside the functions that need them.

Modules: `units` (number and byte formatting), `dtypes` (the one dtype table), `errors`,
`facts` (the ModelFacts record), `causal` (which configs are causal LMs), `config_shape` and
`config_facts` (config arithmetic), `safetensors_header`, `gguf_header`, `folder_facts`.
"""
