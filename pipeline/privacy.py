"""One rule: raw personal data lives only in the input files and in the run's work area.

A run directory splits into what may be shared (stats, rejects, quarantine, the final documents, tokenizer,
shards, card, logs) and the raw work area (``work/`` inside it, or ``run.work_dir``): owner-only, with a
README saying it holds raw text, holding the intermediate stage data that resume needs. Whatever leaves the
raw side (a reject, a quarantined record's detail, a card sample, a printed row) goes through the ``pii``
stage's engine (``stages.pii.published_scrub``) or is left out, as the ``privacy`` section says.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from core.run_layout import WORK
from pipeline.config import PipelineConfig, PrivacyConfig
from stages.pii import PiiConfig, PiiStage, published_scrub, published_scrub_settings

log = logging.getLogger("corpus")

WORK_README = "README.md"
DOCUMENT_COLUMNS = ("text", "url", "meta")  # what a row holds of its document (scrubbed like text)
WORK_NOTE = """# RAW TEXT: do not share this folder

This is the raw work area of a corpus run. It holds the documents as they were read and as each stage
before `pii` left them: personal data (names, e-mail addresses, phone numbers, ...) is NOT scrubbed here.
It is readable by its owner only. Resume reads it; everything a run publishes lives outside it, scrubbed.

Remove it with `corpus clean RUN_DIR --work` once the run is finished: a later run recomputes what it needs.
"""


def work_dir(config: PipelineConfig) -> Path:
    """The run's raw work area: ``run.work_dir``, else ``work/`` inside the run directory."""
    return Path(config.run.work_dir) if config.run.work_dir else Path(config.run.output_dir) / WORK


def prepare_work_dir(folder: Path) -> None:
    """Create the work area owner-only (also when it exists: a copied run may have lost the mode) with its
    README, before anything raw is written into it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    note = folder / WORK_README
    if not note.is_file() or note.read_text(encoding="utf-8") != WORK_NOTE:
        note.write_text(WORK_NOTE, encoding="utf-8")


def remove_work_dir(folder: Path) -> bool:
    """Remove the work area; False when there was none."""
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True


@dataclass(frozen=True)
class Publishing:
    """How rows leave the raw side: the ``privacy`` section, the reject text length, and the ``pii`` stage's
    settings (its engine, NER model and thresholds; the default ones when the run has no pii stage)."""

    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    reject_text_chars: int = 1000
    pii: PiiConfig | None = None

    @classmethod
    def of(cls, config: PipelineConfig) -> Publishing:
        return cls(config.privacy, config.run.reject_text_chars, config.stages.pii)

    @property
    def engine(self) -> PiiConfig:
        return self.pii or PiiConfig()

    def fingerprint(self) -> dict[str, Any]:
        """What decides the published rows (part of the run settings' hash): a changed scrub reruns them."""
        return {"privacy": self.privacy.model_dump(mode="json"), "scrub": published_scrub_settings(self.engine)}

    def preflight(self) -> None:
        """NER can run on the driver when anything is scrubbed (the executors check again, failing closed)."""
        if "scrubbed" in (self.privacy.rejects_text, self.privacy.quarantine_detail, self.privacy.card_samples):
            PiiStage(self.engine).preflight_ner()

    def rejects(self, rejected: DataFrame, details_quote_text: bool = True) -> DataFrame:
        """Reject rows as published: text, url and meta scrubbed (or left out with ``none``), detail scrubbed
        unless the stage's details never quote the document (``Stage.details_quote_text``), then the text cut
        to ``reject_text_chars`` (scrubbed first: a cut could split an address). With nothing left to scrub,
        no pii engine is loaded."""
        scrubbed = ["detail"] if details_quote_text else []
        if self.privacy.rejects_text == "none":
            dropped = [c for c in DOCUMENT_COLUMNS if c in rejected.columns]
            rejected = rejected.select(
                *[F.lit(None).cast("string").alias(c) if c in dropped else F.col(c) for c in rejected.columns]
            )
        else:
            scrubbed += DOCUMENT_COLUMNS
        columns = [c for c in scrubbed if c in rejected.columns]
        if not columns:
            return rejected
        return published_scrub(rejected, self.engine, columns, text_chars=self.reject_text_chars)

    def quarantine(self, records: DataFrame) -> DataFrame:
        """Quarantined records as published: their detail (which may quote the record) scrubbed or left out."""
        if self.privacy.quarantine_detail == "none":
            return records.withColumn("detail", F.lit(None).cast("string"))
        return published_scrub(records, self.engine, ["detail"])


@dataclass(frozen=True)
class RunFolders:
    """Where each step's files go. ``stages/NN_<name>/`` (stats.json, _SUCCESS) is always in the run
    directory; a stage's ``data/`` (and a scored stage's ``scores/``) is in the work area until the ``pii``
    stage has scrubbed it: from that stage on (``published_from``, its position) it is published."""

    run_dir: Path
    work_dir: Path
    published_from: int | None = None

    @classmethod
    def of(cls, config: PipelineConfig) -> RunFolders:
        pii = [position for position, stage, _ in config.enabled_stages() if stage.name == "pii"]
        return cls(Path(config.run.output_dir), work_dir(config), pii[0] if pii else None)

    def stage_dir(self, name: str) -> Path:
        return self.run_dir / "stages" / name

    def data_home(self, position: int, name: str) -> Path:
        """The folder holding the step's ``data/`` (and ``scores/``): raw before pii, published from it on."""
        if self.published_from is not None and position >= self.published_from:
            return self.stage_dir(name)
        return self.work_dir / "stages" / name
