"""Stage: remove spans of consecutive sentences (or lines) that also occur in another document.

Each document's windows of ``span`` consecutive sentences are hashed; a window found in
several documents belongs to the first of them in (source priority, id) order, and every
other document loses the sentences of that window. The order does not depend on how the
input is partitioned. A document left shorter than ``min_chars`` is rejected.

With earlier releases (``releases.against``), every span hash of their documents counts as owned before
this run: such spans are removed from every document here, as in a joint run with the releases first.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType, LongType, StringType, StructField

from core.spark_batches import map_batches
from filters.dedup_text import ORDER_KEY_WIDTH, doc_order_key, remove_windows, window_hashes
from releases.index import SENTENCE
from stages.base import REASON, REASON_FIELD, CardSpec, Stage, StageConfig, StageContext, release_reject_counts

CHARS_REMOVED = "dedup_sentence_chars_removed"
RELEASE_COLUMN = "dedup_sentence_release"  # with releases: the first release whose spans a document lost
TOO_SHORT = "dedup_sentence:too_short"
RELEASE_REASON = "dedup_sentence:release:"  # + the release's name: made too short by spans of that release


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
    release_table = SENTENCE

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        min_chars = self.config.min_chars
        mode, span = self.config.mode, self.config.units_per_span
        occurrences = ctx.checkpoint(self.occurrences(df, ctx), "dedup_sentence/occurrences")
        if any(release.table(SENTENCE) for release in ctx.releases):
            self.check_releases(ctx.releases)
            duplicates = _duplicates_against_releases(occurrences, _release_spans(ctx))
        else:
            duplicates = _duplicates(occurrences).withColumn(RELEASE_COLUMN, F.lit(None).cast(StringType()))
        joined = df.join(duplicates, "id", "left")

        def remove_batch(batch: pa.RecordBatch) -> dict:
            texts, removed, reasons = [], [], []
            for text, dups, release in zip(
                batch.column("text").to_pylist(),
                batch.column("duplicate_hashes").to_pylist(),
                batch.column(RELEASE_COLUMN).to_pylist(),
            ):
                kept = remove_windows(text, mode, span, dups or ())
                texts.append(kept)
                removed.append(len(text) - len(kept))
                too_short = kept != text and (len(kept) < min_chars or not kept.strip())
                reasons.append(None if not too_short else RELEASE_REASON + release if release else TOO_SHORT)
            return {"text": texts, CHARS_REMOVED: removed, REASON: reasons}

        out = map_batches(joined, remove_batch, [StructField(CHARS_REMOVED, IntegerType(), False), REASON_FIELD])
        against = [RELEASE_COLUMN] if ctx.releases else []  # which release's spans a document lost (null: none)
        return out.select(*df.columns, CHARS_REMOVED, *against, REASON)

    def occurrences(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        """``id``, ``order_key`` and ``h``: one row per distinct span hash of each document."""
        cfg = self.config  # plain values only in closures: a pickled config would import every stage in the workers
        mode, span, priority = cfg.mode, cfg.units_per_span, list(ctx.source_priority)

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
        return hashed.select("id", "order_key", F.explode("window_hashes").alias("h"))

    def release_parameters(self) -> dict:
        """What a release's span index and a run using it must share for their hashes to compare."""
        return {"mode": self.config.mode, "span": self.config.units_per_span}

    def release_tables(self, documents: DataFrame, ctx: StageContext) -> dict[str, DataFrame]:
        """The index a release keeps: every span hash of the documents that entered this stage, with the id
        of its first owner (in the run's priority order)."""
        first = self.occurrences(documents, ctx).groupBy("h").agg(F.min("order_key").alias("owner"))
        return {SENTENCE: first.select("h", F.substring("owner", ORDER_KEY_WIDTH + 1, 1 << 30).alias("owner"))}

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        stats = {}
        for label, frame in (("kept", kept), ("rejected", rejected)):
            row = frame.agg(
                F.sum(CHARS_REMOVED).alias("chars"),
                F.sum(F.when(F.col(CHARS_REMOVED) > 0, 1).otherwise(0)).alias("docs"),
            ).first()
            stats[f"chars_removed_{label}"] = int(row["chars"] or 0)
            stats[f"docs_changed_{label}"] = int(row["docs"] or 0)
        if RELEASE_COLUMN in kept.columns:
            stats["removed_against_releases"] = release_reject_counts(rejected, RELEASE_REASON)
            changed = kept.where(F.col(RELEASE_COLUMN).isNotNull()).groupBy(RELEASE_COLUMN).count().collect()
            stats["docs_changed_against_releases"] = {row[RELEASE_COLUMN]: int(row["count"]) for row in changed}
        return stats


def _duplicates(occurrences: DataFrame) -> DataFrame:
    """``id`` and ``duplicate_hashes``: the spans each document shares with a document before it."""
    first_owner = (
        occurrences.groupBy("h")
        .agg(F.min("order_key").alias("owner"), F.count(F.lit(1)).alias("docs"))
        .where(F.col("docs") > 1)
    )
    return (
        occurrences.join(first_owner, "h")
        .where(F.col("order_key") != F.col("owner"))
        .groupBy("id")
        .agg(F.collect_list("h").alias("duplicate_hashes"))
    )


def _duplicates_against_releases(occurrences: DataFrame, released: DataFrame) -> DataFrame:
    """As :func:`_duplicates`, with the releases' spans owned before every document of the run: a span in a
    release is removed from every document here; ``dedup_sentence_release`` names the first release (in
    config order) of any span a document lost. The same spans go as in a joint run with the releases first."""
    first_owner = occurrences.groupBy("h").agg(F.min("order_key").alias("owner"), F.count(F.lit(1)).alias("docs"))
    in_run = (F.col("docs") > 1) & (F.col("order_key") != F.col("owner"))
    return (
        occurrences.join(first_owner, "h")
        .join(released, "h", "left")
        .where(F.col("first_release").isNotNull() | in_run)
        .groupBy("id")
        .agg(
            F.collect_list("h").alias("duplicate_hashes"),
            F.min("first_release").getField("name").alias(RELEASE_COLUMN),
        )
    )


def _release_spans(ctx: StageContext) -> DataFrame:
    """``h`` and ``first_release`` (rank, name): every span hash of the earlier releases, once."""
    frames = [
        ctx.spark.read.parquet(release.table(SENTENCE)).select(
            "h", F.struct(F.lit(release.rank).alias("rank"), F.lit(release.name).alias("name")).alias("release")
        )
        for release in ctx.releases
        if release.table(SENTENCE)
    ]
    spans = frames[0]
    for frame in frames[1:]:
        spans = spans.unionByName(frame)
    return spans.groupBy("h").agg(F.min("release").alias("first_release"))
