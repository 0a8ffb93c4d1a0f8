"""One resumable step, and the one recipe for the hashes that decide whether a step reruns.

A step's folder is complete when it holds ``stats.json`` whose ``config_hash`` equals the step's hash
and a ``_SUCCESS`` marker (written last). Ingest, every stage, the tokenizer, the shards and
``corpus stage`` all run through :func:`run_step`. Each hash folds in the hash of the step before it,
so a change anywhere reruns that step and everything after it.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.durable import fsync_tree, write_atomic
from core.mappings import changed_values
from pipeline.config import IngestConfig, PipelineConfig, SourceConfig, digest
from pipeline.privacy import Publishing
from pipeline.readers import input_fingerprint
from pipeline.readers.files import is_url
from releases.index import load_releases
from stages.base import ScoredStage, Stage
from stages.per_source import build_stage
from trainer_output.indexed_dataset import sha256_file

log = logging.getLogger("corpus")

SUCCESS = "_SUCCESS"
STATS = "stats.json"
INPUT_CHECKSUMS = ".input-checksums.json"  # run.input_fingerprint content: checksums cached by stat


def stage_dir_name(position: int, name: str) -> str:
    return f"{position:02d}_{name}"


@dataclass
class StepResult:
    stats: dict[str, Any]
    skipped: bool


def run_step(
    folder: Path, step_hash: StepHash, label: str, work: Callable[[], dict[str, Any]], outputs: tuple[Path, ...] = ()
) -> StepResult:
    """Skip the step when ``folder`` is complete for ``step_hash`` and its ``outputs`` exist (a stage's data in
    the work area may have been removed); otherwise unmark it, run ``work`` (which writes the step's files and
    returns its stats) and mark it complete."""
    stats = completed_stats(folder, step_hash.value)
    if stats is not None and all(path.exists() for path in outputs):
        log.info("%s complete already, skipped", label)
        return StepResult(stats, skipped=True)
    if stats is not None:
        log.info("%s complete, but its data is gone (work area removed?): runs again", label)
    clear_marker(folder)
    stats = {**work(), "config_hash": step_hash.value, "hash_parts": step_hash.parts}
    finish(folder, stats)
    return StepResult(stats, skipped=False)


def completed_stats(folder: Path, config_hash: str) -> dict[str, Any] | None:
    """The stats of a complete earlier run of this step with the same hash, else None."""
    stats_file = folder / STATS
    if not (folder / SUCCESS).exists() or not stats_file.exists():
        return None
    stats = json.loads(stats_file.read_text())
    return stats if stats.get("config_hash") == config_hash else None


def clear_marker(folder: Path) -> None:
    """Unmark a step about to run: no _SUCCESS, no stats.json of an earlier run."""
    (folder / SUCCESS).unlink(missing_ok=True)
    (folder / STATS).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)


def finish(folder: Path, stats: dict[str, Any]) -> None:
    """The step's files flushed to disk, stats.json (written whole, then renamed), then _SUCCESS, the last
    thing written: a marked step is complete on disk even after a power loss."""
    fsync_tree(folder)
    write_atomic(folder / STATS, json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    write_atomic(folder / SUCCESS, "")


def temp_dir(root: Path) -> Path:
    """A fresh temporary folder name inside ``root`` (a rename from it never crosses devices)."""
    return root / f".tmp-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------------
# The hash recipe
# ---------------------------------------------------------------------------------------------

PROJECT = "corpus-pipeline"
INGEST_LIBRARIES = ("pyarrow", "warcio", "charset-normalizer", "zstandard")
TOKENIZER_LIBRARIES = ("tokenizers",)
SHARDS_LIBRARIES = ("tokenizers", "numpy")


@dataclass(frozen=True)
class StepHash:
    """A step's hash and the digest of each part it is made of, kept in stats.json so that
    ``corpus inspect`` can say which part changed."""

    value: str
    parts: dict[str, str]


def combine(**parts: Any) -> StepHash:
    digests = {name: digest(part) for name, part in parts.items()}
    return StepHash(digest(digests), digests)


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The project's version and the installed versions of the packages (and packaged models) that decide
    a step's output: an upgrade reruns the steps it can change."""
    return {name: _version(name) for name in (PROJECT, *names)}


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def ingest_hash(sources: list[SourceConfig], ingest: IngestConfig, partitions: int, files: list) -> StepHash:
    """The sources, their files (see :func:`input_files`) and the reader settings and libraries. A source's
    recipe and stage settings are left out: the stages they change hash them (its ``split_chars`` and
    ``clean``, resolved from the recipe, change what ingest writes and stay in)."""
    return combine(
        sources=[s.model_dump(mode="json", exclude={"recipe", "stages"}) for s in sources],
        input_files=files,
        settings=[ingest.model_dump(mode="json"), partitions],
        libraries=library_versions(INGEST_LIBRARIES),
    )


def run_settings_hash(upstream: StepHash, config: PipelineConfig) -> StepHash:
    """Run-wide settings that change stage results (sampling, which duplicate is kept, rejects and how they
    are scrubbed, the earlier releases an incremental run deduplicates against)."""
    run = [config.run.seed, config.source_priority, config.run.reject_text_chars]
    if config.releases.against:  # an incremental run: what the earlier releases hold decides the dedup
        run.append([release.fingerprint() for release in load_releases(config.releases.against)])
    return combine(upstream=upstream.value, run=run, privacy=Publishing.of(config).fingerprint())


def stage_hash(upstream: StepHash, stage: Stage) -> StepHash:
    """A stage's config section, model files and evaluation sets, libraries and environment (e.g. the
    PII salt's keyed fingerprint), on top of ``upstream``."""
    return combine(
        upstream=upstream.value,
        config=[stage.name, stage.config.model_dump(mode="json")],
        model_files=stage.inputs_fingerprint(),
        libraries=library_versions(stage.libraries),
        environment=stage.environment_fingerprint(),
    )


def scoring_hash(upstream: StepHash, stage: Stage) -> StepHash | None:
    """A scored stage's scores: its scoring settings, model files, libraries and environment on top of
    ``upstream``, not its thresholds, so a threshold change keeps the scores (None for a stage that is
    not scored)."""
    if not isinstance(stage, ScoredStage):
        return None
    return combine(
        upstream=upstream.value,
        scores=[stage.name, stage.scoring_config()],
        model_files=stage.inputs_fingerprint(),
        libraries=library_versions(stage.libraries),
        environment=stage.environment_fingerprint(),
    )


def tokenizer_hash(upstream: StepHash, config: PipelineConfig) -> StepHash:
    return combine(
        upstream=upstream.value,
        config=[config.tokenizer.model_dump(mode="json"), config.mixture.model_dump(mode="json")],
        libraries=library_versions(TOKENIZER_LIBRARIES),
    )


def shards_hash(tokenizer: StepHash, config: PipelineConfig) -> StepHash:
    return combine(
        upstream=tokenizer.value,
        config=config.shards.model_dump(mode="json"),
        libraries=library_versions(SHARDS_LIBRARIES),
    )


def input_files(spark, sources: list[SourceConfig], mode: str, cache_file: Path) -> list:
    """The input files' fingerprint: (source, path, size, modification stamp) with ``stat``; with ``content``
    a local file's stamp is its sha256, computed on the executors and cached by the file's stat, ctime and
    inode (a copy with preserved times has a new ctime), so a rerun hashes only new or changed files. A
    remote file keeps its store's stamp (an object store's ETag is a checksum of the content)."""
    stats = input_fingerprint(list(sources))
    if mode == "stat":
        return stats
    cache = _read_cache(cache_file)
    identity = {path: _identity(path) for _, path, _, _ in stats if not is_url(path)}
    stale = sorted(path for path, key in identity.items() if cache.get(path, {}).get("stat") != key)
    if stale and spark is not None:
        log.info("[ingest] checksumming %d input files on the executors", len(stale))
        slices = max(1, min(len(stale), spark.sparkContext.defaultParallelism * 4))
        sums = spark.sparkContext.parallelize(stale, slices).map(lambda p: (p, sha256_file(p))).collect()
        cache.update({path: {"stat": identity[path], "sha256": checksum} for path, checksum in sums})
        _write_cache(cache_file, {path: cache[path] for path in identity})
    # inspecting (no Spark): a changed file shows as changed
    checksum = {path: cache.get(path, {}).get("sha256", "not checksummed") for path in identity}
    return [(source, path, size, checksum.get(path, stamp)) for source, path, size, stamp in stats]


def _identity(path: str) -> list[int]:
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def _read_cache(path: Path) -> dict:
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_cache(path: Path, cache: dict) -> None:
    write_atomic(path, json.dumps(cache, indent=1, sort_keys=True))


# ---------------------------------------------------------------------------------------------
# Why a step would rerun
# ---------------------------------------------------------------------------------------------


def planned_steps(config: PipelineConfig, files: list) -> list[tuple[str, Path, StepHash, dict | None]]:
    """(name, folder relative to the run directory, hash, config section) of every step a run of
    ``config`` makes, in order, with the hashes the runner would compute."""
    current = ingest_hash(list(config.sources), config.ingest, config.run.partitions, files)
    steps = [("ingest", Path("stages") / stage_dir_name(0, "ingest"), current, None)]
    current = run_settings_hash(current, config)
    for position, stage_cls, section in config.enabled_stages():
        stage = build_stage(stage_cls, section, config.source_sections(stage_cls.name))
        current = stage_hash(current, stage)
        folder = Path("stages") / stage_dir_name(position, stage_cls.name)
        steps.append((stage_cls.name, folder, current, stage.config.model_dump(mode="json")))
    tokenizer = tokenizer_hash(current, config)
    steps.append(("tokenizer", Path("tokenizer"), tokenizer, None))
    steps.append(("shards", Path("shards"), shards_hash(tokenizer, config), None))
    return steps


def explain_reruns(run_dir: Path, config: PipelineConfig) -> list[tuple[str, str]]:
    """(step, what a rerun of ``config`` would do with it and why): which part of its hash changed."""
    files = input_files(None, list(config.sources), config.run.input_fingerprint, run_dir / INPUT_CHECKSUMS)
    explained = []
    for name, folder, planned, section in planned_steps(config, files):
        stats = completed_stats(run_dir / folder, planned.value)
        if stats is not None:
            explained.append((name, "up to date: skipped"))
            continue
        explained.append((name, _rerun_reason(run_dir / folder, planned, section)))
    return explained


def _rerun_reason(folder: Path, planned: StepHash, section: dict | None) -> str:
    if not (folder / SUCCESS).exists() or not (folder / STATS).exists():
        return "runs: not complete in this run directory"
    stats = json.loads((folder / STATS).read_text())
    stored = stats.get("hash_parts")
    if not isinstance(stored, dict):
        return "reruns: written by an earlier version of the tool (no hash parts recorded)"
    changed = [part for part, value in planned.parts.items() if stored.get(part) != value]
    if changed == ["upstream"]:
        return "reruns: an earlier step changed"
    reasons = [part.replace("_", " ") for part in changed if part != "upstream"]
    if "config" in changed and section is not None and isinstance(stats.get("config"), dict):
        keys = sorted(_changed_keys(stats["config"], section))
        reasons[reasons.index("config")] = f"config ({', '.join(keys)})" if keys else "config"
    return "reruns: changed " + ", ".join(reasons)


def _changed_keys(old: dict, new: dict) -> list[str]:
    return list(changed_values(old, new))
