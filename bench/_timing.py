"""Small timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def measure(fn: Callable[[], object], *, repeat: int, warmup: int = 2) -> list[float]:
    """Wall-clock milliseconds of ``repeat`` calls after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 0.5):8.2f} ms   p95 {percentile(samples, 0.95):8.2f} ms   "
        f"mean {statistics.fmean(samples):8.2f} ms   n={len(samples)}"
    )


def measure_both(fn: Callable[[], object], *, repeat: int, warmup: int = 2) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds (this process, all its threads) of ``repeat`` calls. On a
    shared machine the wall time is mostly waiting for a core; the CPU time is what one call
    costs on a free one."""
    for _ in range(warmup):
        fn()
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    return walls, cpus


def cpu_summary(samples: list[float]) -> str:
    return f"cpu p50 {percentile(samples, 0.5):8.2f} ms   p95 {percentile(samples, 0.95):8.2f} ms"
