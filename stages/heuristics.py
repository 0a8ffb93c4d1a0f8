"""Stage: heuristic filters as published recipes (FineWeb, FineWeb-2, C4, Gopher), per language.

Scored in two steps (``ScoredStage``): ``score`` writes every rule's signal into the struct column
``heuristics`` (family -> signal -> value) and the C4-cleaned text; ``decide`` applies the
thresholds, so a changed threshold is applied without recomputing a signal.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType

from core.spark_batches import column_batches, worker_cached
from filters.heuristics import (
    DEFAULT_LANGUAGES,
    FAMILIES,
    LanguageOverride,
    LanguageRules,
    RuleBook,
    check_recipe_settings,
    decide_columns,
    primary_language,
    score,
)
from filters.text_units import Segmenter, make_segmenter
from stages.base import DETAIL, DETAIL_FIELD, REASON, REASON_FIELD, ScoredStage, StageConfig, StageContext

SIGNALS = "heuristics"  # struct: family -> signal -> value
CLEANED = "heuristics_cleaned_text"  # in the scores only: the text after C4 line cleaning, null when unchanged
CHARS_REMOVED = "c4_chars_removed"
_FLAT = "_heuristics_udf"  # the UDF's flat result, while the stage builds its columns from it


class HeuristicsConfig(StageConfig, LanguageRules):
    """A recipe with its family settings (top level), plus per-language entries."""

    default_language: str = Field("en", description="language of rows without a `lang` value")
    base_language: str = Field("en", description="language the top-level rules and word lists are for")
    languages: dict[str, LanguageOverride] = Field(
        default_factory=dict,
        validate_default=True,
        description="per-language recipe and changes on top of the top-level settings; an entry replaces the "
        "built-in entry of its language (built in: FineWeb-2's zh, ja, de, fr, es, ru), the others stay",
    )

    _rule_book: RuleBook = PrivateAttr()

    @field_validator("languages", mode="before")
    @classmethod
    def _over_built_in_languages(cls, value: dict | None) -> dict:
        return {**DEFAULT_LANGUAGES, **(value or {})}

    @model_validator(mode="after")
    def _resolve_languages(self) -> HeuristicsConfig:
        check_recipe_settings(self, "stages.heuristics")
        self._rule_book = RuleBook.build(self, self.base_language, self.languages, "stages.heuristics.languages")
        return self

    def rules_for(self, lang: str | None) -> LanguageRules:
        return self._rule_book.for_language(lang or self.default_language)

    @property
    def rule_book(self) -> RuleBook:
        return self._rule_book


def signals_type(rule_book: RuleBook) -> StructType:
    """The ``heuristics`` column: per family, every signal any language's recipe computes (double)."""
    names: dict[str, dict[str, None]] = {family: {} for family in FAMILIES}
    for rules in rule_book.all_rules().values():
        for family, signals in rules.signal_names().items():
            names[family].update(dict.fromkeys(signals))
    return StructType(
        [
            StructField(family, StructType([StructField(name, DoubleType(), True) for name in signals]), True)
            for family, signals in names.items()
            if signals
        ]
    )


def _flat_signals(families: list[tuple[str, list[str]]]) -> StructType:
    """What the scoring UDF returns: per family a flag (computed for the row's language) and its signals
    as ``family.signal``, then the cleaned text; ``score`` nests them into ``signals_type`` in Spark."""
    fields = []
    for family, names in families:
        fields.append(StructField(family, BooleanType(), True))
        fields += [StructField(f"{family}.{name}", DoubleType(), True) for name in names]
    return StructType([*fields, StructField(CLEANED, StringType(), True)])


def _lang(df: DataFrame) -> Column:
    return F.col("lang") if "lang" in df.columns else F.lit(None).cast(StringType())


def _segmenter(rules: LanguageRules, lang: str) -> Segmenter:
    """The language's segmenter, loaded once per worker (spaCy's tokenizer is per language)."""
    language = primary_language(lang) if rules.segmenter == "spacy" else ""
    return worker_cached(f"segmenter:{rules.segmenter}:{language}", partial(make_segmenter, rules.segmenter, language))


class HeuristicsStage(ScoredStage):
    name = "heuristics"
    libraries = ("jieba", "numpy", "spacy")
    Config = HeuristicsConfig
    summary = (
        "Published heuristic recipes per language: FineWeb (default), FineWeb-2, C4, Gopher; signals then decisions."
    )
    reads_lang = True
    without_lang = "every document gets the rules of stages.heuristics.default_language"
    details_quote_text = False  # a detail is `<signal> <value> <op> <threshold>` (filters.gopher.Check.failure)

    def scoring_config(self) -> dict[str, Any]:
        """Per language, the recipe's steps, segmenter and every setting but the thresholds."""
        cfg = self.config
        rules = {lang: rules.scoring_settings() for lang, rules in cfg.rule_book.all_rules().items()}
        return {"default_language": cfg.default_language, "rules": rules}

    def score(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        cfg = self.config
        families = [(family.name, family.dataType.fieldNames()) for family in signals_type(cfg.rule_book).fields]

        def score_batch(texts: list, langs: list) -> dict[str, list]:
            out: dict[str, list] = {name: [] for name in _flat_signals(families).fieldNames()}
            for text, lang in zip(texts, langs):
                lang = lang or cfg.default_language
                rules = cfg.rules_for(lang)
                scores = score(text or "", rules, _segmenter(rules, lang))
                for family, names in families:
                    values = scores.signals.get(family)
                    out[family].append(values is not None)
                    for name in names:
                        out[f"{family}.{name}"].append(None if values is None else values.get(name))
                out[CLEANED].append(scores.cleaned)
            return out

        flat = F.col(_FLAT)
        signals = F.struct(
            *[
                F.when(flat[family], F.struct(*[flat[f"{family}.{name}"].alias(name) for name in names])).alias(family)
                for family, names in families
            ]
        )
        scoring = column_batches(score_batch, _flat_signals(families))(F.col("text"), _lang(df))
        return df.withColumn(_FLAT, scoring).withColumns({SIGNALS: signals, CLEANED: flat[CLEANED]}).drop(_FLAT)

    def decide(self, scored: DataFrame, ctx: StageContext) -> DataFrame:
        """The thresholds in Python over the language and each signal as a column of its own, compared as
        NumPy arrays (``decide_columns``; the nested struct row by row took several times longer); the kept
        text (C4-cleaned) chosen in Spark. A family not computed for a row has null signals, which fail no
        check, as its missing entry did."""
        cfg = self.config
        names = [
            f"{family.name}.{name}"
            for family in signals_type(cfg.rule_book).fields
            for name in family.dataType.fieldNames()
        ]

        def decide_batch(langs, *columns) -> dict[str, list]:
            reasons, details = decide_columns(langs, dict(zip(names, columns)), cfg.rules_for)
            return {REASON: reasons, DETAIL: details}

        columns = [F.col(SIGNALS)[family][name] for family, name in (n.split(".", 1) for n in names)]
        decided = column_batches(decide_batch, StructType([REASON_FIELD, DETAIL_FIELD]), arrays=True)(
            _lang(scored), *columns
        )
        reason = F.col(_FLAT)[REASON]
        kept_text = F.when(reason.isNull() & F.col(CLEANED).isNotNull(), F.col(CLEANED)).otherwise(F.col("text"))
        chars_removed = F.coalesce(F.length("text"), F.lit(0)) - F.coalesce(F.length(kept_text), F.lit(0))
        new = {"text": kept_text, CHARS_REMOVED: chars_removed, REASON: reason, DETAIL: F.col(_FLAT)[DETAIL]}
        return scored.withColumn(_FLAT, decided).withColumns(new).drop(_FLAT, CLEANED)

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        row = kept.agg(
            F.sum(CHARS_REMOVED).alias("c4_chars_removed"), F.sum(F.length("text")).alias("chars_out")
        ).first()
        recipes = {lang: rules.recipe for lang, rules in self.config.rule_book.all_rules().items()}
        return {
            "c4_chars_removed": int(row["c4_chars_removed"] or 0),
            "chars_out": int(row["chars_out"] or 0),
            "recipes": recipes,
        }
