"""The heuristics stage's Spark pieces, warm, in one session: CPU seconds of the process tree per piece.

    PYTHONPATH=TREE .venv/bin/python bench/bench_heuristics_pieces.py TREE mkscores,score,score,decide,decide

Pieces (19,250 harness documents, the langid output under .cache/bench/prep/, local[2]): ``mkscores`` and
``score`` = TREE's ``HeuristicsStage.score`` + sort by id + Parquet write (``mkscores`` keeps it for ``decide``;
the first piece of a session also starts the Python workers), ``decide`` = ``decide`` + sort + write
partitioned by ``kept`` as the runner does, ``copy`` = read + write without Python. Prints one JSON line per
piece; run it for two trees in turn and compare within one series.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
import time
from pathlib import Path

TREE, PIECES = sys.argv[1], sys.argv[2].split(",")
sys.path.insert(0, TREE)

from pyspark.sql import functions as F  # noqa: E402

from bench.measure import tree_cpu_seconds as tree_cpu  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.spark import get_spark  # noqa: E402
from stages.base import StageContext  # noqa: E402
from stages.heuristics import HeuristicsStage  # noqa: E402

INPUT = sorted(glob.glob(f"{TREE}/.cache/bench/prep/corpus-20000-*/stages/02_langid/data"))[0]
SCRATCH = Path("/tmp/bench-heuristics-pieces")


def main() -> None:
    config = load_config(f"{TREE}/configs/sample.yaml")
    spark = get_spark("bench-pieces", "local[2]", {**config.spark.conf, "spark.ui.showConsoleProgress": "false"})
    stage = HeuristicsStage(config.stages.heuristics)
    ctx = StageContext(spark=spark, seed=1, partitions=2, scratch_dir=SCRATCH / "scratch")
    df, out, scores = spark.read.parquet(INPUT), str(SCRATCH / "out"), str(SCRATCH / "scores")
    pieces = {
        "copy": lambda: df.sortWithinPartitions("id").write.parquet(out),
        "score": lambda: stage.score(df, ctx).sortWithinPartitions("id").write.parquet(out),
        "mkscores": lambda: stage.score(df, ctx).sortWithinPartitions("id").write.mode("overwrite").parquet(scores),
        "decide": lambda: (
            stage.decide(spark.read.parquet(scores), ctx)
            .withColumn("kept", F.col("reason").isNull())
            .sortWithinPartitions("id")
            .write.partitionBy("kept")
            .parquet(out)
        ),
    }
    for piece in PIECES:
        shutil.rmtree(out, ignore_errors=True)
        cpu, wall = tree_cpu(), time.time()
        pieces[piece]()
        row = {"piece": piece, "cpu_s": round(tree_cpu() - cpu, 2), "wall_s": round(time.time() - wall, 1)}
        print(json.dumps(row | {"load": round(os.getloadavg()[0], 2)}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
