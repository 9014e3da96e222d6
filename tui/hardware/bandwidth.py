"""Memory bandwidth, and the decode speed it allows: the roofline and the picker's estimates.

Decoding one token reads every weight once (plus the KV cache), so a model cannot decode faster
than `bandwidth / bytes read per token`. The GPU figure comes from NVML (bus width x max memory
clock x 2) or, failing that, a table of known cards; the CPU figure is measured once per machine
with a short multi-threaded copy and cached, because no API reports it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from tui.paths import cache_dir, ensure_private_dir

GB = 1e9

# Peak memory bandwidth of cards people run models on, bytes/s, from the vendors' spec sheets.
# Matched against the NVML name (upper-cased, "-" and "_" read as spaces), most specific first:
# word boundaries keep "L4" from matching "L40S".
KNOWN_GPUS: tuple[tuple[str, float], ...] = (
    (r"\bB200\b", 8000 * GB),
    (r"\bGH200\b", 4000 * GB),
    (r"\bH200\b", 4800 * GB),
    (r"\bH100\b.*\bNVL\b", 3900 * GB),
    (r"\bH100\b.*\bPCIE\b", 2000 * GB),
    (r"\bH100\b", 3350 * GB),  # SXM5, HBM3
    (r"\bH800\b.*\bPCIE\b", 2000 * GB),
    (r"\bH800\b", 3350 * GB),
    (r"\bA100\b.*\b80GB\b.*\bPCIE\b", 1935 * GB),
    (r"\bA100\b.*\bPCIE\b.*\b80GB\b", 1935 * GB),
    (r"\bA100\b.*\b80GB\b", 2039 * GB),  # SXM4 80GB
    (r"\bA100\b", 1555 * GB),  # 40GB, SXM4 and PCIe
    (r"\bA800\b.*\b80GB\b", 2039 * GB),
    (r"\bL40S\b", 864 * GB),
    (r"\bL40\b", 864 * GB),
    (r"\bL4\b", 300 * GB),
    (r"\bA10G\b", 600 * GB),
    (r"\bA10\b", 600 * GB),
    (r"\bA40\b", 696 * GB),
    (r"\bA30\b", 933 * GB),
    (r"\bT4\b", 320 * GB),
    (r"\bV100\b", 900 * GB),
    (r"\bRTX 6000 ADA\b", 960 * GB),
    (r"\bRTX A6000\b", 768 * GB),
    (r"\bRTX 5090\b", 1792 * GB),
    (r"\bRTX 4090\b", 1008 * GB),
    (r"\bRTX 4080\b", 717 * GB),
    (r"\bRTX 3090 TI\b", 1008 * GB),
    (r"\bRTX 3090\b", 936 * GB),
    (r"\bRTX 3080\b", 760 * GB),
)


def known_gpu_bandwidth(name: str) -> float | None:
    """Peak bandwidth (bytes/s) of a card by its NVML name, or None if not in the table."""
    normal = re.sub(r"[-_]", " ", name.upper())
    for pattern, value in KNOWN_GPUS:
        if re.search(pattern, normal):
            return value
    return None


def nvml_bandwidth(bus_width_bits: int | None, max_mem_clock_mhz: int | None) -> float | None:
    """Peak bandwidth from NVML's figures: bytes per transfer x transfers per second.

    nvmlDeviceGetMemoryBusWidth is in bits and nvmlDeviceGetMaxClockInfo(NVML_CLOCK_MEM) in
    MHz; NVML's memory clock counts one edge, so data moves twice per clock. Checked against
    spec sheets: A100 40GB 5120 bit x 1215 MHz -> 1555 GB/s; H100 SXM 5120 x 2619 -> 3352;
    RTX 4090 384 x 10501 -> 1008; T4 256 x 5001 -> 320.
    """
    if not bus_width_bits or not max_mem_clock_mhz:
        return None
    return bus_width_bits / 8 * max_mem_clock_mhz * 1e6 * 2


def gpu_peak_bandwidth(
    name: str, bus_width_bits: int | None = None, max_mem_clock_mhz: int | None = None
) -> tuple[float | None, str | None]:
    """(bytes/s, source) for a GPU: NVML's figure, unless it disagrees with the table by more
    than 2x (a driver reporting odd units), then the table; None when neither knows."""
    computed = nvml_bandwidth(bus_width_bits, max_mem_clock_mhz)
    table = known_gpu_bandwidth(name)
    if computed and table and not 0.5 <= computed / table <= 2.0:
        return table, "table"
    if computed:
        return computed, "nvml"
    if table:
        return table, "table"
    return None, None


# Bytes per weight by dtype name, accepting the spellings torch, HF and our CLI use.
_DTYPE_BYTES = {
    "fp32": 4.0,
    "float32": 4.0,
    "float": 4.0,
    "fp16": 2.0,
    "float16": 2.0,
    "half": 2.0,
    "bf16": 2.0,
    "bfloat16": 2.0,
    "fp8": 1.0,
    "float8_e4m3fn": 1.0,
    "float8_e5m2": 1.0,
    "int8": 1.0,
}

# Quantisations: bits per weight including scales, so the bound is not flattered.
# bitsandbytes nf4 with double quantisation is ~4.13 bits; GGUF figures are llama.cpp's.
_QUANT_BITS = {
    "8bit": 8.0,
    "int8": 8.0,
    "llm.int8": 8.0,
    "4bit": 4.13,
    "nf4": 4.13,
    "fp4": 4.13,
    "int4": 4.5,
    "q8_0": 8.5,
    "q6_k": 6.56,
    "q5_k_m": 5.69,
    "q5_k_s": 5.52,
    "q5_0": 5.5,
    "q4_k_m": 4.85,
    "q4_k_s": 4.58,
    "q4_0": 4.5,
    "q3_k_m": 3.91,
    "q2_k": 2.63,
}


def bytes_per_param(dtype: str | None, quantization: str | None = None) -> float | None:
    """Bytes one weight occupies when read, from the loaded dtype and quantisation, or None
    when unknown ("auto" before loading, an exotic format)."""
    if quantization:
        key = quantization.strip().lower().replace("-", "_")
        if key in _QUANT_BITS:
            return _QUANT_BITS[key] / 8
        match = re.search(r"(\d+)\s*bit", key)
        if match:
            return int(match.group(1)) / 8
        return None
    if not dtype:
        return None
    key = dtype.strip().lower().removeprefix("torch.")
    return _DTYPE_BYTES.get(key)


def bytes_per_token(active_params: float, bytes_per_param: float) -> float:
    """Bytes read from memory to decode one token: every active weight once. The KV cache
    adds to this as the context grows, so the resulting bound is an upper bound."""
    return float(active_params) * float(bytes_per_param)


def decode_bound_tps(bandwidth_bytes_per_s: float, bytes_read_per_token: float) -> float:
    """The memory-bandwidth roofline: the most tokens/s a decode can reach. Zero when either
    figure is missing or not positive, so callers can treat "no bound" uniformly."""
    if bandwidth_bytes_per_s <= 0 or bytes_read_per_token <= 0:
        return 0.0
    return bandwidth_bytes_per_s / bytes_read_per_token


def estimate_decode_tps(
    bandwidth_bytes_per_s: float | None,
    params: int | None,
    dtype: str | None,
    quantization: str | None = None,
) -> float | None:
    """Bound on decode tokens/s for a model, or None if any figure is unknown: what the model
    picker shows next to each candidate."""
    bpp = bytes_per_param(dtype, quantization)
    if not bandwidth_bytes_per_s or not params or not bpp:
        return None
    return decode_bound_tps(bandwidth_bytes_per_s, bytes_per_token(params, bpp))


# -- CPU bandwidth: measured once per machine --------------------------------------------------

CACHE_VERSION = 1
_measure_lock = threading.Lock()


def cache_file() -> Path:
    return cache_dir() / "bandwidth.json"


def machine_key() -> str:
    """Identifies the machine in the cache: home folders are often shared (NFS) across boxes
    with different memory systems, so one figure per host and CPU model."""
    return f"{socket.gethostname()}|{cpu_model()}|{os.cpu_count()}"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _worker_count() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 32))


def _default_size(threads: int) -> int:
    """Big enough that each thread's share overflows its slice of last-level cache (a server
    CPU can have hundreds of MB of L3), small enough to allocate quickly on a busy box."""
    mib = 1024 * 1024
    size = min(max(threads * 16 * mib, 128 * mib), 512 * mib)
    try:
        import psutil

        size = min(size, psutil.virtual_memory().available // 8)
    except Exception:
        pass
    return max(size, 16 * mib)


def measure_cpu_bandwidth(
    size_bytes: int | None = None,
    seconds: float = 0.2,
    threads: int | None = None,
) -> float:
    """Copy a buffer larger than any cache a few times across threads and return the best
    rate in bytes/s, counting read + write as STREAM's "copy" does.

    Threads, because one core cannot saturate a server's memory controllers and CPU inference
    uses them all; numpy releases the GIL while copying. Falls back to a single-threaded
    bytearray copy without numpy (an underestimate).
    """
    threads = threads or _worker_count()
    size_bytes = size_bytes or _default_size(threads)
    try:
        import numpy as np
    except ImportError:
        return _measure_bytes_copy(min(size_bytes, 64 * 1024 * 1024), seconds)
    n = max(size_bytes // 8, threads * 1024)
    src = np.ones(n, dtype=np.float64)  # written, so the pages are really mapped
    dst = np.empty(n, dtype=np.float64)  # mapped by the warm-up copy
    bounds = [(n * i // threads, n * (i + 1) // threads) for i in range(threads)]

    def copy_part(i: int) -> None:
        a, b = bounds[i]
        np.copyto(dst[a:b], src[a:b])

    best = float("inf")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(copy_part, range(threads)))  # warm-up: thread start and TLB
        deadline = time.perf_counter() + seconds
        reps = 0
        while reps < 2 or (time.perf_counter() < deadline and reps < 50):
            t0 = time.perf_counter()
            list(pool.map(copy_part, range(threads)))
            best = min(best, time.perf_counter() - t0)
            reps += 1
    return 2 * n * 8 / best


def _measure_bytes_copy(size_bytes: int, seconds: float) -> float:
    src = bytearray(b"\x01") * size_bytes
    dst = bytearray(size_bytes)
    best = float("inf")
    deadline = time.perf_counter() + seconds
    reps = 0
    while reps < 2 or (time.perf_counter() < deadline and reps < 20):
        t0 = time.perf_counter()
        dst[:] = src
        best = min(best, time.perf_counter() - t0)
        reps += 1
    return 2 * size_bytes / best


def read_cached_cpu_bandwidth(path: Path | None = None) -> float | None:
    """The cached figure for this machine, or None. Never measures, never raises."""
    path = path or cache_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = data["cpu"][machine_key()]
        value = float(entry["bytes_per_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if value > 0 else None


def cpu_bandwidth(
    *,
    path: Path | None = None,
    refresh: bool = False,
    measure: Callable[[], float] | None = None,
) -> float | None:
    """This machine's CPU memory bandwidth in bytes/s: cached, else measured (~0.3 s of full
    memory traffic: call it off the UI thread and not while a reply is decoding) and saved.
    Returns None only if measuring fails."""
    path = path or cache_file()
    if not refresh:
        cached = read_cached_cpu_bandwidth(path)
        if cached:
            return cached
    with _measure_lock:  # two panes or a pane and the picker must not measure concurrently
        if not refresh:
            cached = read_cached_cpu_bandwidth(path)
            if cached:
                return cached
        try:
            value = float((measure or measure_cpu_bandwidth)())
        except Exception:
            return None
        if value > 0:
            _save(path, value)
        return value if value > 0 else None


def _save(path: Path, value: float) -> None:
    """Merge this machine's entry into the cache file atomically; a cache that cannot be
    written is not an error (the figure is just measured again next time)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("cpu"), dict):
            raise ValueError
    except (OSError, ValueError):
        data = {"version": CACHE_VERSION, "cpu": {}}
    data["cpu"][machine_key()] = {
        "bytes_per_s": value,
        "measured": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "threads": _worker_count(),
    }
    try:
        ensure_private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".bandwidth-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass
