"""Stage: Unicode/whitespace normalisation with length limits."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StructField

from core.spark_batches import map_batches
from filters.normalize import length_reason, normalize_text
from stages.base import REASON, REASON_FIELD, Stage, StageConfig, StageContext


class NormalizeConfig(StageConfig):
    unicode_form: Literal["NFC", "NFKC", "none"] = "NFC"
    collapse_whitespace: bool = True
    min_chars: int = Field(50, ge=0, description="shorter documents are rejected (normalize:too_short)")
    max_chars: int = Field(1_000_000, gt=0, description="longer documents are rejected (normalize:too_long)")


class NormalizeStage(Stage):
    name = "normalize"
    Config = NormalizeConfig
    summary = "Unicode normalisation, control characters, whitespace; min/max length."

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        cfg = self.config

        def normalize_batch(batch: pa.RecordBatch) -> dict:
            texts, removed, reasons = [], [], []
            for text in batch.column("text").to_pylist():
                clean = normalize_text(text, cfg.unicode_form, cfg.collapse_whitespace)
                texts.append(clean)
                removed.append(len(text) - len(clean))
                reasons.append(length_reason(clean, cfg.min_chars, cfg.max_chars))
            return {"text": texts, "normalize_chars_removed": removed, REASON: reasons}

        new_fields = [StructField("normalize_chars_removed", IntegerType(), False), REASON_FIELD]
        return map_batches(df, normalize_batch, new_fields)

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        row = kept.agg(
            F.sum("normalize_chars_removed").alias("chars_removed"), F.sum(F.length("text")).alias("chars_out")
        ).first()
        return {"chars_removed": int(row["chars_removed"] or 0), "chars_out": int(row["chars_out"] or 0)}
