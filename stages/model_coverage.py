"""Which documents a per-language model stage actually scored: a language without a model passes such a
stage unscored (``no_model: keep``), and a run whose output is mostly such documents must say so."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

COVERAGE = "model_coverage"  # stats extra key: lang -> {"scored": n, "unscored": m}


def model_coverage(kept: DataFrame, rejected: DataFrame, score_column: str) -> dict[str, dict[str, int]]:
    """Per language, documents with a score and without one (no model for the language), kept or not."""
    rows = (
        kept.select("lang", score_column)
        .unionByName(rejected.select("lang", score_column))
        .groupBy(F.coalesce("lang", F.lit("none")).alias("lang"))
        .agg(F.count(score_column).alias("scored"), F.count("*").alias("documents"))
        .collect()
    )
    return {
        row["lang"]: {"scored": row["scored"], "unscored": row["documents"] - row["scored"]}
        for row in sorted(rows, key=lambda row: (-row["documents"], row["lang"]))
    }


def unmodelled_languages(languages: list[str], models: dict[str, Any]) -> list[str]:
    """The configured languages that a per-language model stage has no model for."""
    return [lang for lang in languages if lang not in models]
