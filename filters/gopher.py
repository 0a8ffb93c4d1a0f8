"""Gopher quality and repetition rules (Rae et al. 2021, appendix A, table A1). Pure functions.

Each rule takes the document's ``TextUnits`` and its family config and returns None (keep)
or its reason. A threshold set to None switches its rule off. Definitions: docs/filters.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from filters.text_units import TextUnits

GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_HAS_LETTER = re.compile(r"[^\W\d_]").search


class RuleFamilyConfig(BaseModel):
    """Base of a rule family's config: unknown keys are errors; ``enabled`` switches the family."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="apply this rule family")


class GopherQualityConfig(RuleFamilyConfig):
    min_words: int | None = Field(50, ge=0, description="fewer words: gopher_quality:word_count (Gopher A.1.1)")
    max_words: int | None = Field(100_000, ge=0, description="more words: gopher_quality:word_count (Gopher)")
    min_mean_word_length: float | None = Field(3, ge=0, description="shorter mean word length is rejected (Gopher)")
    max_mean_word_length: float | None = Field(10, ge=0, description="longer mean word length is rejected (Gopher)")
    max_hash_word_ratio: float | None = Field(0.1, ge=0, description="'#' per word above this is rejected (Gopher)")
    max_ellipsis_word_ratio: float | None = Field(0.1, ge=0, description="'...'/'…' per word above this (Gopher)")
    max_bullet_lines_ratio: float | None = Field(0.9, ge=0, le=1, description="lines starting with a bullet (Gopher)")
    max_ellipsis_lines_ratio: float | None = Field(
        0.3, ge=0, le=1, description="lines ending with an ellipsis (Gopher)"
    )
    min_alpha_words_ratio: float | None = Field(0.8, ge=0, le=1, description="tokens with a letter, at least (Gopher)")
    min_stop_words: int | None = Field(2, ge=0, description="distinct stop words the document must contain (Gopher)")
    stop_words: tuple[str, ...] = Field(GOPHER_STOP_WORDS, description="stop words, matched lower-cased (Gopher)")
    bullets: str = Field("•‣⁃◦▪▫●○►-*", min_length=1, description="characters that start a bullet line")

    _stop_words: frozenset[str] = PrivateAttr(frozenset())

    @model_validator(mode="after")
    def _prepare(self) -> GopherQualityConfig:
        self._stop_words = frozenset(word.lower() for word in self.stop_words)
        return self


class GopherRepetitionConfig(RuleFamilyConfig):
    max_dup_line_frac: float | None = Field(0.30, ge=0, le=1, description="duplicate lines / lines (Gopher table A1)")
    max_dup_para_frac: float | None = Field(0.30, ge=0, le=1, description="duplicate paragraphs / paragraphs (A1)")
    max_dup_line_char_frac: float | None = Field(0.20, ge=0, le=1, description="chars in duplicate lines / chars (A1)")
    max_dup_para_char_frac: float | None = Field(0.20, ge=0, le=1, description="chars in duplicate paragraphs (A1)")
    max_top_ngram_char_frac: dict[int, float] = Field(
        {2: 0.20, 3: 0.18, 4: 0.16}, description="n -> max char fraction of the most frequent n-gram (A1)"
    )
    max_dup_ngram_char_frac: dict[int, float] = Field(
        {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        description="n -> max char fraction covered by repeated n-grams (A1)",
    )

    @field_validator("max_top_ngram_char_frac", "max_dup_ngram_char_frac")
    @classmethod
    def _sorted_positive_n(cls, value: dict[int, float]) -> dict[int, float]:
        if any(n < 1 for n in value):
            raise ValueError(f"n-gram sizes must be >= 1, got {sorted(value)}")
        return dict(sorted(value.items()))


Rule = Callable[[TextUnits, BaseModel], str | None]


# --- Gopher quality -----------------------------------------------------------------------


def word_count(units: TextUnits, cfg: GopherQualityConfig) -> str | None:
    n = len(units.words)
    if (cfg.min_words is not None and n < cfg.min_words) or (cfg.max_words is not None and n > cfg.max_words):
        return "gopher_quality:word_count"
    return None


def mean_word_length(units: TextUnits, cfg: GopherQualityConfig) -> str | None:
    if cfg.min_mean_word_length is None and cfg.max_mean_word_length is None:
        return None
    mean = units.word_chars / len(units.words) if units.words else 0.0
    if (cfg.min_mean_word_length is not None and mean < cfg.min_mean_word_length) or (
        cfg.max_mean_word_length is not None and mean > cfg.max_mean_word_length
    ):
        return "gopher_quality:mean_word_length"
    return None


def hash_word_ratio(units: TextUnits, cfg: GopherQualityConfig) -> str | None:
    if cfg.max_hash_word_ratio is None:
        return None
    if ratio(units.text.count("#"), len(units.words)) > cfg.max_hash_word_ratio:
        return "gopher_quality:hash_word_ratio"
    return None


def ellipsis_word_ratio(units: TextUnits, cfg: GopherQualityConfig) -> str | None:
    if cfg.max_ellipsis_word_ratio is None:
        return None
    ellipses = units.text.count("...") + units.text.count("…")
    if ratio(ellipses, len(units.words)) > cfg.max_ellipsis_word_ratio:
        return "gopher_quality:ellipsis_word_ratio"
    return None


def bullet_lines(units: TextUnits, cfg: GopherQualityConfig) -> str | None:
    if cfg.max_bullet_lines_ratio is None or not units.lines:
        return None
    bullets = tuple(cfg.bullets)
    starting = sum(1 for line in units.lines if line.startswith(bullets))
    if starting / len(units.lines) > cfg.max_bullet_lines_ratio:
        return "gopher_quality:bullet_lines"
    return None


def ellipsis_lines(units: TextUnits, cfg: GopherQualityConfig) -> str | None:
    if cfg.max_ellipsis_lines_ratio is None or not units.lines:
        return None
    ending = sum(1 for line in units.lines if line.endswith(("...", "…")))
    if ending / len(units.lines) > cfg.max_ellipsis_lines_ratio:
        return "gopher_quality:ellipsis_lines"
    return None


def alpha_words(units: TextUnits, cfg: GopherQualityConfig) -> str | None:
    if cfg.min_alpha_words_ratio is None:
        return None
    tokens = units.tokens
    with_letter = len(list(filter(_HAS_LETTER, tokens)))
    if (with_letter / len(tokens) if tokens else 0.0) < cfg.min_alpha_words_ratio:
        return "gopher_quality:alpha_words"
    return None


def stop_words(units: TextUnits, cfg: GopherQualityConfig) -> str | None:
    if not cfg.min_stop_words:
        return None
    found = cfg._stop_words.intersection(map(str.lower, units.words))
    if len(found) < cfg.min_stop_words:
        return "gopher_quality:stop_words"
    return None


GOPHER_QUALITY_RULES: tuple[Rule, ...] = (
    word_count,
    mean_word_length,
    hash_word_ratio,
    ellipsis_word_ratio,
    bullet_lines,
    ellipsis_lines,
    alpha_words,
    stop_words,
)


# --- Gopher repetition --------------------------------------------------------------------


def dup_para_frac(units: TextUnits, cfg: GopherRepetitionConfig) -> str | None:
    if cfg.max_dup_para_frac is None or not units.paragraphs:
        return None
    if units.duplicate_paragraphs[0] / len(units.paragraphs) > cfg.max_dup_para_frac:
        return "gopher_repetition:dup_para_frac"
    return None


def dup_para_char_frac(units: TextUnits, cfg: GopherRepetitionConfig) -> str | None:
    if cfg.max_dup_para_char_frac is None:
        return None
    if ratio(units.duplicate_paragraphs[1], len(units.text)) > cfg.max_dup_para_char_frac:
        return "gopher_repetition:dup_para_char_frac"
    return None


def dup_line_frac(units: TextUnits, cfg: GopherRepetitionConfig) -> str | None:
    if cfg.max_dup_line_frac is None or not units.lines:
        return None
    if units.duplicate_lines[0] / len(units.lines) > cfg.max_dup_line_frac:
        return "gopher_repetition:dup_line_frac"
    return None


def dup_line_char_frac(units: TextUnits, cfg: GopherRepetitionConfig) -> str | None:
    if cfg.max_dup_line_char_frac is None:
        return None
    if ratio(units.duplicate_lines[1], len(units.text)) > cfg.max_dup_line_char_frac:
        return "gopher_repetition:dup_line_char_frac"
    return None


def top_ngram_char_frac(units: TextUnits, cfg: GopherRepetitionConfig) -> str | None:
    """Characters of the most frequent word n-gram (times its count) / characters of all words."""
    for n, limit in cfg.max_top_ngram_char_frac.items():
        if len(units.words) < n:
            continue
        occurrences, chars = units.ngrams.top(n)
        if occurrences > 1 and occurrences * chars / units.word_chars > limit:
            return f"gopher_repetition:top_{n}gram_char_frac"
    return None


def dup_ngram_char_frac(units: TextUnits, cfg: GopherRepetitionConfig) -> str | None:
    """Characters of words covered by repeated n-grams / characters of all words.

    The fraction can only fall as n grows (a repeated (n+1)-gram is made of two repeated
    n-grams), so once it is at or below every remaining limit the larger n are skipped.
    """
    limits = cfg.max_dup_ngram_char_frac
    sizes = [n for n in limits if n <= len(units.words)]
    for i, n in enumerate(sizes):
        fraction = units.ngrams.repeated_chars(n) / units.word_chars
        if fraction > limits[n]:
            return f"gopher_repetition:dup_{n}gram_char_frac"
        if all(fraction <= limits[m] for m in sizes[i + 1 :]):
            return None
    return None


GOPHER_REPETITION_RULES: tuple[Rule, ...] = (
    dup_para_frac,
    dup_para_char_frac,
    dup_line_frac,
    dup_line_char_frac,
    top_ngram_char_frac,
    dup_ngram_char_frac,
)


def ratio(count: int, total: int) -> float:
    """count / total, with 0/0 = 0 and x/0 = inf."""
    if total:
        return count / total
    return float("inf") if count else 0.0
