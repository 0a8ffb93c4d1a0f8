"""Stage: fastText quality classifier score per language; keep by threshold, Pareto sampling, or all."""

from __future__ import annotations

from functools import partial
from typing import Literal

import pyarrow as pa
from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField

from core.spark_batches import map_batches, worker_cached
from filters.model_files import check_model_files
from filters.quality_model import load_quality_model, pareto_keep, quality_score
from stages.base import REASON, REASON_FIELD, CardSpec, Signal, Stage, StageConfig, StageContext, require_lang


class QualityClassifierConfig(StageConfig):
    models: dict[str, str] = Field(
        default_factory=lambda: {"en": "models/quality/en.bin", "zh": "models/quality/zh.bin"},
        description="fastText model per language code (made by jobs/train_quality_classifier.py)",
    )
    keep_rule: Literal["threshold", "pareto", "none"] = Field(
        "threshold",
        description="threshold: keep when score >= threshold; pareto: GPT-3 sampling, "
        "keep when pareto(alpha) > 1 - score; none: keep all, only add quality_score",
    )
    threshold: float = Field(0.5, ge=0, le=1, description="minimum quality_score for keep_rule=threshold")
    pareto_alpha: float = Field(9.0, gt=0, description="Pareto shape for keep_rule=pareto (GPT-3: 9)")
    no_model: Literal["keep", "reject"] = Field(
        "keep",
        description="documents whose language has no model: keep with a null score, or reject "
        "(quality_classifier:no_model)",
    )


class QualityClassifierStage(Stage):
    name = "quality_classifier"
    libraries = ("fasttext", "numpy")
    Config = QualityClassifierConfig
    summary = "fastText quality score (probability of reference-like text) per language; threshold/Pareto keep."
    reads_lang = True
    card = CardSpec(
        signals=(
            Signal(
                "quality_score",
                "Quality score",
                cutoff_keys=("threshold",),
                cutoffs_apply_when=("keep_rule", "threshold"),
            ),
        )
    )

    def input_files(self) -> list[str]:
        return list(self.config.models.values())

    def preflight(self) -> None:
        check_model_files(self.config.models, load_quality_model)

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        cfg = self.config
        models = check_model_files(cfg.models, load_quality_model)
        require_lang(df, self.name)
        seed = ctx.seed

        def score_batch(batch: pa.RecordBatch) -> dict:
            scores, reasons = [], []
            for doc_id, lang, text in zip(
                batch.column("id").to_pylist(), batch.column("lang").to_pylist(), batch.column("text").to_pylist()
            ):
                text = text or ""
                if lang not in models:
                    scores.append(None)
                    reasons.append("quality_classifier:no_model" if cfg.no_model == "reject" else None)
                    continue
                path, key = models[lang]
                score = quality_score(worker_cached(key, partial(load_quality_model, path)), text)
                scores.append(score)
                if cfg.keep_rule == "threshold":
                    reasons.append(None if score >= cfg.threshold else "quality_classifier:below_threshold")
                elif cfg.keep_rule == "pareto":
                    reasons.append(
                        None if pareto_keep(doc_id, seed, score, cfg.pareto_alpha) else "quality_classifier:pareto"
                    )
                else:
                    reasons.append(None)
            return {"quality_score": scores, REASON: reasons}

        return map_batches(df, score_batch, [StructField("quality_score", DoubleType(), True), REASON_FIELD])

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        rows = (
            kept.select("lang", "quality_score", F.lit(True).alias("kept"))
            .unionByName(rejected.select("lang", "quality_score", F.lit(False).alias("kept")))
            .where(F.col("quality_score").isNotNull())
            .groupBy("lang")
            .agg(
                F.count("*").alias("scored"),
                F.avg("quality_score").alias("mean_score"),
                F.sum(F.col("kept").cast("int")).alias("kept"),
            )
            .collect()
        )
        return {
            "by_lang": {
                r["lang"]: {"scored": r["scored"], "kept": r["kept"], "mean_score": round(r["mean_score"], 4)}
                for r in rows
            }
        }
