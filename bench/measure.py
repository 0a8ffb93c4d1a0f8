"""Wall time and CPU time of this process tree, for benchmarks on a shared, loaded machine.

CPU seconds count this process, the Spark JVM it started and the Python workers under it
(including exited children they reaped), so a Spark stage and a one-thread loop can be
compared per CPU second even when other jobs slow the wall clock down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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


def time_spark_stage(stage: Any, texts: list[str], app_name: str, warmup_docs: int) -> tuple[float, float]:
    """(wall, CPU) seconds of ``stage`` over ``texts`` on local[2], after a warm-up on a few documents.

    The stage's plan is built before timing (``apply`` or ``score`` may check model files), then the
    output is written to Spark's ``noop`` sink so only the work itself is measured; a scored stage's
    time includes writing its scores once, as in a run.
    """
    import tempfile
    from pathlib import Path

    from pipeline.spark import get_spark
    from stages.base import ScoredStage, StageContext

    spark = get_spark(
        app_name,
        master="local[2]",
        conf={
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.memory": "2g",
        },
    )
    with tempfile.TemporaryDirectory() as scratch:
        rows = [(f"d{i}", "web", text) for i, text in enumerate(texts)]
        source = str(Path(scratch) / "input")
        spark.createDataFrame(rows, "id string, source string, text string").repartition(4).write.parquet(source)
        df = spark.read.parquet(source)
        ctx = StageContext(spark=spark, seed=0, partitions=4, scratch_dir=Path(scratch) / "scratch")
        stage.apply(df.limit(warmup_docs), ctx).write.format("noop").mode("overwrite").save()
        if isinstance(stage, ScoredStage):  # scored rows are written once, then decided (as the runner does)
            scored = stage.score(df, ctx)
            run = lambda: stage.decide(ctx.checkpoint(scored, "timed_scores"), ctx)  # noqa: E731
        else:
            out = stage.apply(df, ctx)
            run = lambda: out  # noqa: E731
        wall, cpu, _ = measure(lambda: run().write.format("noop").mode("overwrite").save())
    spark.stop()
    return wall, cpu


def versions_line(*packages: str) -> str:
    """Which versions ran: Python, the project, pyspark and the named libraries and peers (a benchmark
    row means little without them)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    names = ("corpus-pipeline", "pyspark", *packages)
    return f"versions: Python {platform.python_version()}, " + ", ".join(f"{n} {of(n)}" for n in names)
