"""The runner: ingest, then every configured stage in order, with atomic writes,
exact accounting, stats and resume.

Run directory::

    config.resolved.yaml, config.hash
    work/                        the raw work area (or run.work_dir): owner-only, README; data/ (and scores/)
                                 of every stage before pii under work/stages/NN_<stage>/ (pipeline/privacy.py)
    stages/00_ingest/            stats.json + _SUCCESS
    quarantine/                  malformed input records: source, file, line, reason, detail (scrubbed)
    stages/NN_<stage>/           stats.json + _SUCCESS; from pii on also data/ (kept rows, Parquet, scrubbed)
    rejects/NN_<stage>/          rejected rows with `reason` (text, url, meta scrubbed and truncated)
    tokenizer/                   tokenizer.json (byte-level BPE) + stats.json + _SUCCESS
    shards/                      train/ and valid/ Megatron .bin/.idx + manifest.json + stats.json + _SUCCESS
    summary.json                 the funnel: rows in/kept/rejected per stage

A write that fails for lack of permission or space raises OutputError naming the path and the
fix; the failed stage keeps no _SUCCESS or stats.json and its temporary output is removed.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from core.durable import fsync_tree
from core.errors import ConfigError, CorpusError
from core.progress import StageProgress
from pipeline.config import PipelineConfig, canonical_json, digest, dump_resolved
from pipeline.lock import folder_lock
from pipeline.privacy import Publishing, RunFolders, prepare_work_dir
from pipeline.readers import QUARANTINE_COLUMNS, SKIP_PREFIX, quarantined, read_sources, reason_counts
from pipeline.readers.prepare import prepared_aggregates, prepared_stats_of
from pipeline.recipes import unmodelled_language_warnings
from pipeline.resume import (
    INPUT_CHECKSUMS,
    StepHash,
    StepResult,
    clear_marker,
    completed_stats,
    ingest_hash,
    input_files,
    run_settings_hash,
    run_step,
    scoring_hash,
    shards_hash,
    stage_dir_name,
    stage_hash,
    temp_dir,
    tokenizer_hash,
)
from releases.index import load_releases
from stages.base import REASON, ScoredStage, Stage, StageContext
from stages.per_source import build_stage

log = logging.getLogger("corpus")

OUTPUT_MARKER = ".corpus-output"  # in every run directory and `corpus stage` output folder
KEPT_FLAG = "kept"
DATA = "data"
SCORES = "scores"  # a scored stage's rows with their signals, before the decision (stages/NN_name/scores/)


class AccountingError(RuntimeError):
    """rows_in != kept + rejected: a stage lost or invented rows."""


class NothingLeftError(CorpusError, RuntimeError):
    """Every document was rejected or quarantined: there is nothing to tokenize."""


class OutputError(CorpusError, RuntimeError):
    """The run directory cannot be written: no permission, read-only, disk full, or a file in the way."""


_FIX = {
    errno.ENOSPC: "Free space on that disk, or point --output-dir (run.output_dir) at a disk with room",
    errno.EDQUOT: "Free space within your disk quota, or point --output-dir (run.output_dir) elsewhere",
    errno.EACCES: "Make that directory (or the one it is created in) writable for the user running the job "
    "(on a cluster, the executors' user too), or choose another --output-dir (run.output_dir)",
    errno.EROFS: "The file system is read-only: choose another --output-dir (run.output_dir)",
    errno.ENOTDIR: "A file is in the way where a directory is expected: move it, or choose another --output-dir",
}
_FIX[errno.EPERM] = _FIX[errno.EACCES]
_FIX[errno.EEXIST] = _FIX[errno.ENOTDIR]
_SPARK_PATH = re.compile(r"file:(/[^\s,;:()'\"]+)")


@dataclass
class StageOutcome:
    name: str
    stats: dict[str, Any]
    skipped: bool


def stage_context(spark: SparkSession, config: PipelineConfig, scratch_dir: Path) -> StageContext:
    """What a stage gets besides its DataFrame, from the run's settings."""
    return StageContext(
        spark=spark,
        seed=config.run.seed,
        partitions=config.run.partitions,
        scratch_dir=scratch_dir,
        source_priority=config.source_priority,
        progress_interval_s=config.run.progress_interval_s,
        releases=load_releases(config.releases.against),
    )


def read_stage_output(spark: SparkSession, stage_dir: Path) -> DataFrame:
    """A stage's kept rows, without the (all-null) reason column."""
    return spark.read.parquet(str(stage_dir / DATA)).drop(REASON, "detail")


def run_pipeline(spark: SparkSession, config: PipelineConfig, stop_after: str | None = None) -> list[StageOutcome]:
    """Run (or resume) the whole pipeline into ``config.run.output_dir``, holding its lock throughout."""
    preflight(config, stop_after)
    run_dir = Path(config.run.output_dir)
    prepare_output_dir(run_dir, "the run directory")
    with locked(run_dir):
        return _run_locked(spark, config, run_dir, stop_after)


def _run_locked(
    spark: SparkSession, config: PipelineConfig, run_dir: Path, stop_after: str | None
) -> list[StageOutcome]:
    folders = RunFolders.of(config)
    publishing = Publishing.of(config)
    prepare_work_area(folders.work_dir)
    with writing(run_dir, "the run directory"):
        for stale in [
            *run_dir.glob(".tmp-*"),
            *run_dir.glob("stages/*/.tmp-*"),
            *run_dir.glob("rejects/.tmp-*"),
            *folders.work_dir.glob(".tmp-*"),
            *folders.work_dir.glob("stages/*/.tmp-*"),
            *folders.work_dir.glob("stages/*/scores/.tmp-*"),
        ]:
            shutil.rmtree(stale)
        (run_dir / "config.resolved.yaml").write_text(dump_resolved(config), encoding="utf-8")
        (run_dir / "config.hash").write_text(digest(config.model_dump(mode="json")) + "\n")
    ctx = stage_context(spark, config, folders.work_dir / "scratch")

    with writing(run_dir, "stage ingest"):
        files = input_files(spark, list(config.sources), config.run.input_fingerprint, run_dir / INPUT_CHECKSUMS)
        ingest_step_hash = ingest_hash(list(config.sources), config.ingest, config.run.partitions, files)
    chain_hash = run_settings_hash(ingest_step_hash, config)
    planned = [] if stop_after == "ingest" else config.enabled_stages()
    if stop_after is not None and stop_after != "ingest":
        planned = planned[: [stage.name for _, stage, _ in planned].index(stop_after) + 1]
    steps = plan_stages(config, planned, chain_hash)
    outcomes, resume_at = resume_point(folders, ingest_step_hash, steps)
    if resume_at < 0:
        with writing(run_dir, "stage ingest"):
            outcomes = [run_ingest(spark, config, folders, ingest_step_hash, publishing)]
        resume_at = 0
    previous = folders.data_home(0, stage_dir_name(0, "ingest"))
    if resume_at > 0:
        position, stage, _, _ = steps[resume_at - 1]
        previous = folders.data_home(position, stage_dir_name(position, stage.name))
    for step, (position, stage, scores_hash, chain_hash) in enumerate(steps, start=1):
        if step <= resume_at:
            continue
        name = stage_dir_name(position, stage.name)
        with writing(run_dir, f"stage {stage.name}"):
            outcome = run_stage(
                stage,
                read_stage_output(spark, previous),
                ctx,
                out_dir=folders.stage_dir(name),
                rejects_dir=run_dir / "rejects" / name,
                step_hash=chain_hash,
                reject_text_chars=config.run.reject_text_chars,
                label=f"[{step}/{len(steps)} {stage.name}]",
                position=position,
                scores_hash=scores_hash,
                data_home=folders.data_home(position, name),
                publishing=publishing,
            )
        outcomes.append(outcome)
        previous = folders.data_home(position, name)
    with writing(run_dir, "the run directory"):
        write_summary(run_dir, outcomes)
    if stop_after is None:
        if outcomes[-1].stats["rows_kept"] == 0:
            raise NothingLeftError(nothing_left_message(run_dir, outcomes))
        with writing(run_dir, "the tokenizer and shards"):
            run_outputs(spark, config, run_dir, read_stage_output(spark, previous), chain_hash)
    shutil.rmtree(ctx.scratch_dir, ignore_errors=True)
    return outcomes


def prepare_work_area(work: Path) -> None:
    """The raw work area: refused if it is a folder of something else, else created owner-only with its README."""
    prepare_output_dir(work, "the work area (run.work_dir)")
    with writing(work, "the work area"):
        prepare_work_dir(work)


def plan_stages(
    config: PipelineConfig, planned: list, chain_hash: StepHash
) -> list[tuple[int, Stage, StepHash | None, StepHash]]:
    """(position, stage, its scores hash, its hash) of each stage to run, in order; a stage with settings per
    source is run per group of sources (stages/per_source.py)."""
    steps = []
    for position, stage_cls, section in planned:
        stage = build_stage(stage_cls, section, config.source_sections(stage_cls.name))
        scores_hash = scoring_hash(chain_hash, stage)
        chain_hash = stage_hash(chain_hash, stage)
        steps.append((position, stage, scores_hash, chain_hash))
    return steps


def resume_point(folders: RunFolders, ingest_step_hash: StepHash, steps: list) -> tuple[list[StageOutcome], int]:
    """Skip straight to the last step whose data is still there when it and every step before it are complete
    (after ``corpus clean --work`` only the published pii data is left, and nothing before it must rerun).
    Returns the outcomes of the skipped steps and the index of that step (0 = ingest, k = the k-th stage;
    -1: ingest is not complete)."""
    chain = [(0, "ingest", ingest_step_hash), *[(p, stage.name, h) for p, stage, _, h in steps]]
    outcomes, best = [], -1
    for index, (position, name, step_hash) in enumerate(chain):
        folder = stage_dir_name(position, name)
        stats = completed_stats(folders.stage_dir(folder), step_hash.value)
        if stats is None:
            break
        outcomes.append(StageOutcome(name, stats, skipped=True))
        if (folders.data_home(position, folder) / DATA).is_dir():
            best = index
    if best >= 0:
        log.info("complete up to %s with its data: the steps before it are skipped", chain[best][1])
    return outcomes[: best + 1], best


def preflight(config: PipelineConfig, stop_after: str | None = None) -> None:
    """Cheap checks before any Spark work: ``--stop-after`` names ingest or an enabled stage, and
    every stage that will run has its model files, eval sets and environment."""
    names = ["ingest", *(stage.name for _, stage, _ in config.enabled_stages())]
    if stop_after is not None and stop_after not in names:
        raise ConfigError(f"--stop-after {stop_after!r} is not a stage of this run; choose one of: {', '.join(names)}")
    for warning in unmodelled_language_warnings(config):
        log.warning(warning)
    releases = load_releases(config.releases.against)
    for _, stage_cls, section in config.enabled_stages():
        if stop_after == "ingest":
            break
        stage = build_stage(stage_cls, section, config.source_sections(stage_cls.name))
        stage.preflight()
        stage.check_releases(releases)  # before any Spark work: one error line naming the key
        if stop_after == stage_cls.name:
            break
    Publishing.of(config).preflight()


def nothing_left_message(run_dir: Path, outcomes: list[StageOutcome]) -> str:
    """Which stages removed the documents, with their main reasons, and where to look."""
    removed = []
    for outcome in outcomes:
        stats = outcome.stats
        if stats["rows_in"] - stats["rows_kept"]:
            top = ", ".join(f"{reason} {count}" for reason, count in list(stats["reasons"].items())[:3])
            removed.append(f"{outcome.name} {stats['rows_in'] - stats['rows_kept']} ({top})")
    return (
        f"no documents left after the last stage, so no tokenizer was trained and no shards were written. "
        f"Removed by: {'; '.join(removed) or 'nothing (the input had no documents)'}. "
        f"See {run_dir / 'rejects'} and `corpus inspect {run_dir}`; loosen that stage's thresholds or check "
        f"the input, then rerun (complete stages are skipped)."
    )


def prepare_output_dir(folder: Path, what: str) -> None:
    """Create an output folder, or take one this tool wrote before, and check that files can be created
    in it (cheap: before Spark starts). A non-empty folder without the tool's marker file is refused:
    its ``data/``, ``rejects/``, ``README.md``, ... would be replaced."""
    marker = folder / OUTPUT_MARKER
    try:
        if (
            folder.is_dir() and not marker.exists() and not (folder / "config.hash").exists() and any(folder.iterdir())
        ):  # config.hash: a run directory of an earlier version
            raise OutputError(
                f"cannot write {what}: {folder} is not empty and was not written by this tool "
                f"(no {OUTPUT_MARKER} file); its folders would be replaced. Choose a new or empty "
                f"folder (or remove this one)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError as error:
        raise _output_error(what, folder, error) from error


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock (see pipeline/lock.py); a failure to write it is an OutputError."""
    with ExitStack() as stack:
        with writing(run_dir, "the run lock"):
            stack.enter_context(folder_lock(run_dir))
        yield


@contextmanager
def writing(run_dir: Path, what: str) -> Iterator[None]:
    """Turn a failed write under ``run_dir`` (Python or Spark side) into an OutputError about ``what``."""
    try:
        yield
    except OutputError:
        raise
    except Exception as exc:
        problem = _write_problem(exc, Path(run_dir).absolute())
        if problem is None:
            raise
        raise _output_error(what, *problem) from exc


def _write_problem(exc: Exception, run_dir: Path) -> tuple[Path, OSError] | None:
    """Where under ``run_dir`` and with which OS error a write failed, if that is what ``exc`` is.

    Python raises OSError (a failed write() names no file). Spark reports executor-side failures
    as text naming ``file:`` paths; the nearest existing folder of each one under the run
    directory is probed, since Hadoop often says only "Mkdirs failed". A full disk may be freed
    again once Spark removes the aborted task files, so its message counts too.
    """
    if isinstance(exc, OSError):
        path = Path(exc.filename).absolute() if exc.filename else run_dir
        return (path, exc) if exc.errno in _FIX and path.is_relative_to(run_dir) else None
    text = str(exc)
    folders = [_existing_dir(Path(p.rstrip("."))) for p in _SPARK_PATH.findall(text)]
    folders = [f for f in folders if f.is_relative_to(run_dir)]
    for folder in folders:
        error = _probe(folder)
        if error is not None:
            return folder, error
    for code in (errno.ENOSPC, errno.EDQUOT):
        if folders and os.strerror(code) in text:
            return folders[0], OSError(code, os.strerror(code))
    return None


def _existing_dir(path: Path) -> Path:
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path


def _probe(folder: Path) -> OSError | None:
    """Create and drop an empty file in ``folder``; the error if that fails."""
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        return error
    return None


def _output_error(what: str, path: Path, error: OSError) -> OutputError:
    fix = _FIX.get(error.errno, "Check that directory, or choose another --output-dir (run.output_dir)")
    return OutputError(
        f"cannot write {what}: {path}: {error.strerror or error}. {fix}, then rerun the same "
        "command (complete stages are kept and skipped; nothing unfinished is marked complete)."
    )


def run_outputs(
    spark: SparkSession, config: PipelineConfig, run_dir: Path, docs: DataFrame, chain_hash: StepHash
) -> None:
    """Train the tokenizer on the final documents, then write the mixed token shards: both are made in a
    staging folder and installed together, so the old pair stays intact until the new pair is complete."""
    tokenizer_step_hash = tokenizer_hash(chain_hash, config)
    shards_step_hash = shards_hash(tokenizer_step_hash, config)
    tokenizer_dir, shards_dir = run_dir / "tokenizer", run_dir / "shards"
    keep_tokenizer = completed_stats(tokenizer_dir, tokenizer_step_hash.value) is not None
    if keep_tokenizer and completed_stats(shards_dir, shards_step_hash.value) is not None:
        log.info("[tokenizer] and [shards] complete already, skipped")
        return
    staging = temp_dir(run_dir)  # beside both: paths relative to the run directory stay right when moved
    try:
        if keep_tokenizer:
            log.info("[tokenizer] complete already, kept")
            shutil.copytree(tokenizer_dir, staging / "tokenizer")
        else:
            run_step(staging / "tokenizer", tokenizer_step_hash, "[tokenizer]", partial(
                _train_tokenizer, docs, config, staging / "tokenizer"))  # fmt: skip
        run_step(staging / "shards", shards_step_hash, "[shards]", partial(
            _write_shards, docs, config, staging, shards_step_hash.value))  # fmt: skip
        _install_pair(staging, run_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _train_tokenizer(docs: DataFrame, config: PipelineConfig, out_dir: Path) -> dict[str, Any]:
    from tokenizer_train.train import train_tokenizer
    from trainer_output.mixture import mixture_weights_by_chars

    log.info("[tokenizer] training byte-level BPE (vocab %d)", config.tokenizer.vocab_size)
    started = time.time()
    weights = mixture_weights_by_chars(docs, config.mixture)
    stats = train_tokenizer(docs, config.tokenizer, out_dir, config.run.seed, weights=weights)
    stats["elapsed_s"] = round(time.time() - started, 3)
    log.info("[tokenizer] done: %d tokens in the vocabulary, %.1fs", stats["vocab_size"], stats["elapsed_s"])
    return stats


def _write_shards(docs: DataFrame, config: PipelineConfig, staging: Path, config_hash: str) -> dict[str, Any]:
    from trainer_output.shards import write_shards

    log.info("[shards] tokenizing, mixing and writing shards")
    started = time.time()
    manifest = write_shards(
        docs, staging / "tokenizer" / "tokenizer.json", staging / "shards", config.shards, config.mixture,
        config.run.seed, config_hash, config.run.progress_interval_s, release=Path(config.run.output_dir).name,
    )  # fmt: skip
    splits = manifest.get("splits", {})
    log.info("[shards] done: %s, %.1fs", json.dumps(splits), time.time() - started)
    return {"config_hash": config_hash, "elapsed_s": round(time.time() - started, 3), "splits": splits}


def _install_pair(staging: Path, run_dir: Path) -> None:
    """Unmark both old folders, then move the new tokenizer and the new shards in (each rename atomic). A
    crash in between leaves the new tokenizer marked and the shards unmarked: the rerun writes the shards
    with that tokenizer, so a marked pair always belongs together."""
    for name in ("shards", "tokenizer"):
        clear_marker(run_dir / name)
    for name in ("tokenizer", "shards"):
        _swap_in(staging / name, run_dir / name, staging / f"old-{name}")


def run_ingest(
    spark: SparkSession, config: PipelineConfig, folders: RunFolders, step_hash: StepHash, publishing: Publishing
) -> StageOutcome:
    """Read every source into the work area's stages/00_ingest/data (stats in stages/00_ingest); malformed
    records go to quarantine/, their detail scrubbed."""
    name = stage_dir_name(0, "ingest")
    out_dir, data_home = folders.stage_dir(name), folders.data_home(0, name)
    result = run_step(
        out_dir,
        step_hash,
        "[ingest]",
        lambda: _ingest(spark, config, folders.run_dir, data_home, step_hash.value, publishing),
        outputs=(data_home / DATA,),
    )
    return StageOutcome("ingest", result.stats, result.skipped)


def _ingest(
    spark: SparkSession,
    config: PipelineConfig,
    run_dir: Path,
    data_home: Path,
    config_hash: str,
    publishing: Publishing,
) -> dict[str, Any]:
    log.info("[ingest] reading %d sources", len(config.sources))
    started = time.time()
    records = read_sources(spark, list(config.sources), config.ingest)
    data_home.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(data_home)  # raw: in the work area
    quarantine_dir = run_dir / "quarantine"
    try:
        # One read pass, two outputs: ids are hashed into a fixed number of partitions.
        (
            records.withColumn(KEPT_FLAG, F.col(REASON).isNull())
            .repartition(config.run.partitions, "id")
            .sortWithinPartitions("id")
            .write.partitionBy(KEPT_FLAG)
            .parquet(str(tmp))
        )
        kept_tmp, rejected_tmp = tmp / f"{KEPT_FLAG}=true", tmp / f"{KEPT_FLAG}=false"
        _ensure_dataset(spark, kept_tmp, records.schema)
        _replace_dir(kept_tmp, data_home / DATA)
        shutil.rmtree(quarantine_dir, ignore_errors=True)
        not_kept: dict[str, int] = {}  # quarantined and skipped records, per reason
        if rejected_tmp.exists():  # rewritten without the empty document columns, in file and line order
            rejected = spark.read.parquet(str(rejected_tmp))
            not_kept = reason_counts(rejected)
            if any(not reason.startswith(SKIP_PREFIX) for reason in not_kept):
                published = publishing.quarantine(quarantined(rejected).select("id", *QUARANTINE_COLUMNS))
                published.orderBy("file", "line").write.parquet(str(quarantine_dir))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stats = _ingest_stats(spark, data_home, quarantine_dir, config_hash, started)
    _check_ingest_accounting(stats, not_kept)
    log.info(
        "[ingest] done: %d documents, %d quarantined, %.1fs",
        stats["rows_kept"],
        stats["rows_rejected"],
        stats["elapsed_s"],
    )
    return stats


def _check_ingest_accounting(stats: dict[str, Any], not_kept: dict[str, int]) -> None:
    """records read = documents + quarantined (as written to quarantine/) + skipped on purpose (WARC
    requests, images, ...), counted by kind in the stats."""
    skipped = {reason: n for reason, n in not_kept.items() if reason.startswith(SKIP_PREFIX)}
    records_read = stats["rows_kept"] - stats["extra"]["prepared"]["extra_pieces"] + sum(not_kept.values())
    stats["extra"].update({"records_read": records_read, "skipped": skipped})
    if records_read + stats["extra"]["prepared"]["extra_pieces"] != stats["rows_in"] + sum(skipped.values()):
        raise AccountingError(
            f"ingest: {records_read} records read != {stats['rows_kept']} documents (pieces of cut ones) + "
            f"{stats['rows_rejected']} quarantined + {sum(skipped.values())} skipped"
        )
    for reason, count in skipped.items():
        log.info("[ingest] skipped %d x %s (counted, not kept)", count, reason)


def _ingest_stats(
    spark: SparkSession, out_dir: Path, quarantine_dir: Path, config_hash: str, started: float
) -> dict[str, Any]:
    """Counts from the written output: one Spark job for the quarantine's reasons, one for every per-source
    figure (the documents are their sum)."""
    reasons = {}
    if quarantine_dir.exists():
        quarantine = _quarantine_reasons(spark.read.parquet(str(quarantine_dir)))
        reasons = {row[REASON]: row["n"] for row in quarantine}
        _log_quarantine_examples(quarantine)
    kept = spark.read.parquet(str(out_dir / DATA))
    sources = (
        kept.groupBy("source")
        .agg(F.count("*").alias("documents"), F.sum(F.length("text")).alias("chars"), *prepared_aggregates())
        .collect()
    )
    by_source = {row["source"]: {"documents": row["documents"], "chars": int(row["chars"] or 0)} for row in sources}
    documents = sum(s["documents"] for s in by_source.values())
    return _stats(
        "ingest",
        0,
        config_hash,
        documents + sum(reasons.values()),
        documents,
        reasons,
        started,
        {"sources": by_source, "quarantine_dir": "quarantine", "prepared": prepared_stats_of(sources)},
    )


def _quarantine_reasons(quarantine: DataFrame) -> list[Row]:
    """Per reason: how many records (``n``) and the first (file, line, detail) where it happened (``at``)."""
    first = quarantine.groupBy(REASON).agg(
        F.count("*").alias("n"), F.min(F.struct("file", "line", "detail")).alias("at")
    )
    return sorted(first.collect(), key=lambda row: row[REASON])  # a few rows: sorted here, not by a Spark job


def _log_quarantine_examples(reasons: list[Row]) -> None:
    """One line per reason naming the first file and line where it happened."""
    for row in reasons:
        at = row["at"]
        log.warning(
            "[ingest] quarantined %d x %s, first at %s:%d (%s)",
            row["n"],
            row[REASON],
            at["file"],
            at["line"],
            at["detail"],
        )


def run_stage(
    stage: Stage,
    df: DataFrame,
    ctx: StageContext,
    out_dir: Path,
    rejects_dir: Path,
    step_hash: StepHash,
    reject_text_chars: int,
    label: str,
    position: int = 0,
    scores_hash: StepHash | None = None,
    data_home: Path | None = None,
    publishing: Publishing | None = None,
) -> StageOutcome:
    """Run one stage over ``df``; write kept rows and rejects atomically; check the accounting.

    Kept rows go to ``data_home/data`` (default ``out_dir``: the work area for a stage before pii), stats and
    the marker to ``out_dir``, rejects to ``rejects_dir`` as ``publishing`` says (scrubbed by default).
    A scored stage first writes its scored rows to ``data_home/scores`` as a step of their own, skipped
    when ``scores_hash`` (its scoring settings, not its thresholds) matches; then it decides on them."""
    data_home = data_home or out_dir
    publishing = publishing or Publishing(reject_text_chars=reject_text_chars)

    def work() -> dict[str, Any]:
        rows_in = df.count()
        log.info("%s start: %d rows", label, rows_in)
        started = time.time()
        scores = None
        with StageProgress(ctx.spark, label, rows_in, ctx.progress_interval_s):
            if isinstance(stage, ScoredStage):
                scores = run_scoring(stage, df, ctx, data_home / SCORES, scores_hash or step_hash, label)
                result = stage.decide(ctx.spark.read.parquet(str(data_home / SCORES / DATA)), ctx)
            else:
                result = stage.apply(df, ctx)
            raw_rejects = _write_stage(stage, result, ctx, data_home)
        _publish_rejects(ctx, raw_rejects, rejects_dir, publishing, stage.details_quote_text)
        stats = _stage_stats(stage, ctx, data_home, rejects_dir, rows_in, step_hash.value, started, position)
        if scores is not None:
            stats["scores"] = {"skipped": scores.skipped, "elapsed_s": scores.stats["elapsed_s"]}
        log.info(
            "%s done: kept %d, rejected %d (%.1f%%), %.1fs",
            label,
            stats["rows_kept"],
            stats["rows_rejected"],
            100.0 * stats["rows_rejected"] / max(rows_in, 1),
            stats["elapsed_s"],
        )
        return stats

    result = run_step(out_dir, step_hash, label, work, outputs=(data_home / DATA,))
    return StageOutcome(stage.name, result.stats, result.skipped)


def run_scoring(
    stage: ScoredStage, df: DataFrame, ctx: StageContext, folder: Path, scores_hash: StepHash, label: str
) -> StepResult:
    """Write ``stage.score(df)`` to ``folder/data`` once per ``scores_hash`` (a resumable step)."""

    def work() -> dict[str, Any]:
        started = time.time()
        tmp = temp_dir(folder)
        try:
            stage.score(df, ctx).sortWithinPartitions("id").write.parquet(str(tmp))
            _replace_dir(tmp, folder / DATA)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return {"elapsed_s": round(time.time() - started, 3)}

    return run_step(folder, scores_hash, f"{label} scores", work, outputs=(folder / DATA,))


def _write_stage(stage: Stage, result: DataFrame, ctx: StageContext, data_home: Path) -> Path | None:
    """Write the stage's kept rows to ``data_home/data``; return the raw rejects' temporary folder beside it
    (None: nothing rejected), which :func:`_publish_rejects` turns into the published rejects."""
    ctx.scratch_dir.mkdir(parents=True, exist_ok=True)
    if REASON not in result.columns:
        raise AccountingError(f"stage {stage.name!r} returned no {REASON!r} column")
    flagged = result.withColumn(KEPT_FLAG, F.col(REASON).isNull())
    tmp = temp_dir(data_home)  # inside: a cross-device rename is impossible, nothing raw outside the work area
    try:
        flagged.sortWithinPartitions("id").write.partitionBy(KEPT_FLAG).parquet(str(tmp))
        kept_tmp, rejected_tmp = tmp / f"{KEPT_FLAG}=true", tmp / f"{KEPT_FLAG}=false"
        _ensure_dataset(ctx.spark, kept_tmp, result.schema)
        _replace_dir(kept_tmp, data_home / DATA)
        if not rejected_tmp.exists():
            shutil.rmtree(tmp)
            return None
        return rejected_tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish_rejects(
    ctx: StageContext, raw: Path | None, rejects_dir: Path, publishing: Publishing, details_quote_text: bool = True
) -> None:
    """The raw rejects scrubbed (or their text left out) and cut as ``publishing`` says, into ``rejects_dir``
    (their ``detail`` scrubbed when it may quote the document); the raw copy is removed."""
    if raw is None:
        shutil.rmtree(rejects_dir, ignore_errors=True)
        return
    rejects_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(rejects_dir.parent)
    try:
        rejected = publishing.rejects(ctx.spark.read.parquet(str(raw)), details_quote_text)
        rejected.sortWithinPartitions("id").write.parquet(str(tmp))
        _replace_dir(tmp, rejects_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(raw.parent, ignore_errors=True)


def _stage_stats(
    stage: Stage,
    ctx: StageContext,
    data_home: Path,
    rejects_dir: Path,
    rows_in: int,
    config_hash: str,
    started: float,
    position: int,
) -> dict[str, Any]:
    """Counts from the written output, checked: rows_in == kept + rejected."""
    kept = read_stage_output(ctx.spark, data_home)
    rows_kept = kept.count()
    reasons: dict[str, int] = {}
    rejected = ctx.spark.createDataFrame([], kept.schema).withColumn(REASON, F.lit(None).cast("string"))
    if rejects_dir.exists():
        rejected = ctx.spark.read.parquet(str(rejects_dir))
        family = F.substring_index(REASON, ":", 2)  # dedup:minhash:<kept id> counts as dedup:minhash
        reasons = {r[REASON]: r["count"] for r in rejected.groupBy(family.alias(REASON)).count().collect()}
    rows_rejected = sum(reasons.values())
    if rows_in != rows_kept + rows_rejected:
        raise AccountingError(f"stage {stage.name!r}: rows_in {rows_in} != kept {rows_kept} + rejected {rows_rejected}")
    return _stats(
        stage.name,
        position,
        config_hash,
        rows_in,
        rows_kept,
        reasons,
        started,
        stage.summarize(kept, rejected),
        config=stage.config.model_dump(mode="json"),
    )


def _stats(
    name: str,
    position: int,
    config_hash: str,
    rows_in: int,
    rows_kept: int,
    reasons: dict[str, int],
    started: float,
    extra: dict[str, Any],
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "stage": name,
        "position": position,
        "config_hash": config_hash,
        "config": config or {},
        "rows_in": rows_in,
        "rows_kept": rows_kept,
        "rows_rejected": rows_in - rows_kept,
        "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "elapsed_s": round(time.time() - started, 3),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "extra": extra,
    }


def write_summary(run_dir: Path, outcomes: list[StageOutcome]) -> None:
    funnel = [
        {
            "stage": o.name,
            "rows_in": o.stats["rows_in"],
            "rows_kept": o.stats["rows_kept"],
            "rows_rejected": o.stats["rows_rejected"],
            "reasons": o.stats["reasons"],
            "elapsed_s": o.stats["elapsed_s"],
        }
        for o in outcomes
    ]
    (run_dir / "summary.json").write_text(json.dumps({"funnel": funnel}, indent=2, ensure_ascii=False) + "\n")


def _replace_dir(src: Path, dst: Path) -> None:
    """Move a finished directory into place, flushed first (the rename is atomic on one filesystem)."""
    fsync_tree(src)
    _swap_in(src, dst, src.with_name(src.name + "-old"))


def _swap_in(src: Path, dst: Path, trash: Path) -> None:
    """Replace ``dst`` by ``src`` with two renames (never a moment without either), then drop the old one."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        os.replace(dst, trash)
    os.replace(src, dst)
    shutil.rmtree(trash, ignore_errors=True)


def _ensure_dataset(spark: SparkSession, path: Path, schema) -> None:
    """Write an empty Parquet dataset with ``schema`` when a split produced no rows."""
    if not path.exists():
        columns = [f.name for f in schema.fields if f.name != KEPT_FLAG]
        spark.createDataFrame([], schema).select(*columns).write.parquet(str(path))


def canonical_stats(stats: dict[str, Any]) -> str:
    """Stats without timings, for comparing two runs."""
    return canonical_json({k: v for k, v in stats.items() if k not in ("elapsed_s", "finished_at")})
