"""The figures a download shows: bytes of the total, rate, time left, read as people say them."""

from __future__ import annotations

from tui.models.download_progress import (
    DownloadProgress,
    RateMeter,
    bytes_figure,
    human_duration,
    progress_line,
    short_line,
)


def test_bytes_are_written_in_the_totals_unit() -> None:
    assert bytes_figure(4_100_000_000, 16_400_000_000) == "4.10 of 16.4 GB"
    assert bytes_figure(0, 3_250_000) == "0.00 of 3.25 MB"
    assert bytes_figure(12_300_000_000, 16_400_000_000) == "12.3 of 16.4 GB"
    assert bytes_figure(150_000_000_000, 160_000_000_000) == "150 of 160 GB"


def test_durations_round_as_people_say_them() -> None:
    assert [human_duration(s) for s in (None, 4.4, 59, 61, 3599, 3600, 4330)] == [
        "?",
        "4 s",
        "59 s",
        "1 min",
        "60 min",
        "1 h",
        "1 h 12 min",
    ]


def test_the_line_has_files_bytes_rate_and_time_left() -> None:
    p = DownloadProgress("Qwen/Qwen3-8B", 3, 9, 4_100_000_000, 16_400_000_000, "x", 52e6, 236.5)
    assert progress_line(p) == "3/9 files · 4.10 of 16.4 GB · 52 MB/s · 4 min left"
    assert short_line(p) == "Qwen3-8B 25% · 4.10 of 16.4 GB · 52 MB/s · 4 min left"
    starting = DownloadProgress("a/b", 0, 9, 0, 100)
    assert progress_line(starting) == "0/9 files · 0 of 100 B · starting…"


def test_rate_is_over_a_trailing_window_and_bytes_found_on_disk_are_not_a_burst() -> None:
    now = [0.0]
    meter = RateMeter(window_s=5.0, clock=lambda: now[0])
    meter.start()
    assert meter.rate() is None
    for _ in range(20):  # 1 MB every half second: 2 MB/s
        now[0] += 0.5
        meter.add(1_000_000)
    assert meter.rate() == 2_000_000
    assert meter.eta(10_000_000) == 5.0
    now[0] += 5.0  # the link stalls: the rate falls instead of freezing
    assert meter.rate() < 2_000_000
