"""Gopher quality and repetition rules (Rae et al. 2021, appendix A, table A1). Pure functions.

Signals, then decisions (Dolma's split): ``*_signals(units, cfg)`` measures every rule of the family
on a document, ``*_checks(cfg)`` turns the thresholds into checks that the decision applies to the
signals. Definitions follow datatrove 0.10.1's GopherQualityFilter and GopherRepetitionFilter, the
implementation FineWeb and FineWeb-2 calibrated their thresholds with (docs/filters.md).
A threshold set to None switches its check off.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from filters.text_units import TextUnits, duplicates

_LETTER_OR_NUMERAL = re.compile(r"[^\W\d_]")  # str.isalnum() but not a decimal digit or "_"
GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")

Signals = dict[str, float]


@dataclass(frozen=True)
class Check:
    """One rule's decision: reject when the signal is below ``low`` or above ``high``; ``name`` is
    the reason after the family (``gopher_quality:<name>``)."""

    name: str
    signal: str
    low: float | None = None
    high: float | None = None

    def failure(self, value: float | None) -> str | None:
        """``"<signal> <value> < <low>"`` (or ``>`` ``high``) when the value fails, else None."""
        if value is None:
            return None
        if self.low is not None and value < self.low:
            return f"{self.signal} {value:.4g} < {self.low:g}"
        if self.high is not None and value > self.high:
            return f"{self.signal} {value:.4g} > {self.high:g}"
        return None


def check(signal: str, low: float | None = None, high: float | None = None) -> Check:
    """A check named after its signal."""
    return Check(signal, signal, low, high)


class RuleFamilyConfig(BaseModel):
    """Base of a rule family's config: unknown keys are errors; ``enabled`` switches the family.

    ``THRESHOLDS`` names the fields that only decide; every other field changes the signals."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    THRESHOLDS: ClassVar[tuple[str, ...]] = ()

    enabled: bool = Field(True, description="apply this rule family")

    def scoring_settings(self) -> dict:
        """The settings the signals depend on: thresholds left out (an n-gram map keeps its sizes)."""
        settings = {}
        for name, value in self.model_dump(mode="json").items():
            if name not in self.THRESHOLDS:
                settings[name] = value
            elif isinstance(value, dict):
                settings[name] = sorted(value)
        return settings


class GopherQualityConfig(RuleFamilyConfig):
    THRESHOLDS = (
        "min_words",
        "max_words",
        "min_mean_word_length",
        "max_mean_word_length",
        "max_hash_word_ratio",
        "max_ellipsis_word_ratio",
        "max_bullet_lines_ratio",
        "max_ellipsis_lines_ratio",
        "min_alpha_words_ratio",
        "min_stop_words",
    )

    min_words: int | None = Field(50, ge=0, description="fewer words: gopher_quality:word_count (Gopher A.1.1)")
    max_words: int | None = Field(100_000, ge=0, description="more words: gopher_quality:word_count (Gopher)")
    min_mean_word_length: float | None = Field(3, ge=0, description="shorter mean word length is rejected (Gopher)")
    max_mean_word_length: float | None = Field(10, ge=0, description="longer mean word length is rejected (Gopher)")
    max_hash_word_ratio: float | None = Field(0.1, ge=0, description="'#' per token above this is rejected (Gopher)")
    max_ellipsis_word_ratio: float | None = Field(0.1, ge=0, description="'...'/'…' per token above this (Gopher)")
    max_bullet_lines_ratio: float | None = Field(0.9, ge=0, le=1, description="lines starting with a bullet (Gopher)")
    max_ellipsis_lines_ratio: float | None = Field(
        0.3, ge=0, le=1, description="lines ending with an ellipsis (Gopher)"
    )
    min_alpha_words_ratio: float | None = Field(
        0.8, ge=0, le=1, description="tokens with a letter / tokens, at least (Gopher)"
    )
    min_stop_words: int | None = Field(2, ge=0, description="distinct stop words the document must contain (Gopher)")
    stop_words: tuple[str, ...] = Field(GOPHER_STOP_WORDS, description="stop words, matched as tokens, case-sensitive")
    bullets: str = Field("•-", min_length=1, description="characters that start a bullet line (datatrove: • and -)")


class GopherRepetitionConfig(RuleFamilyConfig):
    THRESHOLDS = (
        "max_dup_line_frac",
        "max_dup_para_frac",
        "max_dup_line_char_frac",
        "max_dup_para_char_frac",
        "max_top_ngram_char_frac",
        "max_dup_ngram_char_frac",
    )

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


def ratio(count: float, total: float) -> float:
    """count / total, with 0/0 = 0 and x/0 = inf."""
    if total:
        return count / total
    return math.inf if count else 0.0


# --- Gopher quality -----------------------------------------------------------------------


def gopher_quality_signals(units: TextUnits, cfg: GopherQualityConfig) -> Signals:
    """Words are tokens with a non-punctuation character; the per-token ratios divide by all tokens;
    the line ratios count the lines of ``splitlines()``, blank ones included (datatrove)."""
    text, tokens, vocabulary, lines = units.text, units.tokens, units.vocabulary, units.physical_lines
    word_count, word_chars = vocabulary.words()
    bullets = tuple(cfg.bullets)
    return {
        "word_count": word_count,
        "mean_word_length": ratio(word_chars, word_count),
        "hash_word_ratio": ratio(text.count("#"), len(tokens)),
        "ellipsis_word_ratio": ratio(text.count("...") + text.count("…"), len(tokens)),
        "bullet_lines_ratio": ratio(sum(1 for line in lines if line.lstrip().startswith(bullets)), len(lines)),
        "ellipsis_lines_ratio": ratio(sum(1 for line in lines if line.rstrip().endswith(("...", "…"))), len(lines)),
        "alpha_words_ratio": ratio(vocabulary.count_where(has_letter), len(tokens)),
        "stop_words": len(set(cfg.stop_words).intersection(vocabulary.distinct)),
    }


def has_letter(token: str) -> bool:
    """A character of the token ``isalpha()``. Most tokens are all letters (one C call); otherwise the
    regex finds the first letter or non-decimal numeral (a superset of the letters) in C, and only when
    that one is a numeral are the characters looked at one by one."""
    if token.isalpha():
        return True
    found = _LETTER_OR_NUMERAL.search(token)
    return found is not None and (found.group().isalpha() or any(c.isalpha() for c in token))


def gopher_quality_checks(cfg: GopherQualityConfig) -> list[Check]:
    return [
        check("word_count", cfg.min_words, cfg.max_words),
        check("mean_word_length", cfg.min_mean_word_length, cfg.max_mean_word_length),
        check("hash_word_ratio", high=cfg.max_hash_word_ratio),
        check("ellipsis_word_ratio", high=cfg.max_ellipsis_word_ratio),
        Check("bullet_lines", "bullet_lines_ratio", high=cfg.max_bullet_lines_ratio),
        Check("ellipsis_lines", "ellipsis_lines_ratio", high=cfg.max_ellipsis_lines_ratio),
        Check("alpha_words", "alpha_words_ratio", low=cfg.min_alpha_words_ratio),
        check("stop_words", low=cfg.min_stop_words),
    ]


# --- Gopher repetition --------------------------------------------------------------------


def gopher_repetition_signals(units: TextUnits, cfg: GopherRepetitionConfig) -> Signals:
    """Duplicates are items equal to an earlier item; character fractions divide by the length of
    the text. The top n-gram counts its tokens joined by spaces times its count; repeated n-grams
    are found by datatrove's scan (``TokenNgrams.repeated_chars``)."""
    length = len(units.text)
    para_dups, para_chars = duplicates(units.paragraphs)
    line_dups, line_chars = duplicates(units.line_runs)
    signals = {
        "dup_para_frac": ratio(para_dups, len(units.paragraphs)),
        "dup_para_char_frac": ratio(para_chars, length),
        "dup_line_frac": ratio(line_dups, len(units.line_runs)),
        "dup_line_char_frac": ratio(line_chars, length),
    }
    n_tokens = len(units.tokens)
    for n in cfg.max_top_ngram_char_frac:
        top = 0.0
        if n_tokens >= n:
            occurrences, chars = units.ngrams.top(n)
            top = ratio(occurrences * (chars + n - 1), length)
        signals[f"top_{n}gram_char_frac"] = top
    for n in cfg.max_dup_ngram_char_frac:
        repeated = units.ngrams.repeated_chars(n) if n_tokens >= n else 0
        signals[f"dup_{n}gram_char_frac"] = ratio(repeated, length)
    return signals


def gopher_repetition_checks(cfg: GopherRepetitionConfig) -> list[Check]:
    return [
        check("dup_para_frac", high=cfg.max_dup_para_frac),
        check("dup_para_char_frac", high=cfg.max_dup_para_char_frac),
        check("dup_line_frac", high=cfg.max_dup_line_frac),
        check("dup_line_char_frac", high=cfg.max_dup_line_char_frac),
        *(check(f"top_{n}gram_char_frac", high=limit) for n, limit in cfg.max_top_ngram_char_frac.items()),
        *(check(f"dup_{n}gram_char_frac", high=limit) for n, limit in cfg.max_dup_ngram_char_frac.items()),
    ]
