"""One resumable step, and the one recipe for the hashes that decide whether a step reruns.

A step's folder is complete when it holds ``stats.json`` whose ``config_hash`` equals the step's hash
and a ``_SUCCESS`` marker (written last). Ingest, every stage, the tokenizer, the shards and
``corpus stage`` all run through :func:`run_step`. Each hash folds in the hash of the step before it,
so a change anywhere reruns that step and everything after it.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import IngestConfig, PipelineConfig, SourceConfig, digest
from pipeline.readers import input_fingerprint
from stages.base import ScoredStage, Stage

log = logging.getLogger("corpus")

SUCCESS = "_SUCCESS"
STATS = "stats.json"


@dataclass
class StepResult:
    stats: dict[str, Any]
    skipped: bool


def run_step(folder: Path, config_hash: str, label: str, work: Callable[[], dict[str, Any]]) -> StepResult:
    """Skip the step when ``folder`` is complete for ``config_hash``; otherwise unmark it, run ``work``
    (which writes the step's files and returns its stats) and mark it complete."""
    stats = completed_stats(folder, config_hash)
    if stats is not None:
        log.info("%s complete already, skipped", label)
        return StepResult(stats, skipped=True)
    clear_marker(folder)
    stats = work()
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
    """stats.json (written whole under a temporary name, then renamed) then _SUCCESS, the last thing written."""
    tmp = folder / f".{STATS}.tmp"
    try:
        tmp.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, folder / STATS)
    finally:
        tmp.unlink(missing_ok=True)
    (folder / SUCCESS).write_text("")


def temp_dir(root: Path) -> Path:
    """A fresh temporary folder name inside ``root`` (a rename from it never crosses devices)."""
    return root / f".tmp-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------------
# The hash recipe
# ---------------------------------------------------------------------------------------------


def ingest_hash(sources: list[SourceConfig], ingest: IngestConfig, partitions: int) -> str:
    """The sources, their files (path, size, modification time) and the reader settings."""
    return digest(
        [s.model_dump(mode="json") for s in sources],
        input_fingerprint(list(sources)),
        ingest.model_dump(mode="json"),
        partitions,
    )


def run_settings_hash(upstream: str, config: PipelineConfig) -> str:
    """Run-wide settings that change stage results (sampling, which duplicate is kept, rejects)."""
    return digest(upstream, config.run.seed, config.source_priority, config.run.reject_text_chars)


def stage_hash(upstream: str, stage: Stage) -> str:
    """A stage's config section and its model files and evaluation sets, on top of ``upstream``."""
    return digest(upstream, stage.name, stage.config.model_dump(mode="json"), stage.inputs_fingerprint())


def scoring_hash(upstream: str, stage: Stage) -> str | None:
    """A scored stage's signals: its scoring settings and model files on top of ``upstream``, not its
    thresholds, so a threshold change keeps the scores (None for a stage that is not scored)."""
    if not isinstance(stage, ScoredStage):
        return None
    return digest(upstream, stage.name, "scores", stage.scoring_config(), stage.inputs_fingerprint())


def tokenizer_hash(upstream: str, config: PipelineConfig) -> str:
    return digest(
        upstream, "tokenizer", config.tokenizer.model_dump(mode="json"), config.mixture.model_dump(mode="json")
    )


def shards_hash(tokenizer: str, config: PipelineConfig) -> str:
    return digest(tokenizer, "shards", config.shards.model_dump(mode="json"))
