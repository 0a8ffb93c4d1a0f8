"""Wall time and CPU time of this process tree, for benchmarks on a shared, loaded machine.

CPU seconds count this process, the Spark JVM it started and the Python workers under it
(including exited children they reaped), so a Spark stage and a one-thread loop can be
compared per CPU second even when other jobs slow the wall clock down.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import psutil


def tree_cpu_seconds() -> float:
    total = 0.0
    root = psutil.Process()
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def measure(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of the process tree, result) of ``fn()``."""
    wall, cpu = time.perf_counter(), tree_cpu_seconds()
    result = fn()
    return time.perf_counter() - wall, tree_cpu_seconds() - cpu, result
