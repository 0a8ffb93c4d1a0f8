"""Stage: Gopher quality, Gopher repetition, C4 and FineWeb heuristic filters, per language."""

from __future__ import annotations

from functools import partial

import pyarrow as pa
from pydantic import Field, PrivateAttr, field_validator, model_validator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StructField

from core.spark_batches import map_batches, worker_cached
from filters.heuristics import DEFAULT_LANGUAGES, LanguageOverride, LanguageRules, RuleBook, run_heuristics
from filters.text_units import Segmenter, SegmenterName, make_segmenter
from stages.base import REASON, REASON_FIELD, Stage, StageConfig, StageContext

CHARS_REMOVED = "c4_chars_removed"


class HeuristicsConfig(StageConfig, LanguageRules):
    """The four rule families (top level: the published English rules) plus per-language entries."""

    default_language: str = Field("en", description="language of rows without a `lang` value")
    base_language: str = Field("en", description="language the top-level rules and word lists are for")
    languages: dict[str, LanguageOverride] = Field(
        default_factory=dict,
        validate_default=True,
        description="per-language changes to the top-level rules; an entry replaces the built-in entry of its "
        "language (built in: FineWeb-2's zh, ja, de, fr, es, ru), the other built-in entries stay",
    )

    _rule_book: RuleBook = PrivateAttr()

    @field_validator("languages", mode="before")
    @classmethod
    def _over_built_in_languages(cls, value: dict | None) -> dict:
        return {**DEFAULT_LANGUAGES, **(value or {})}

    @model_validator(mode="after")
    def _resolve_languages(self) -> HeuristicsConfig:
        base = LanguageRules(**{name: getattr(self, name) for name in LanguageRules.model_fields})
        self._rule_book = RuleBook.build(base, self.base_language, self.languages, "stages.heuristics.languages")
        return self

    def rules_for(self, lang: str | None) -> LanguageRules:
        return self._rule_book.for_language(lang or self.default_language)


def _segmenter(name: SegmenterName) -> Segmenter:
    return worker_cached(f"segmenter:{name}", partial(make_segmenter, name))


class HeuristicsStage(Stage):
    name = "heuristics"
    libraries = ("jieba", "numpy")
    Config = HeuristicsConfig
    summary = "Gopher quality + repetition, C4 line cleaning and page filters, FineWeb rules; per-language."
    reads_lang = True
    without_lang = "every document gets the rules of stages.heuristics.default_language"

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        cfg = self.config
        has_lang = "lang" in df.columns

        def heuristics_batch(batch: pa.RecordBatch) -> dict:
            texts = batch.column("text").to_pylist()
            langs = batch.column("lang").to_pylist() if has_lang else [None] * len(texts)
            out_texts, removed, reasons = [], [], []
            by_language: dict[str | None, tuple[LanguageRules, Segmenter]] = {}
            for text, lang in zip(texts, langs):
                if lang not in by_language:
                    rules = cfg.rules_for(lang)
                    by_language[lang] = rules, _segmenter(rules.segmenter)
                reason, kept_text = run_heuristics(text or "", *by_language[lang])
                out_texts.append(text if reason else kept_text)
                removed.append(0 if reason else len(text or "") - len(kept_text))
                reasons.append(reason)
            return {"text": out_texts, CHARS_REMOVED: removed, REASON: reasons}

        new_fields = [StructField(CHARS_REMOVED, IntegerType(), False), REASON_FIELD]
        return map_batches(df, heuristics_batch, new_fields)

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        row = kept.agg(
            F.sum(CHARS_REMOVED).alias("c4_chars_removed"), F.sum(F.length("text")).alias("chars_out")
        ).first()
        return {"c4_chars_removed": int(row["c4_chars_removed"] or 0), "chars_out": int(row["chars_out"] or 0)}
