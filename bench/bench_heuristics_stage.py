"""The heuristics STAGE (not only its scoring function) of one source tree, timed through the runner.

    PYTHONPATH=TREE .venv/bin/python bench/bench_heuristics_stage.py TREE INPUT OUT

Runs ``pipeline.runner.run_stage`` of TREE's ``HeuristicsStage`` (configs/sample.yaml, rejects published
with ``privacy.rejects_text=none`` as in the 1M harness run) on INPUT (a langid output folder) into OUT,
local[2]; prints one JSON line: documents, wall and CPU seconds of the process tree (driver, JVM, Python
workers), documents per CPU second, and the seconds of each runner phase. Run it for two trees in turn
(e.g. a `git archive main` copy and this one) on the same input, and compare their outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

TREE, INPUT, OUT = sys.argv[1], sys.argv[2], Path(sys.argv[3])
sys.path.insert(0, TREE)


import pipeline.runner as runner  # noqa: E402
from bench.measure import tree_cpu_seconds as tree_cpu  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.privacy import Publishing  # noqa: E402
from pipeline.resume import StepHash  # noqa: E402
from pipeline.spark import get_spark  # noqa: E402
from stages.heuristics import HeuristicsStage  # noqa: E402

PHASES: dict[str, float] = {}


def timed_phase(name: str) -> None:
    """Wrap ``runner.<name>`` so that its seconds add up in ``PHASES``."""
    fn = getattr(runner, name)

    def wrapper(*args, **kwargs):
        started = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            PHASES[name] = round(PHASES.get(name, 0.0) + time.time() - started, 1)

    setattr(runner, name, wrapper)


def main() -> None:
    for name in ("run_scoring", "_write_stage", "_publish_rejects", "_stage_stats"):
        timed_phase(name)
    config = load_config(f"{TREE}/configs/sample.yaml", {"privacy.rejects_text": "none"})
    spark = get_spark(
        "bench-heuristics-stage", "local[2]", {**config.spark.conf, "spark.ui.showConsoleProgress": "false"}
    )
    shutil.rmtree(OUT, ignore_errors=True)
    ctx = runner.stage_context(spark, config, OUT / "scratch")
    load, wall, cpu = os.getloadavg()[0], time.time(), tree_cpu()
    outcome = runner.run_stage(
        HeuristicsStage(config.stages.heuristics),
        spark.read.parquet(INPUT),
        ctx,
        out_dir=OUT / "stage",
        rejects_dir=OUT / "rejects",
        step_hash=StepHash("bench", {}),
        reject_text_chars=config.run.reject_text_chars,
        label="[heuristics]",
        publishing=Publishing.of(config),
    )
    wall, cpu, stats = time.time() - wall, tree_cpu() - cpu, outcome.stats
    row = {"tree": TREE, "docs": stats["rows_in"], "kept": stats["rows_kept"], "wall_s": round(wall, 1)}
    row |= {"cpu_s": round(cpu, 1), "docs_per_cpu_s": round(stats["rows_in"] / cpu), "phases_s": PHASES}
    print(json.dumps(row | {"load": [round(load, 2), round(os.getloadavg()[0], 2)]}))
    spark.stop()


if __name__ == "__main__":
    main()
