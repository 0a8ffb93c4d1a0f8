"""Stage: remove spans of consecutive sentences (or lines) that also occur in another document.

Each document's windows of ``span`` consecutive sentences are hashed; a window found in
several documents belongs to the first of them in (source priority, id) order, and every
other document loses the sentences of that window. The order does not depend on how the
input is partitioned. A document left shorter than ``min_chars`` is rejected.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType, LongType, StringType, StructField

from core.spark_batches import map_batches
from filters.dedup_text import doc_order_key, remove_windows, window_hashes
from stages.base import REASON, REASON_FIELD, CardSpec, Stage, StageConfig, StageContext

CHARS_REMOVED = "dedup_sentence_chars_removed"


class DedupSentenceConfig(StageConfig):
    mode: Literal["sentences", "lines"] = Field(
        "sentences",
        description="unit of deduplication: sentences (Latin and CJK punctuation, line breaks) or lines (cc_net)",
    )
    span: int | None = Field(
        None,
        ge=1,
        description="consecutive units forming a duplicate span; default 3 for sentences, 1 for lines (cc_net)",
    )
    min_chars: int = Field(
        50,
        ge=0,
        description="documents shorter than this after removal (or left blank) are rejected (dedup_sentence:too_short)",
    )

    @property
    def units_per_span(self) -> int:
        return self.span if self.span is not None else (3 if self.mode == "sentences" else 1)


class DedupSentenceStage(Stage):
    name = "dedup_sentence"
    libraries = ("numpy",)
    Config = DedupSentenceConfig
    summary = "Removes spans of n consecutive sentences/lines seen in an earlier document (priority, id)."
    card = CardSpec(removes_duplicates=True)

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        cfg = self.config  # plain values only in closures: a pickled config would import every stage in the workers
        mode, span, min_chars, priority = cfg.mode, cfg.units_per_span, cfg.min_chars, list(ctx.source_priority)

        def hash_batch(batch: pa.RecordBatch) -> dict:
            sources, ids = batch.column("source").to_pylist(), batch.column("id").to_pylist()
            return {
                "order_key": [doc_order_key(s, i, priority) for s, i in zip(sources, ids)],
                "window_hashes": [window_hashes(t, mode, span) for t in batch.column("text").to_pylist()],
            }

        hashed = map_batches(
            df.select("id", "source", "text"),
            hash_batch,
            [
                StructField("order_key", StringType(), False),
                StructField("window_hashes", ArrayType(LongType(), False), False),
            ],
        )
        occurrences = ctx.checkpoint(
            hashed.select("id", "order_key", F.explode("window_hashes").alias("h")), "dedup_sentence/occurrences"
        )
        first_owner = (
            occurrences.groupBy("h")
            .agg(F.min("order_key").alias("owner"), F.count(F.lit(1)).alias("docs"))
            .where(F.col("docs") > 1)
        )
        duplicates = (
            occurrences.join(first_owner, "h")
            .where(F.col("order_key") != F.col("owner"))
            .groupBy("id")
            .agg(F.collect_list("h").alias("duplicate_hashes"))
        )
        joined = df.join(duplicates, "id", "left")

        def remove_batch(batch: pa.RecordBatch) -> dict:
            texts, removed, reasons = [], [], []
            for text, dups in zip(batch.column("text").to_pylist(), batch.column("duplicate_hashes").to_pylist()):
                kept = remove_windows(text, mode, span, dups or ())
                texts.append(kept)
                removed.append(len(text) - len(kept))
                too_short = len(kept) < min_chars or not kept.strip()
                reasons.append("dedup_sentence:too_short" if kept != text and too_short else None)
            return {"text": texts, CHARS_REMOVED: removed, REASON: reasons}

        out = map_batches(joined, remove_batch, [StructField(CHARS_REMOVED, IntegerType(), False), REASON_FIELD])
        return out.select(*df.columns, CHARS_REMOVED, REASON)

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        stats = {}
        for label, frame in (("kept", kept), ("rejected", rejected)):
            row = frame.agg(
                F.sum(CHARS_REMOVED).alias("chars"),
                F.sum(F.when(F.col(CHARS_REMOVED) > 0, 1).otherwise(0)).alias("docs"),
            ).first()
            stats[f"chars_removed_{label}"] = int(row["chars"] or 0)
            stats[f"docs_changed_{label}"] = int(row["docs"] or 0)
        return stats
