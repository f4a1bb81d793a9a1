"""Shared plumbing for the benchmarks: timing and the final JSON line (see shared/BENCHMARKS.md)."""

import json
import os
import platform
import statistics
import time

import jax


def machine() -> str:
    devices = ", ".join(sorted({d.device_kind for d in jax.devices()}))
    return f"{platform.machine()} {os.cpu_count()} cores; jax devices: {devices}"


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of `fn()` over `repeats` calls (fn must block until done)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(benchmark: str, metrics: dict, held_equal: str) -> None:
    """Print the one-line JSON summary every benchmark ends with."""
    print(json.dumps({"benchmark": benchmark, "machine": machine(), "metrics": metrics, "held_equal": held_equal}))
