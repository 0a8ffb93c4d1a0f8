"""Stage: KenLM perplexity per document (cc_net) and head/middle/tail buckets per language."""

from __future__ import annotations

import math
from functools import partial
from typing import Literal

import pyarrow as pa
from pydantic import Field, field_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField

from core.spark_batches import map_batches, worker_cached
from filters.model_files import check_model_files
from filters.perplexity import document_perplexity, load_kenlm_model
from stages.base import DETAIL, REASON, CardSpec, ScoredStage, Signal, StageConfig, StageContext, require_lang
from stages.model_coverage import COVERAGE, model_coverage

BUCKETS = ("head", "middle", "tail")


class PerplexityConfig(StageConfig):
    models: dict[str, str] = Field(
        default_factory=lambda: {"en": "models/kenlm/en.binary", "zh": "models/kenlm/zh.binary"},
        description="KenLM model per language code (made by jobs/train_kenlm.py)",
    )
    cutoffs: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="per language [head_max, middle_max] perplexity; languages not listed get cut-offs "
        "computed over the corpus at `percentiles`",
    )
    percentiles: tuple[float, float] = Field(
        (30.0, 60.0), description="corpus percentiles (0-100) where head and middle end (cc_net: 30, 60)"
    )
    keep_buckets: list[Literal["head", "middle", "tail"]] = Field(
        default_factory=lambda: list(BUCKETS),
        description="buckets kept; others are rejected as perplexity:bucket_<name> (cc_net keeps all, tagged)",
    )
    max_perplexity: float | None = Field(None, gt=0, description="reject documents above it (perplexity:max)")
    no_model: Literal["keep", "reject"] = Field(
        "keep",
        description="documents whose language has no model: keep with null perplexity, or reject (perplexity:no_model)",
    )

    @field_validator("percentiles")
    @classmethod
    def _ordered_percentiles(cls, value):
        if not 0 < value[0] < value[1] < 100:
            raise ValueError("percentiles must satisfy 0 < head < middle < 100")
        return value

    @field_validator("cutoffs")
    @classmethod
    def _ordered_cutoffs(cls, value):
        for lang, (head, middle) in value.items():
            if not head <= middle:
                raise ValueError(f"cutoffs.{lang}: head_max {head} is above middle_max {middle}")
        return value


def corpus_cutoffs(
    scored: DataFrame, langs: list[str], percentiles: tuple[float, float]
) -> dict[str, tuple[float, float]]:
    """Per-language perplexity at ``percentiles``, exact and independent of partitioning: the nearest-rank
    percentile (the value at rank ceil(p/100 * n) in ascending order), found by one distributed sort on
    (lang, perplexity, id) and the global row index. ``percentile_approx`` would depend on how the input is
    split, so a laptop and a cluster could bucket documents near a cut-off differently."""
    values = scored.where(F.col("lang").isin(langs) & F.col("perplexity").isNotNull()).select(
        "lang", "perplexity", "id"
    )
    counts = dict(sorted((row["lang"], row["count"]) for row in values.groupBy("lang").count().collect()))
    wanted, start = {}, 0
    for lang, n in counts.items():  # the sort puts languages in this (ascending) order
        for which, p in enumerate(percentiles):
            wanted[start + max(1, math.ceil(p / 100.0 * n)) - 1] = (lang, which)
        start += n
    if not wanted:
        return {}
    ranks = scored.sparkSession.sparkContext.broadcast(set(wanted))
    ordered = values.orderBy("lang", "perplexity", "id").rdd.map(lambda row: row["perplexity"]).zipWithIndex()
    found = ordered.filter(lambda pair: pair[1] in ranks.value).collect()  # two values per language
    cut: dict[str, list[float]] = {lang: [0.0, 0.0] for lang in counts}
    for value, index in found:
        lang, which = wanted[index]
        cut[lang][which] = float(value)
    return {lang: (head, middle) for lang, (head, middle) in cut.items()}


def bucket_column(cutoffs: dict[str, tuple[float, float]]) -> Column:
    """head when perplexity <= head_max, middle when <= middle_max, else tail; null without cut-offs."""
    if not cutoffs:
        return F.lit(None).cast("string")
    cut = F.element_at(
        F.create_map(
            *(
                item
                for lang, (head, middle) in cutoffs.items()
                for item in (F.lit(lang), F.array(F.lit(head), F.lit(middle)))
            )
        ),
        F.col("lang"),
    )
    pp = F.col("perplexity")
    return (
        F.when(pp.isNull() | cut.isNull(), F.lit(None).cast("string"))
        .when(pp <= cut[0], "head")
        .when(pp <= cut[1], "middle")
        .otherwise("tail")
    )


class PerplexityStage(ScoredStage):
    name = "perplexity"
    libraries = ("kenlm",)
    Config = PerplexityConfig
    summary = "KenLM perplexity (cc_net) per language; head/middle/tail buckets; keep by bucket and/or max."
    reads_lang = True
    card = CardSpec(
        signals=(Signal("perplexity", "Perplexity", log_x=True, cutoff_keys=("max_perplexity", "cutoffs")),)
    )
    DECISION_KEYS = ("cutoffs", "percentiles", "keep_buckets", "max_perplexity", "no_model")

    def __init__(self, config: PerplexityConfig | None = None):
        super().__init__(config)
        self.cutoffs_used: dict[str, tuple[float, float]] = {}

    def input_files(self) -> list[str]:
        return list(self.config.models.values())

    def preflight(self) -> None:
        check_model_files(self.config.models, load_kenlm_model)

    def score(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        """``perplexity`` per document; null when its language has no model."""
        models = check_model_files(self.config.models, load_kenlm_model)
        require_lang(df, self.name)

        def score_batch(batch: pa.RecordBatch) -> dict:
            values = []
            for lang, text in zip(batch.column("lang").to_pylist(), batch.column("text").to_pylist()):
                if lang in models:
                    path, key = models[lang]
                    values.append(document_perplexity(worker_cached(key, partial(load_kenlm_model, path)), text or ""))
                else:
                    values.append(None)
            return {"perplexity": values}

        return map_batches(df, score_batch, [StructField("perplexity", DoubleType(), True)])

    def decide(self, scored: DataFrame, ctx: StageContext) -> DataFrame:
        """Cut-offs (given, or corpus percentiles of the scores), buckets, then the keep rules."""
        cfg = self.config
        langs_with_model = sorted(cfg.models)
        to_compute = [lang for lang in langs_with_model if lang not in cfg.cutoffs]
        self.cutoffs_used = {
            **corpus_cutoffs(scored, to_compute, cfg.percentiles),
            **cfg.cutoffs,
        }
        out = scored.withColumn("pp_bucket", bucket_column(self.cutoffs_used))
        reason, detail = self.reason_columns(langs_with_model)
        return out.withColumn(REASON, reason).withColumn(DETAIL, detail)

    def reason_columns(self, langs_with_model: list[str]) -> tuple[Column, Column]:
        """The first rule that rejects (no model if configured, max perplexity, bucket) and its detail."""
        cfg = self.config
        pp, bucket = F.col("perplexity"), F.col("pp_bucket")
        rules = []
        if cfg.no_model == "reject":
            no_model = F.col("lang").isNull() | ~F.col("lang").isin(langs_with_model)
            rules.append((no_model, F.lit("perplexity:no_model"), F.format_string("no model for lang %s", "lang")))
        if cfg.max_perplexity is not None:
            over = F.format_string(f"perplexity %.4g > {cfg.max_perplexity:g}", pp)
            rules.append((pp > cfg.max_perplexity, F.lit("perplexity:max"), over))
        bounds = {
            lang: f"head <= {head:.4g} < middle <= {middle:.4g} < tail"
            for lang, (head, middle) in self.cutoffs_used.items()
        }
        cut = (
            F.element_at(F.create_map(*(F.lit(x) for item in bounds.items() for x in item)), F.col("lang"))
            if bounds
            else F.lit("")
        )
        bucketed = F.format_string("perplexity %.4g in bucket %s (%s), not kept", pp, bucket, cut)
        rules.append(
            (
                bucket.isNotNull() & ~bucket.isin(cfg.keep_buckets),
                F.concat(F.lit("perplexity:bucket_"), bucket),
                bucketed,
            )
        )
        reason, detail = F.lit(None).cast("string"), F.lit(None).cast("string")
        for condition, value, why in reversed(rules):
            reason = F.when(condition, value).otherwise(reason)
            detail = F.when(condition, why).otherwise(detail)
        return reason, detail

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        rows = (
            kept.select("lang", "pp_bucket")
            .unionByName(rejected.select("lang", "pp_bucket"))
            .where(F.col("pp_bucket").isNotNull())
            .groupBy("lang", "pp_bucket")
            .count()
            .collect()
        )
        buckets: dict[str, dict[str, int]] = {}
        for row in rows:
            buckets.setdefault(row["lang"], {})[row["pp_bucket"]] = row["count"]
        return {
            "cutoffs": {lang: list(cut) for lang, cut in self.cutoffs_used.items()},
            "buckets": buckets,
            COVERAGE: model_coverage(kept, rejected, "perplexity"),
        }
