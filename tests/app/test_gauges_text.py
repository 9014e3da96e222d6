"""The gauges' text pieces: figures a user reads at a glance, bars and sparklines that stay
readable in ASCII, and lines that never overflow a narrow side column."""

from __future__ import annotations

import pytest

from tui.widgets.gauge_text import (
    ASCII,
    UNICODE,
    bar,
    core_strip,
    fit,
    flow,
    human_bytes,
    human_count,
    human_seconds,
    human_tps,
    memory_figures,
    percent,
    sparkline,
    wrap_words,
)

GiB = 1024**3


@pytest.mark.parametrize(
    ("n", "text"),
    [(512, "512B"), (300 * 1024**2, "300M"), (41.2 * GiB, "41.2G"), (1.5 * 1024 * GiB, "1.50T")],
)
def test_bytes_read_compactly(n, text):
    assert human_bytes(n) == text


def test_memory_figures_share_one_unit_and_offer_shorter_forms():
    assert memory_figures(41.2 * GiB, 80 * GiB) == ["41.2/80.0G", "41/80G", "41.2G"]
    # Small numbers keep their decimal: "0/24G" would read as "nothing used".
    assert memory_figures(0.5 * GiB, 23.5 * GiB) == ["0.5/23.5G", "512M"]


@pytest.mark.parametrize(("n", "text"), [(950, "950"), (1234, "1.2k"), (32768, "33k")])
def test_token_counts(n, text):
    assert human_count(n) == text


def test_rates_and_durations():
    assert [human_tps(x) for x in (4.25, 42.13, 142.0, 5100.0, None)] == [
        "4.25",
        "42.1",
        "142",
        "5.1k",
        "--",
    ]
    assert [human_seconds(x) for x in (0.035, 0.21, 2.34, 42, 65)] == [
        "35ms",
        "0.21s",
        "2.3s",
        "42s",
        "1m05s",
    ]


def test_critical_figures_carry_a_marker_not_just_a_colour():
    assert percent(0.51, 0.95, UNICODE) == "51%"
    assert percent(0.97, 0.95, UNICODE) == "97%!"


def test_bars_have_exact_width_and_ascii_bars_show_their_ends():
    o, full, empty, c = bar(0.5, 12, ASCII)
    assert o + full + empty + c == "[#####.....]"
    o, full, empty, c = bar(0.5, 10, UNICODE)
    assert o + full + empty + c == "█████░░░░░"
    # A sliver of use still shows.
    assert bar(0.001, 10, UNICODE)[1] == "█"
    assert bar(1.7, 6, UNICODE)[1] == "██████"


def test_sparkline_is_right_aligned_scaled_and_shows_gaps():
    line = sparkline([0, 50, 100, None, 100], 8, UNICODE, top=100)
    assert line == "   ▁▅█ █"
    assert sparkline(range(100), 5, ASCII, top=99).isascii()
    assert sparkline([], 4, UNICODE) == "    "


def test_core_strip_averages_neighbours_on_big_machines():
    assert core_strip([100.0] * 4, 10, UNICODE) == "████"
    strip = core_strip([100.0, 0.0] * 64, 32, UNICODE)
    assert len(strip) == 32


def test_fit_and_wrapping_never_exceed_the_width():
    assert fit("NVIDIA GeForce RTX 4090", 10, UNICODE) == "NVIDIA Ge…"
    assert fit("NVIDIA GeForce RTX 4090", 10, ASCII) == "NVIDIA Ge~"
    lines = flow(["57 tok", "TTFT 0.20s", "decode 29.5/s", "prefill 2.6k/s"], 20)
    assert lines == ["  57 tok TTFT 0.20s", "  decode 29.5/s", "  prefill 2.6k/s"]
    assert flow(["a", "b"], 20, max_lines=1) == ["  a b"]
    reason = "No NVIDIA driver (NVML: Driver Not Loaded)"
    wrapped = wrap_words(reason, 16, 2, ASCII)
    assert len(wrapped) == 2 and all(len(x) <= 16 for x in wrapped)
    assert wrapped[-1].endswith("~")
