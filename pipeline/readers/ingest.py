"""The ingest job: every input file read by one Spark task into rows of documents, quarantine entries and skips."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from core.ids import doc_id
from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.files import expand_paths
from pipeline.readers.prepare import prepared
from pipeline.readers.read import read_file
from pipeline.readers.records import QUARANTINE_PREFIX, meta_json

RECORD_SCHEMA = StructType(
    [
        StructField("id", StringType(), False),
        StructField("source", StringType(), False),
        StructField("text", StringType(), True),
        StructField("url", StringType(), True),
        StructField("meta", StringType(), True),
        StructField("file", StringType(), False),
        StructField("line", LongType(), False),
        StructField("reason", StringType(), True),
        StructField("detail", StringType(), True),
    ]
)
QUARANTINE_COLUMNS = ["source", "file", "line", "reason", "detail"]
BATCH_ROWS = 1000  # records per Arrow batch handed to Spark, or fewer when their text is long:
BATCH_TEXT_CHARS = 64 * 1024 * 1024  # a batch's text stays far below Arrow's 2 GB string limit


def read_sources(spark: SparkSession, sources: list[SourceConfig], ingest: IngestConfig) -> DataFrame:
    """One row per record of every source: documents (reason null), quarantine entries (``ingest:...``)
    and records skipped on purpose (``skipped:...``, counted, never kept)."""
    tasks = [(source.model_dump(), f.path, f.key) for source in sources for f in expand_paths(source)]
    ingest_dump = ingest.model_dump()
    arrow_schema = pa.schema([pa.field(f.name, _ARROW_TYPES[f.dataType.typeName()], f.nullable) for f in RECORD_SCHEMA])

    def read_tasks(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        ingest_cfg = IngestConfig(**ingest_dump)
        for batch in batches:
            for index in batch.column("id").to_pylist():
                source_dump, path, key = tasks[index]
                yield from _file_batches(SourceConfig(**source_dump), path, key, ingest_cfg, arrow_schema)

    file_index = spark.range(0, len(tasks), 1, numPartitions=max(1, len(tasks)))
    records = file_index.mapInArrow(read_tasks, RECORD_SCHEMA)
    return _quarantine_duplicate_ids(records) if any(s.id_field for s in sources) else records


_ARROW_TYPES = {"string": pa.string(), "long": pa.int64()}


def _file_batches(
    source: SourceConfig, path: str, key: str, ingest: IngestConfig, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    rows: list[dict] = []
    text_chars = 0
    for record in prepared(read_file(source, path, ingest), source, key):
        document = record.reason is None
        rows.append(
            {
                "id": record.doc_id
                if document and record.doc_id is not None
                else doc_id(source.name, key, record.line),
                "source": source.name,
                "text": record.text if document else None,
                "url": record.url,
                "meta": meta_json(record.meta) if document else None,
                "file": path,
                "line": record.line,
                "reason": record.reason,
                "detail": record.detail,
            }
        )
        text_chars += len(record.text or "")
        if len(rows) >= BATCH_ROWS or text_chars >= BATCH_TEXT_CHARS:  # Arrow strings stop at 2 GB
            yield pa.RecordBatch.from_pylist(rows, schema=schema)
            rows, text_chars = [], 0
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def _quarantine_duplicate_ids(records: DataFrame) -> DataFrame:
    """A document whose own id was read before (first by source, file, line) is quarantined as
    ``ingest:duplicate_id``, naming where the id was first read: ids stay unique."""
    documents = F.col("reason").isNull()
    window = Window.partitionBy("id", documents).orderBy("source", "file", "line")
    first = F.first(F.concat_ws(":", "file", F.col("line").cast("string"))).over(window)
    ranked = records.withColumn("_rank", F.when(documents, F.row_number().over(window))).withColumn("_first", first)
    duplicate = documents & (F.col("_rank") > 1)
    return ranked.select(
        *[c for c in RECORD_SCHEMA.fieldNames() if c not in ("text", "meta", "reason", "detail")],
        F.when(duplicate, None).otherwise(F.col("text")).alias("text"),
        F.when(duplicate, None).otherwise(F.col("meta")).alias("meta"),
        F.when(duplicate, F.lit(QUARANTINE_PREFIX + "duplicate_id")).otherwise(F.col("reason")).alias("reason"),
        F.when(duplicate, F.concat(F.lit("id first read at "), F.col("_first")))
        .otherwise(F.col("detail"))
        .alias("detail"),
    ).select(*RECORD_SCHEMA.fieldNames())


def quarantined(records: DataFrame) -> DataFrame:
    """The records that could not be read (``ingest:...``): quarantine/ keeps them with file, offset and detail."""
    return records.where(F.col("reason").startswith(QUARANTINE_PREFIX))


def reason_counts(records: DataFrame) -> dict[str, int]:
    """How many records per reason (``ingest:invalid_json``: 3, ``skipped:warc_request``: 120)."""
    counts = records.where(F.col("reason").isNotNull()).groupBy("reason").count()
    return {row["reason"]: row["count"] for row in counts.orderBy("reason").collect()}
