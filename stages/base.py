"""The stage contract shared by every pipeline stage.

A stage receives the document DataFrame and returns the *same rows* with a nullable
string column ``reason``: null keeps the row, anything else rejects it with that reason
(``langid:below_threshold``, ``gopher_quality:word_count``, ...). A stage may add signal
columns and may rewrite ``text``. The runner splits kept from rejected rows, writes both,
checks ``rows_in == kept + rejected`` and records stats; stages never drop rows themselves.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import pyarrow as pa
from pydantic import BaseModel, ConfigDict
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType

REASON = "reason"
REASON_FIELD = StructField(REASON, StringType(), True)


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

    def checkpoint(self, df: DataFrame, name: str) -> DataFrame:
        """Write ``df`` to scratch Parquet and read it back, so it is computed only once."""
        path = self.scratch_dir / name
        df.write.mode("overwrite").parquet(str(path))
        return self.spark.read.parquet(str(path))


class Stage:
    """One pipeline stage. Subclasses set ``name``, ``Config`` and implement ``apply``."""

    name: ClassVar[str]
    Config: ClassVar[type[StageConfig]] = StageConfig
    summary: ClassVar[str] = ""

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

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        """Return every input row, with a ``reason`` column (null = kept)."""
        raise NotImplementedError

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict[str, Any]:
        """Extra stats computed from the stage's written output (override when useful)."""
        return {}


BatchFn = Callable[[pa.RecordBatch], dict[str, Any]]


class MissingColumnError(ValueError):
    """A stage's input lacks a column that an earlier stage adds."""


def require_lang(df: DataFrame, stage: str) -> None:
    if "lang" not in df.columns:
        raise MissingColumnError(f"stage {stage} needs the `lang` column: run the langid stage before it (`corpus "
                                 f"stage` also takes a langid output folder as --input)")


def map_batches(df: DataFrame, fn: BatchFn, new_fields: list[StructField]) -> DataFrame:
    """Apply a pure batch function over Arrow record batches (``mapInArrow``).

    ``fn`` gets a ``pyarrow.RecordBatch`` and returns ``{column: values}``. A returned column
    that already exists replaces it (same type); the others must be listed in ``new_fields``,
    in that order, and are appended. Values may be Python lists or Arrow arrays.
    """
    existing = {f.name for f in df.schema.fields}
    out_schema = StructType(df.schema.fields + [f for f in new_fields if f.name not in existing])
    arrow_schema = _to_arrow_schema(out_schema)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            produced = fn(batch) if batch.num_rows else {}
            columns = []
            for arrow_field in arrow_schema:
                if arrow_field.name in produced:
                    values = produced[arrow_field.name]
                elif arrow_field.name in batch.schema.names:
                    values = batch.column(arrow_field.name)
                else:
                    values = [None] * batch.num_rows
                if not isinstance(values, (pa.Array, pa.ChunkedArray)):
                    values = pa.array(values, type=arrow_field.type)
                columns.append(values)
            yield pa.RecordBatch.from_arrays(columns, schema=arrow_schema)

    return df.mapInArrow(run, out_schema)


def _to_arrow_schema(schema: StructType) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema)


_WORKER_CACHE: dict[str, Any] = {}
_WORKER_LOCK = threading.Lock()


def worker_cached(key: str, loader: Callable[[], Any]) -> Any:
    """Load a model once per Python worker process (Spark reuses workers) and keep it."""
    with _WORKER_LOCK:
        if key not in _WORKER_CACHE:
            _WORKER_CACHE[key] = loader()
        return _WORKER_CACHE[key]
