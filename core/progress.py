"""Progress of a running stage or of the shards' tokenizing pass: documents done, rate and ETA, logged
at an interval.

The counts come from an accumulator that the pass over the input documents adds to on the executors
(``core.spark_batches.counting_documents``); Spark sends them to the driver as each task finishes, so
the count moves in steps of one partition (more partitions, finer steps). Used by the runner (pipeline)
and the shard writer (trainer_output), so it lives on the ground floor.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from core.spark_batches import counting_documents

log = logging.getLogger("corpus")


def progress_line(label: str, done: int, total: int, elapsed: float) -> str:
    """One progress log line; the ETA assumes the rate so far holds."""
    clock = f"{_duration(elapsed)} elapsed"
    if done == 0:
        return f"{label} 0 of {total:,} documents so far (counts arrive as tasks finish), {clock}"
    if done >= total:
        return f"{label} all {total:,} documents processed; finishing the stage (joins, writing), {clock}"
    rate = done / max(elapsed, 1e-9)
    return (
        f"{label} {done:,} of {total:,} documents ({100 * done / total:.1f}%), {rate:,.0f} documents/s, "
        f"ETA {_duration((total - done) / rate)}, {clock}"
    )


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class StageProgress:
    """Counts the documents of the stage built and run inside the ``with`` block and logs a progress
    line every ``interval`` seconds (0: counts only, no log lines)."""

    def __init__(self, spark: Any, label: str, total: int, interval: float):
        self.label, self.total, self.interval = label, total, interval
        self.accumulator = spark.sparkContext.accumulator(0)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._report, name=f"progress {label}", daemon=True)
        self.counting = counting_documents(self.accumulator)

    @property
    def done(self) -> int:
        return self.accumulator.value

    def __enter__(self) -> StageProgress:
        self.started = time.monotonic()
        self.counting.__enter__()
        if self.interval > 0:
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()
        self.counting.__exit__(*exc)

    def _report(self) -> None:
        while not self.stopped.wait(self.interval):
            log.info(progress_line(self.label, self.done, self.total, time.monotonic() - self.started))
