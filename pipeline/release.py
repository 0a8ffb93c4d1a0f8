"""`corpus release`: publish a finished run's dedup state as a release that later runs deduplicate against.

The tables (see ``releases/index.py``) are computed from the run directory alone: the documents that
entered each dedup stage (the previous stage's ``data/``), the MinHash stage's clusters (its kept rows
and rejects), the final documents and the decontamination index. Publishing hashes the run's documents
once more (their signatures and spans); a later run reads only the tables, never this run's text.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.config import PipelineConfig, load_config
from pipeline.privacy import RunFolders
from pipeline.resume import SUCCESS, stage_dir_name, temp_dir
from pipeline.runner import DATA, read_stage_output, stage_context
from releases.index import DOCUMENTS, FORMAT_VERSION, ReleaseError, eval_ngram_tables, write_manifest
from stages.base import Stage
from stages.decontaminate import DecontaminateStage
from stages.dedup_minhash import CLUSTER, DedupMinhashStage
from stages.dedup_sentence import DedupSentenceStage

log = logging.getLogger("corpus")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def publish_release(spark: SparkSession, run_dir: str | Path, name: str, into: str | Path) -> Path:
    """Write release ``name`` of the finished run in ``run_dir`` to ``into/name``; return its folder."""
    run_dir, target = Path(run_dir).absolute(), Path(into).absolute() / name
    if not _NAME.match(name):
        raise ReleaseError(f"--name {name!r}: use letters, digits, '.', '_' and '-' (it becomes a folder and a reason)")
    if not (run_dir / "shards" / SUCCESS).exists():
        raise ReleaseError(f"{run_dir} is not a finished run (no shards/{SUCCESS}): run it to the end first")
    if target.exists():
        raise ReleaseError(f"{target} exists already: a release is never overwritten; choose another --name")
    config = load_config(run_dir / "config.resolved.yaml", {"run.output_dir": str(run_dir)})
    started = time.time()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_dir(target.parent)
    try:
        ctx = stage_context(spark, config, staging / "scratch")
        tables = _stage_tables(spark, config, run_dir, ctx)
        tables[DOCUMENTS] = _documents(read_stage_output(spark, _final_dir(config)))
        rows = write_tables(staging, tables, config.run.partitions)
        parameters = {}
        for stage in _stages(config):
            parameters[stage.release_table] = stage.release_parameters()
            if isinstance(stage, DecontaminateStage):
                for kind, table in eval_ngram_tables(stage.eval_ngrams(ctx)).items():
                    (staging / kind).mkdir()
                    pq.write_table(table, staging / kind / "part-0.parquet")
                    rows[kind] = table.num_rows
        shutil.rmtree(staging / "scratch", ignore_errors=True)
        write_manifest(staging, _manifest(name, run_dir, config, rows, parameters))
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("[release] %s written to %s in %.1fs: %s", name, target, time.time() - started, rows)
    return target


def _stages(config: PipelineConfig) -> list[Stage]:
    """The run's enabled stages that keep a release index."""
    stages = [stage_cls(section) for _, stage_cls, section in config.enabled_stages()]
    return [stage for stage in stages if stage.release_table is not None]


def _stage_tables(spark: SparkSession, config: PipelineConfig, run_dir: Path, ctx) -> dict[str, DataFrame]:
    """The sentence and MinHash index tables, from the documents that entered each stage."""
    folders = RunFolders.of(config)
    tables: dict[str, DataFrame] = {}
    previous = _data_home(folders, 0, "ingest")
    for position, stage_cls, section in config.enabled_stages():
        name = stage_dir_name(position, stage_cls.name)
        stage = stage_cls(section)
        if isinstance(stage, DedupSentenceStage):
            tables.update(stage.release_tables(read_stage_output(spark, previous), ctx))
        elif isinstance(stage, DedupMinhashStage):
            rejects = run_dir / "rejects" / name
            clusters = spark.read.parquet(str(_data_home(folders, position, stage_cls.name) / DATA))
            clusters = clusters.select("id", CLUSTER)
            if rejects.exists():
                clusters = clusters.union(spark.read.parquet(str(rejects)).select("id", CLUSTER))
            tables.update(stage.release_tables(read_stage_output(spark, previous), clusters, ctx))
        previous = _data_home(folders, position, stage_cls.name)
    return tables


def _data_home(folders: RunFolders, position: int, stage_name: str) -> Path:
    """The folder holding a step's ``data/`` (the work area before the pii stage); gone after ``corpus clean
    --work``, which is one error line."""
    home = folders.data_home(position, stage_dir_name(position, stage_name))
    if not (home / DATA).is_dir():
        raise ReleaseError(
            f"{home / DATA} is missing (the run's work area was removed?): rerun the job to recompute it, "
            "then publish the release"
        )
    return home


def _final_dir(config: PipelineConfig) -> Path:
    enabled = config.enabled_stages()
    if not enabled:
        return _data_home(RunFolders.of(config), 0, "ingest")
    position, stage_cls, _ = enabled[-1]
    return _data_home(RunFolders.of(config), position, stage_cls.name)


def _documents(final: DataFrame) -> DataFrame:
    """The shipped documents with the SHA-256 of their final text (exact duplicates) and their provenance."""
    return final.select("id", "source", "file", "line", F.sha2("text", 256).alias("text_sha256"))


def write_tables(folder: Path, tables: dict[str, DataFrame], partitions: int) -> dict[str, int]:
    """Write each table to ``folder/<kind>`` in a fixed partitioning and order (the same run gives the same
    files); their row counts, from the written files."""
    rows = {}
    for kind, frame in tables.items():
        key = frame.columns[0]
        frame.repartition(partitions, key).sortWithinPartitions(*frame.columns).write.parquet(str(folder / kind))
        rows[kind] = frame.sparkSession.read.parquet(str(folder / kind)).count()
    return rows


def _manifest(
    name: str, run_dir: Path, config: PipelineConfig, rows: dict[str, int], parameters: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "name": name,
        "run_dir": str(run_dir),
        "run_config_hash": (run_dir / "config.hash").read_text().strip(),
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source_priority": config.source_priority,
        "against": config.releases.against,
        "tables": rows,
        "parameters": parameters,
    }
