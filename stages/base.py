"""The stage contract shared by every pipeline stage.

A stage receives the document DataFrame and returns the *same rows* with a nullable
string column ``reason``: null keeps the row, anything else rejects it with that reason
(``langid:below_threshold``, ``gopher_quality:word_count``, ...). A stage may add signal
columns and may rewrite ``text``. The runner splits kept from rejected rows, writes both,
checks ``rows_in == kept + rejected`` and records stats; stages never drop rows themselves.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField

from core.errors import CorpusError
from releases.index import Release, check_parameters

REASON = "reason"
REASON_FIELD = StructField(REASON, StringType(), True)
DETAIL = "detail"  # on a rejected row: the signal against the threshold that rejected it
DETAIL_FIELD = StructField(DETAIL, StringType(), True)


class StageConfig(BaseModel):
    """Base of every stage's config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


@dataclass
class StageContext:
    """What the runner hands a stage besides its DataFrame."""

    spark: SparkSession
    seed: int
    partitions: int
    scratch_dir: Path
    source_priority: list[str] = field(default_factory=list)
    progress_interval_s: float = 0.0  # log documents done, rate and ETA this often while the stage runs (0: off)
    releases: tuple[Release, ...] = ()  # earlier releases whose documents count as kept before this run's

    def checkpoint(self, df: DataFrame, name: str) -> DataFrame:
        """Write ``df`` to scratch Parquet and read it back, so it is computed only once."""
        path = self.scratch_dir / name
        df.write.mode("overwrite").parquet(str(path))
        return self.spark.read.parquet(str(path))


@dataclass(frozen=True)
class Signal:
    """A score column a stage adds; the card draws its histogram (kept and rejected stacked)."""

    column: str
    title: str
    log_x: bool = False
    cutoff_keys: tuple[str, ...] = ()  # config keys holding cut-offs: numbers drawn as lines, mappings listed
    cutoffs_apply_when: tuple[str, str] | None = None  # (config key, value): the cut-offs decide only then


@dataclass(frozen=True)
class CardSpec:
    """What the dataset card shows for a stage, declared by the stage so the card need not guess from names."""

    signals: tuple[Signal, ...] = ()
    removes_duplicates: bool = False  # listed under "Deduplication and decontamination"
    pii_counts_column: str | None = None  # per-document type -> count column; ``summarize`` totals it under this key


class Stage:
    """One pipeline stage. Subclasses set ``name``, ``Config`` and implement ``apply``."""

    name: ClassVar[str]
    Config: ClassVar[type[StageConfig]] = StageConfig
    summary: ClassVar[str] = ""
    libraries: ClassVar[tuple[str, ...]] = ()  # PyPI packages (and packaged models) that decide the output
    card: ClassVar[CardSpec] = CardSpec()
    reads_lang: ClassVar[bool] = False  # uses the `lang` column that langid adds
    without_lang: ClassVar[str] = ""  # what it does with documents that have no `lang` ("": it cannot run)
    release_table: ClassVar[str | None] = None  # the release index it keeps and compares with (releases/index.py)
    # settings a stage applies to each row by its source itself (its constructor takes ``source_sections``):
    # sources that differ only in them share one pass, so a comparing stage still sees every document at once
    per_row_keys: ClassVar[tuple[str, ...]] = ()
    # whether a reject's ``detail`` may quote the document (then publishing scrubs it with the pii engine); a
    # stage whose details are built from signal names and numbers alone sets False, and its details are published
    # as they are (the rejects' text, url and meta are scrubbed either way)
    details_quote_text: ClassVar[bool] = True

    def __init__(self, config: StageConfig | None = None):
        self.config = config if config is not None else self.Config()

    def preflight(self) -> None:
        """Check the files and settings the stage needs; the runner calls this for every stage
        before any Spark work, so a missing model fails in seconds, not hours into a run."""

    def input_files(self) -> list[str]:
        """Files besides the config that the output depends on (models, eval sets)."""
        return []

    def inputs_fingerprint(self) -> list[tuple[str, int, int]]:
        """(absolute path, size, mtime in ns) of each input file, part of the resume hash: a
        retrained model or an edited eval set reruns the stage (a missing file counts as -1, -1)."""
        fingerprint = []
        for path in self.input_files():
            absolute = os.path.abspath(path)
            try:
                stat = os.stat(absolute)
                fingerprint.append((absolute, stat.st_size, stat.st_mtime_ns))
            except OSError:
                fingerprint.append((absolute, -1, -1))
        return fingerprint

    def environment_fingerprint(self) -> dict[str, Any]:
        """What besides the config, files and libraries decides the output (e.g. a keyed fingerprint of a
        secret salt, never the salt); part of the resume hash."""
        return {}

    def release_parameters(self) -> dict[str, Any]:
        """The settings its release index depends on: a run using a release must have the same ones."""
        return {}

    def check_releases(self, releases: tuple[Release, ...]) -> None:
        """Earlier releases whose index of this stage's kind was made with other parameters cannot be compared
        with this run's documents: a ``ReleaseError`` naming the key (the runner checks before any Spark work)."""
        if self.release_table is not None:
            check_parameters(releases, self.release_table, f"stages.{self.name}", self.release_parameters())

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        """Return every input row, with a ``reason`` column (null = kept)."""
        raise NotImplementedError

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict[str, Any]:
        """Extra stats computed from the stage's written output (override when useful)."""
        return {}


class ScoredStage(Stage):
    """A stage in two steps, Dolma's tagging and mixing: ``score`` adds signal columns (the costly
    part: models, text statistics), ``decide`` applies the thresholds to them (cheap) and may add a
    ``detail`` column saying which signal failed which threshold.

    The runner writes the scored rows once, under the stage's ``scores/``, with a hash of
    ``scoring_config()`` alone: a changed threshold reruns ``decide`` on them, not ``score``."""

    DECISION_KEYS: ClassVar[tuple[str, ...]] = ()  # config fields that only decide

    def scoring_config(self) -> Any:
        """The part of the config the signals depend on (the config without ``DECISION_KEYS``)."""
        return self.config.model_dump(mode="json", exclude={"enabled", *self.DECISION_KEYS})

    def score(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        """Every input row with the stage's signal columns added."""
        raise NotImplementedError

    def decide(self, scored: DataFrame, ctx: StageContext) -> DataFrame:
        """The scored rows with ``reason`` (null = kept), from the signals and the thresholds."""
        raise NotImplementedError

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        """Score (computed once, through scratch Parquet of its own) and decide, as the runner does."""
        return self.decide(ctx.checkpoint(self.score(df, ctx), f"{self.name}_scores_{uuid.uuid4().hex[:12]}"), ctx)


class MissingColumnError(CorpusError, ValueError):
    """A stage's input lacks a column that an earlier stage adds."""


def require_lang(df: DataFrame, stage: str) -> None:
    if "lang" not in df.columns:
        raise MissingColumnError(
            f"stage {stage} needs the `lang` column: run the langid stage before it (`corpus "
            f"stage` also takes a langid output folder as --input)"
        )


def release_reject_counts(rejected: DataFrame, prefix: str) -> dict[str, int]:
    """Rejected rows per earlier release, from reasons ``<prefix><release name>`` (dedup against releases)."""
    against = rejected.where(F.col(REASON).startswith(prefix)).select(
        F.substring(REASON, len(prefix) + 1, 1 << 30).alias("release")
    )
    return {
        row["release"]: int(row["count"]) for row in against.groupBy("release").count().orderBy("release").collect()
    }
