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
from filters.quality_model import load_quality_model, pareto_draw, pareto_keep, quality_score
from stages.base import (
    DETAIL,
    DETAIL_FIELD,
    REASON,
    REASON_FIELD,
    CardSpec,
    ScoredStage,
    Signal,
    StageConfig,
    StageContext,
    require_lang,
)
from stages.model_coverage import COVERAGE, model_coverage

SCORE = "quality_score"


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


def quality_decision(
    cfg: QualityClassifierConfig, doc_id: str, seed: int, lang: str | None, score: float | None
) -> tuple[str, str] | None:
    """``(reason, detail)`` when the keep rule rejects the document, else None."""
    if score is None:
        return ("quality_classifier:no_model", f"no model for lang {lang}") if cfg.no_model == "reject" else None
    if cfg.keep_rule == "threshold" and score < cfg.threshold:
        return "quality_classifier:below_threshold", f"quality_score {score:.4g} < {cfg.threshold:g}"
    if cfg.keep_rule == "pareto" and not pareto_keep(doc_id, seed, score, cfg.pareto_alpha):
        draw = pareto_draw(doc_id, seed, cfg.pareto_alpha)
        return "quality_classifier:pareto", f"pareto draw {draw:.4g} <= 1 - quality_score {1.0 - score:.4g}"
    return None


class QualityClassifierStage(ScoredStage):
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
    DECISION_KEYS = ("keep_rule", "threshold", "pareto_alpha", "no_model")

    def input_files(self) -> list[str]:
        return list(self.config.models.values())

    def preflight(self) -> None:
        check_model_files(self.config.models, load_quality_model)

    def score(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        """``quality_score`` per document; null when its language has no model."""
        models = check_model_files(self.config.models, load_quality_model)
        require_lang(df, self.name)

        def score_batch(batch: pa.RecordBatch) -> dict:
            scores = []
            for lang, text in zip(batch.column("lang").to_pylist(), batch.column("text").to_pylist()):
                if lang in models:
                    path, key = models[lang]
                    scores.append(quality_score(worker_cached(key, partial(load_quality_model, path)), text or ""))
                else:
                    scores.append(None)
            return {SCORE: scores}

        return map_batches(df, score_batch, [StructField(SCORE, DoubleType(), True)])

    def decide(self, scored: DataFrame, ctx: StageContext) -> DataFrame:
        """The keep rule applied to ``quality_score``; ``detail`` gives the score against the cut."""
        cfg, seed = self.config, ctx.seed

        def decide_batch(batch: pa.RecordBatch) -> dict:
            reasons, details = [], []
            for doc_id, lang, score in zip(
                batch.column("id").to_pylist(), batch.column("lang").to_pylist(), batch.column(SCORE).to_pylist()
            ):
                failed = quality_decision(cfg, doc_id, seed, lang, score)
                reasons.append(failed and failed[0])
                details.append(failed and failed[1])
            return {REASON: reasons, DETAIL: details}

        return map_batches(scored, decide_batch, [REASON_FIELD, DETAIL_FIELD])

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
            },
            COVERAGE: model_coverage(kept, rejected, SCORE),
        }
