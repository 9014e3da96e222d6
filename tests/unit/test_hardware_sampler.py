"""The background sampler: figures refresh faster while generating, stop entirely while the
pane is hidden, and a broken consumer or a slow probe never stops the app."""

from __future__ import annotations

import threading
import time

import pytest

from tui.hardware import HardwareProbe, Sampler


def wait_until(predicate, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture
def probe():
    probe = HardwareProbe(use_nvml=False)
    yield probe
    probe.close()


def test_samples_arrive_on_a_background_thread(probe):
    threads = []
    sampler = Sampler(probe, lambda s: threads.append(threading.current_thread()), interval=0.01)
    sampler.start(paused=False)
    try:
        assert wait_until(lambda: len(threads) >= 3)
    finally:
        sampler.stop()
    assert threading.main_thread() not in threads
    assert not sampler.running


def test_fast_interval_while_generating_gives_more_samples(probe):
    seen = []
    sampler = Sampler(probe, seen.append, interval=0.5, fast_interval=0.02)
    sampler.start(paused=False)
    try:
        time.sleep(0.25)
        slow = len(seen)
        sampler.set_fast(True)
        time.sleep(0.25)
        fast = len(seen) - slow
    finally:
        sampler.stop()
    assert slow <= 2
    assert fast >= 5


def test_paused_sampler_takes_no_samples_and_resume_samples_at_once(probe):
    seen = []
    sampler = Sampler(probe, seen.append, interval=0.01)
    sampler.start(paused=True)
    try:
        time.sleep(0.1)
        assert seen == []
        sampler.resume()
        assert wait_until(lambda: len(seen) >= 1, timeout=0.5)
        sampler.pause()
        time.sleep(0.03)  # a sample already in flight may still land
        count = len(seen)
        time.sleep(0.1)
        assert len(seen) == count
    finally:
        sampler.stop()


def test_resume_does_not_wait_for_a_long_interval(probe):
    seen = []
    sampler = Sampler(probe, seen.append, interval=30.0)
    sampler.start(paused=False)
    try:
        assert wait_until(lambda: len(seen) == 1)
        sampler.pause()
        sampler.resume()
        assert wait_until(lambda: len(seen) == 2, timeout=0.5)
    finally:
        sampler.stop()


def test_a_failing_callback_does_not_stop_sampling(probe):
    calls = []

    def flaky(snapshot):
        calls.append(snapshot)
        raise ValueError("consumer bug")

    sampler = Sampler(probe, flaky, interval=0.01)
    sampler.start(paused=False)
    try:
        assert wait_until(lambda: len(calls) >= 3)
    finally:
        sampler.stop()


def test_stop_returns_promptly_even_with_a_long_interval(probe):
    sampler = Sampler(probe, lambda s: None, interval=60.0)
    sampler.start(paused=False)
    time.sleep(0.05)
    t0 = time.monotonic()
    sampler.stop()
    assert time.monotonic() - t0 < 0.5
    assert not sampler.running


def test_intervals_must_be_positive(probe):
    with pytest.raises(ValueError):
        Sampler(probe, lambda s: None, interval=0)
