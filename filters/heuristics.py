"""The heuristic rule families together, per language. Pure functions.

The top-level rules are the published English ones (Gopher, C4, FineWeb). A language gets
them with its entry in ``languages`` applied on top; the default entries for zh, ja, de, fr,
es and ru carry FineWeb-2's published per-language thresholds and stop words
(github.com/huggingface/fineweb-2, configs/<lang>_<script>.yml, and its pipeline's global
changes for non-English text). A language without an entry gets the top-level thresholds
but not the English word lists (stop words, bad words), which say nothing about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from filters.c4 import C4Config, c4_clean
from filters.fineweb import FINEWEB_RULES, FineWebConfig
from filters.gopher import GOPHER_QUALITY_RULES, GOPHER_REPETITION_RULES, GopherQualityConfig, GopherRepetitionConfig
from filters.text_units import Segmenter, SegmenterName, TextUnits

FAMILIES = ("gopher_quality", "gopher_repetition", "c4", "fineweb")
_RULES = {
    "gopher_quality": GOPHER_QUALITY_RULES,
    "gopher_repetition": GOPHER_REPETITION_RULES,
    "fineweb": FINEWEB_RULES,
}


class LanguageRules(BaseModel):
    """Everything the heuristics need for one language: its segmenter and the four families."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segmenter: SegmenterName = Field("whitespace", description="word segmentation (see filters/text_units.py)")
    gopher_quality: GopherQualityConfig = GopherQualityConfig()
    gopher_repetition: GopherRepetitionConfig = GopherRepetitionConfig()
    c4: C4Config = C4Config()
    fineweb: FineWebConfig = FineWebConfig()


class LanguageOverride(BaseModel):
    """Per-language changes on top of the top-level rules; each family maps field -> value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segmenter: SegmenterName | None = None
    gopher_quality: dict[str, Any] = {}
    gopher_repetition: dict[str, Any] = {}
    c4: dict[str, Any] = {}
    fineweb: dict[str, Any] = {}


def apply_override(base: LanguageRules, override: LanguageOverride, where: str) -> LanguageRules:
    """``base`` with ``override`` applied; invalid keys or values raise ValueError naming ``where``."""
    changes: dict[str, Any] = {"segmenter": override.segmenter or base.segmenter}
    for family in FAMILIES:
        family_config = getattr(base, family)
        try:
            changes[family] = type(family_config).model_validate(
                {**family_config.model_dump(), **getattr(override, family)}
            )
        except ValidationError as error:
            raise ValueError(f"{where}.{family}: {error}") from None
    return LanguageRules(**changes)


def without_word_lists(base: LanguageRules) -> LanguageRules:
    """``base`` without its language-specific word lists (stop-word rule off, no bad words)."""
    return apply_override(
        base, LanguageOverride(gopher_quality={"min_stop_words": None}, c4={"bad_words": ()}), "without_word_lists"
    )


@dataclass(frozen=True)
class RuleBook:
    """The rules for each document language, resolved once (compares by value)."""

    by_language: dict[str, LanguageRules]
    other: LanguageRules  # languages without an entry

    @classmethod
    def build(
        cls, base: LanguageRules, base_language: str, overrides: dict[str, LanguageOverride], where: str = "languages"
    ) -> RuleBook:
        by_language = {lang: apply_override(base, override, f"{where}.{lang}") for lang, override in overrides.items()}
        by_language.setdefault(base_language, base)
        return cls(by_language, without_word_lists(base))

    def for_language(self, lang: str) -> LanguageRules:
        """Rules for ``lang`` (``zh``, ``zh-Hans`` and ``zh_CN`` all use the ``zh`` entry)."""
        rules = self.by_language.get(lang)
        if rules is None:
            rules = self.by_language.get(lang.replace("_", "-").split("-")[0].lower(), self.other)
        return rules


def run_heuristics(text: str, rules: LanguageRules, segmenter: Segmenter) -> tuple[str | None, str]:
    """Apply the enabled families in order (Gopher quality, Gopher repetition, C4, FineWeb).

    Returns ``(reason, text)``: the first failing rule's reason and the input text, or
    ``(None, cleaned)`` where ``cleaned`` is the text after C4 line cleaning (or the input).
    """
    units = TextUnits(text, segmenter)
    for family in FAMILIES:
        config = getattr(rules, family)
        if not config.enabled:
            continue
        if family == "c4":
            reason, cleaned = c4_clean(units.text, config, segmenter)
            if reason is not None:
                return reason, text
            if cleaned != units.text:
                units = TextUnits(cleaned, segmenter)
            continue
        for rule in _RULES[family]:
            reason = rule(units, config)
            if reason is not None:
                return reason, text
    return None, units.text


# FineWeb-2's global changes for non-English text: FineWeb's duplicate-character ratio 0.01 -> 0.1
# and the short-line rule off.
_FINEWEB2_FINEWEB = {"max_char_dup_ratio": 0.1, "max_short_line_ratio": None}


def _fineweb2(
    stop_words: list[str],
    min_len: float,
    max_len: float,
    alpha: float,
    dup_line: float,
    top: tuple[float, float, float],
    dup: tuple[float, ...],
    line_punct: float,
    newline: float,
    segmenter: SegmenterName | None = None,
    c4: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A language entry from one FineWeb-2 config file (configs/<lang>_<script>.yml)."""
    entry: dict[str, Any] = {
        "gopher_quality": {
            "stop_words": stop_words,
            "min_mean_word_length": min_len,
            "max_mean_word_length": max_len,
            "min_alpha_words_ratio": alpha,
        },
        "gopher_repetition": {
            "max_dup_line_frac": dup_line,
            "max_top_ngram_char_frac": dict(zip((2, 3, 4), top)),
            "max_dup_ngram_char_frac": dict(zip(range(5, 11), dup)),
        },
        "fineweb": {"min_line_punct_ratio": line_punct, "max_newline_ratio": newline, **_FINEWEB2_FINEWEB},
    }
    if segmenter is not None:
        entry["segmenter"] = segmenter
    if c4 is not None:
        entry["c4"] = c4
    return entry


DEFAULT_LANGUAGES: dict[str, dict[str, Any]] = {
    "zh": _fineweb2(  # cmn_Hani.yml
        [
            "的",
            "年",
            "在",
            "月",
            "是",
            "和",
            "日",
            "了",
            "於",
            "·",
            "為",
            "有",
            "被",
            "人",
            "中",
            "为",
            "他",
            "與",
            "後",
            "也",
            "而",
            "由",
        ],
        1,
        5,
        0.735,
        0.287,
        (0.256, 0.201, 0.171),
        (0.198, 0.182, 0.167, 0.154, 0.14, 0.127),
        0.106,
        0.178,
        segmenter="jieba",
        c4={"line_end_marks": '.?!"。！？；”」』', "sentence_end_marks": ".?!。！？；", "bad_words_inside_words": True},
    ),
    "ja": _fineweb2(  # jpn_Jpan.yml
        ["の", "に", "を", "は", "た", "て", "が", "と", "で", "年", "し", "・", "月", "れ", "さ"],
        1,
        5,
        0.759,
        0.375,
        (0.121, 0.129, 0.145),
        (0.307, 0.283, 0.264, 0.248, 0.234, 0.223),
        0.167,
        0.162,
        segmenter="script_runs",
        c4={"line_end_marks": '.?!"。！？」』', "sentence_end_marks": ".?!。！？", "bad_words_inside_words": True},
    ),
    "de": _fineweb2(  # deu_Latn.yml
        ["der", "und", "die", "in", "von", "im", "den", "des", "mit", "das", "er", "dem", "als", "wurde", "für"],
        0,
        15,
        0.774,
        0.263,
        (0.169, 0.153, 0.137),
        (0.141, 0.134, 0.126, 0.117, 0.108, 0.098),
        0.0,
        0.152,
    ),
    "fr": _fineweb2(  # fra_Latn.yml
        [
            "de",
            "la",
            "le",
            "et",
            "à",
            "en",
            "l'",
            "des",
            "du",
            "les",
            "est",
            "d'",
            "un",
            "une",
            "il",
            "dans",
            "par",
            "au",
        ],
        2,
        11,
        0.812,
        0.264,
        (0.161, 0.149, 0.134),
        (0.15, 0.141, 0.131, 0.121, 0.111, 0.1),
        0.1,
        0.185,
    ),
    "es": _fineweb2(  # spa_Latn.yml
        ["de", "la", "en", "el", "y", "a", "que", "del", "los", "se", "por", "un", "con", "una", "las", "su"],
        4,
        14,
        0.825,
        0.265,
        (0.077, 0.097, 0.112),
        (0.152, 0.137, 0.123, 0.114, 0.107, 0.099),
        0.3,
        0.171,
    ),
    "ru": _fineweb2(  # rus_Cyrl.yml
        [
            "в",
            "и",
            "на",
            "с",
            "года",
            "по",
            "году",
            "из",
            "был",
            "к",
            "не",
            "от",
            "что",
            "за",
            "для",
            "его",
            "как",
            "а",
            "он",
            "также",
            "до",
            "после",
        ],
        3,
        11,
        0.713,
        0.322,
        (0.184, 0.164, 0.146),
        (0.168, 0.156, 0.145, 0.133, 0.121, 0.109),
        0.231,
        0.139,
    ),
}
