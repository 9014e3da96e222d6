"""Memory bandwidth and the decode roofline: the figures behind "64% of bound" and the model
picker's speed estimates, checked against vendors' spec sheets."""

from __future__ import annotations

import json
import stat

import pytest

from tui.hardware import bandwidth as bw
from tui.hardware.bandwidth import (
    bytes_per_param,
    bytes_per_token,
    cpu_bandwidth,
    decode_bound_tps,
    estimate_decode_tps,
    gpu_peak_bandwidth,
    known_gpu_bandwidth,
    nvml_bandwidth,
)

GB = 1e9


@pytest.mark.parametrize(
    ("bus_bits", "mem_mhz", "spec_gb_s"),
    [
        (5120, 1215, 1555),  # A100 40GB
        (5120, 2619, 3350),  # H100 SXM
        (384, 10501, 1008),  # RTX 4090
        (256, 5001, 320),  # T4
        (192, 6251, 300),  # L4
    ],
)
def test_nvml_bus_width_and_memory_clock_give_the_spec_sheet_bandwidth(
    bus_bits, mem_mhz, spec_gb_s
):
    assert nvml_bandwidth(bus_bits, mem_mhz) == pytest.approx(spec_gb_s * GB, rel=0.01)


@pytest.mark.parametrize(
    ("name", "gb_s"),
    [
        ("NVIDIA H100 80GB HBM3", 3350),
        ("NVIDIA H100 PCIe", 2000),
        ("NVIDIA H100 NVL", 3900),
        ("NVIDIA H200", 4800),
        ("NVIDIA A100-SXM4-40GB", 1555),
        ("NVIDIA A100-PCIE-40GB", 1555),
        ("NVIDIA A100-SXM4-80GB", 2039),
        ("NVIDIA A100 80GB PCIe", 1935),
        ("NVIDIA L4", 300),
        ("NVIDIA L40S", 864),
        ("NVIDIA GeForce RTX 4090", 1008),
        ("NVIDIA GeForce RTX 3090", 936),
        ("Tesla T4", 320),
    ],
)
def test_known_cards_by_nvml_name(name, gb_s):
    assert known_gpu_bandwidth(name) == pytest.approx(gb_s * GB)


def test_unknown_card_has_no_table_figure():
    assert known_gpu_bandwidth("Quadro K600") is None


def test_nvml_figure_wins_but_the_table_covers_for_missing_or_absurd_ones():
    assert gpu_peak_bandwidth("NVIDIA L4", 192, 6251) == (pytest.approx(300 * GB, rel=0.01), "nvml")
    assert gpu_peak_bandwidth("NVIDIA L4", None, None) == (300 * GB, "table")
    # A driver reporting the clock in the wrong unit: 1000x off, the table is believed.
    assert gpu_peak_bandwidth("NVIDIA L4", 192, 6) == (300 * GB, "table")
    assert gpu_peak_bandwidth("Quadro K600", None, None) == (None, None)


@pytest.mark.parametrize(
    ("dtype", "quant", "expected"),
    [
        ("bfloat16", None, 2.0),
        ("torch.float16", None, 2.0),
        ("bf16", None, 2.0),
        ("fp32", None, 4.0),
        ("bfloat16", "8bit", 1.0),
        ("bfloat16", "4bit", pytest.approx(0.516, abs=0.01)),
        (None, "Q4_K_M", pytest.approx(4.85 / 8)),
        ("auto", None, None),
        ("bfloat16", "exotic", None),
    ],
)
def test_bytes_per_param_from_dtype_and_quantisation(dtype, quant, expected):
    assert bytes_per_param(dtype, quant) == expected


def test_roofline_for_an_8b_model_in_bf16_on_an_h100():
    per_token = bytes_per_token(8.03e9, 2.0)
    assert per_token == pytest.approx(16.06e9)
    assert decode_bound_tps(3.35e12, per_token) == pytest.approx(208.6, rel=0.01)
    assert estimate_decode_tps(3.35e12, 8_030_000_000, "bf16") == pytest.approx(208.6, rel=0.01)


def test_missing_figures_give_no_bound_instead_of_nonsense():
    assert decode_bound_tps(0, 1e9) == 0.0
    assert decode_bound_tps(1e12, 0) == 0.0
    assert estimate_decode_tps(None, 8e9, "bf16") is None
    assert estimate_decode_tps(1e12, None, "bf16") is None
    assert estimate_decode_tps(1e12, 8e9, "auto") is None


def test_cpu_bandwidth_is_measured_once_then_read_from_the_cache(tmp_path):
    path = tmp_path / "tchat" / "bandwidth.json"
    calls = []

    def measure():
        calls.append(1)
        return 42e9

    assert cpu_bandwidth(path=path, measure=measure) == 42e9
    assert cpu_bandwidth(path=path, measure=measure) == 42e9
    assert len(calls) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    entry = json.loads(path.read_text())["cpu"][bw.machine_key()]
    assert entry["bytes_per_s"] == 42e9

    assert cpu_bandwidth(path=path, refresh=True, measure=lambda: 50e9) == 50e9
    assert bw.read_cached_cpu_bandwidth(path) == 50e9


def test_cache_keeps_other_machines_and_survives_a_corrupt_file(tmp_path):
    path = tmp_path / "bandwidth.json"
    path.write_text(json.dumps({"version": 1, "cpu": {"other-box|Xeon|64": {"bytes_per_s": 1e11}}}))
    cpu_bandwidth(path=path, measure=lambda: 30e9)
    data = json.loads(path.read_text())
    assert set(data["cpu"]) == {"other-box|Xeon|64", bw.machine_key()}

    path.write_text("{not json")
    assert cpu_bandwidth(path=path, measure=lambda: 31e9) == 31e9
    assert bw.read_cached_cpu_bandwidth(path) == 31e9


def test_failed_measurement_gives_none_and_caches_nothing(tmp_path):
    path = tmp_path / "bandwidth.json"

    def broken():
        raise MemoryError

    assert cpu_bandwidth(path=path, measure=broken) is None
    assert not path.exists()


def test_default_cache_lives_under_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert bw.cache_file() == tmp_path / "tchat" / "bandwidth.json"


def test_real_measurement_is_plausible_and_quick():
    import time

    t0 = time.perf_counter()
    rate = bw.measure_cpu_bandwidth(size_bytes=16 * 1024 * 1024, seconds=0.02, threads=2)
    assert time.perf_counter() - t0 < 2.0
    assert 0.5 * GB < rate < 2000 * GB
