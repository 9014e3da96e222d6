"""The hardware service: one CPU-bandwidth measurement however many panes ask, measured off
the caller's thread; samplers on the shared probe, all stopped (and the probe closed) by close."""

from __future__ import annotations

import threading

from tests.unit.test_hardware_sampler import wait_until
from tui.hardware import HardwareProbe, HardwareService
from tui.hardware import bandwidth as bw


class CountingProbe(HardwareProbe):
    def __init__(self) -> None:
        super().__init__(use_nvml=False)
        self.closes = 0

    def close(self, timeout: float = 2.0) -> None:
        self.closes += 1
        super().close(timeout)


def test_panes_asking_together_share_one_measurement_made_off_their_thread() -> None:
    release = threading.Event()
    calls: list[str] = []

    def measure() -> float:
        calls.append(threading.current_thread().name)
        release.wait(2.0)
        return 40e9

    service = HardwareService(CountingProbe(), cpu_bandwidth_fn=measure)
    got: list[float | None] = []
    service.measure_cpu_bandwidth(got.append)  # the gauges
    service.measure_cpu_bandwidth(got.append)  # the picker, while it is being measured
    assert service.cpu_bandwidth_state == "measuring"
    assert service.known_cpu_bandwidth() is None  # a stand-in has no cache file to peek at
    release.set()
    assert wait_until(lambda: len(got) == 2)
    assert got == [40e9, 40e9] and len(calls) == 1
    assert threading.main_thread().name not in calls
    service.measure_cpu_bandwidth(got.append)  # known: answered at once, not measured again
    assert got[-1] == 40e9 and len(calls) == 1
    assert service.known_cpu_bandwidth() == 40e9
    service.close()


def test_a_failed_measurement_is_reported_and_not_retried() -> None:
    calls: list[int] = []

    def broken() -> float:
        calls.append(1)
        raise OSError("no memory to spare")

    service = HardwareService(CountingProbe(), cpu_bandwidth_fn=broken)
    got: list[float | None] = []
    service.measure_cpu_bandwidth(got.append)
    assert wait_until(lambda: got == [None])
    service.measure_cpu_bandwidth(got.append)
    assert got == [None, None] and len(calls) == 1
    assert service.cpu_bandwidth_state == "failed"
    service.close()


def test_the_default_source_answers_from_the_cache_file_without_measuring(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(bw, "measure_cpu_bandwidth", lambda: 33e9)
    assert bw.cpu_bandwidth() == 33e9  # an earlier run measured and cached it

    def never() -> float:
        raise AssertionError("measured again")

    monkeypatch.setattr(bw, "measure_cpu_bandwidth", never)
    service = HardwareService(CountingProbe())
    assert service.known_cpu_bandwidth() == 33e9
    assert service.cpu_bandwidth_state == "known"
    service.close()


def test_close_stops_every_sampler_and_closes_the_probe_once() -> None:
    probe = CountingProbe()
    service = HardwareService(probe)
    seen: list[object] = []
    gauges = service.sampler(seen.append, interval=0.01)
    picker = service.sampler(seen.append, interval=30.0, once=True)
    gauges.start(paused=False)
    picker.start(paused=False)
    assert wait_until(lambda: gauges.samples >= 3 and picker.samples == 1)
    assert picker.paused  # one sample per showing, then it waits for the next resume()
    service.close()
    service.close()
    assert not gauges.running and not picker.running
    assert probe.closes == 1


def test_a_sampler_with_once_samples_again_on_each_resume() -> None:
    service = HardwareService(CountingProbe())
    sampler = service.sampler(lambda s: None, interval=30.0, once=True)
    sampler.start(paused=True)
    for shown in (1, 2, 3):
        sampler.resume()
        assert wait_until(lambda n=shown: sampler.samples == n and sampler.paused)
    service.close()
