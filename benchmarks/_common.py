"""Shared plumbing for the benchmarks: timing, the final JSON line (see shared/BENCHMARKS.md), and
the same record saved as `benchmarks/results/NAME.json` (`NAME.quick.json` for a `--quick` run;
`$DIFSCI_BENCH_RESULTS` names another folder), which `benchmarks/readme_table.py` turns into the
README's performance table."""

import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

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


def results_dir() -> Path:
    """Where `report` saves its records: `$DIFSCI_BENCH_RESULTS`, else `benchmarks/results`."""
    return Path(os.environ.get("DIFSCI_BENCH_RESULTS") or Path(__file__).with_name("results"))


def report(benchmark: str, metrics: dict, held_equal: str) -> Path | None:
    """Print the one-line JSON summary every benchmark ends with, and save it (with the date,
    the command and whether it was a `--quick` run) in `results_dir()`; returns the file.

    Saved only when a benchmark script is the program (`python benchmarks/NAME.py`) or
    `$DIFSCI_BENCH_RESULTS` is set, so a test importing a benchmark never overwrites the records."""
    print(json.dumps({"benchmark": benchmark, "machine": machine(), "metrics": metrics, "held_equal": held_equal}))
    script = Path(sys.argv[0]).resolve()
    if script.parent != Path(__file__).resolve().parent and not os.environ.get("DIFSCI_BENCH_RESULTS"):
        return None
    quick = "--quick" in sys.argv[1:]
    record = {
        "benchmark": benchmark,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "machine": machine(),
        "command": " ".join(["python", f"benchmarks/{script.name}", *sys.argv[1:]]),
        "quick": quick,
        "metrics": metrics,
        "held_equal": held_equal,
    }
    path = results_dir() / f"{benchmark}{'.quick' if quick else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
