"""GPU tests: they run where CUDA and an NVIDIA driver are present, and are skipped elsewhere.

CI and the development machines have no GPU, so there the NVML path is tested through a fake
`pynvml` (tests/fakes). These tests are the same checks against the real thing: run them on a
GPU box with `pytest tests/gpu` (the device tool's lent machine is where they were last run;
the README's Performance section has what they showed).
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        have_cuda = torch.cuda.is_available()
    except ImportError:
        have_cuda = False
    if have_cuda:
        return
    if os.environ.get("TCHAT_GPU_TESTS_ON_CPU"):  # to check the tests themselves
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU with CUDA")
    for item in items:
        if "tests/gpu/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
