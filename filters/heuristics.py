"""The heuristic rule families composed into published recipes, per language. Pure functions.

A recipe is the order and settings of the rule families as a published dataset ran them
(``RECIPES``); every language has one (``fineweb`` for English, FineWeb-2's per-language variant for
the languages it published thresholds for, github.com/huggingface/fineweb-2 configs/<lang>_<script>.yml).
A language gets the top-level family settings (for every language; the family defaults where the
config gives none), then its recipe's changes (what makes the recipe), then its own entry in
``languages``. A language without an entry gets the top-level recipe and settings but not the
English word lists (stop words, bad words), which say nothing about it.

Signals, then decisions (Dolma's split): ``score`` measures every rule of the recipe on a document
(and cleans it when the recipe has C4), ``decide`` applies the thresholds to those signals, so a
threshold change needs no rescoring.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from filters.c4 import C4Config, c4_checks, c4_scores
from filters.code import CodeConfig, code_checks, code_signals
from filters.fineweb import FineWebConfig, fineweb_checks, fineweb_signals
from filters.gopher import (
    Check,
    GopherQualityConfig,
    GopherRepetitionConfig,
    Signals,
    gopher_quality_checks,
    gopher_quality_signals,
    gopher_repetition_checks,
    gopher_repetition_signals,
)
from filters.text_units import Segmenter, SegmenterName, TextUnits

FAMILIES = ("gopher_quality", "gopher_repetition", "c4", "fineweb", "code")
RecipeName = Literal["fineweb", "fineweb2", "c4", "gopher", "code"]


@dataclass(frozen=True)
class Recipe:
    """The families a published pipeline ran, in its order, and its changes to their defaults."""

    steps: tuple[str, ...]
    changes: dict[str, dict[str, Any]]


RECIPES: dict[str, Recipe] = {
    # FineWeb (Penedo et al. 2024): datatrove examples/fineweb.py, C4QualityFilter(filter_no_terminal_punct=False)
    "fineweb": Recipe(
        ("gopher_repetition", "gopher_quality", "c4", "fineweb"), {"c4": {"drop_unterminated_lines": False}}
    ),
    # FineWeb-2 (Penedo et al. 2025): fineweb-2-pipeline.py, no C4; per-language thresholds in DEFAULT_LANGUAGES
    "fineweb2": Recipe(
        ("gopher_repetition", "fineweb", "gopher_quality"),
        {
            "gopher_repetition": {
                "max_dup_para_frac": None,
                "max_dup_para_char_frac": None,
                "max_dup_line_char_frac": None,
            },
            "fineweb": {"max_short_line_ratio": None, "max_char_dup_ratio": 0.1},
        },
    ),
    # C4 (Raffel et al. 2020, section 2.2): TensorFlow Datasets c4_utils.clean_page
    "c4": Recipe(("c4",), {}),
    # MassiveText (Rae et al. 2021, appendix A.1.1 and table A1)
    "gopher": Recipe(("gopher_quality", "gopher_repetition"), {}),
    # source files: Codex 3.1, RedPajama's GitHub filter, StarCoder 4 (filters/code.py; the `code` source recipe)
    "code": Recipe(("code",), {}),
}

_SIGNALS = {
    "gopher_quality": gopher_quality_signals,
    "gopher_repetition": gopher_repetition_signals,
    "fineweb": fineweb_signals,
    "code": code_signals,
}
_CHECKS = {
    "gopher_quality": gopher_quality_checks,
    "gopher_repetition": gopher_repetition_checks,
    "c4": c4_checks,
    "fineweb": fineweb_checks,
    "code": code_checks,
}


_FAMILY_NOTE = "for every language; a language's recipe and its entry under languages change some (docs/filters.md)"


class LanguageRules(BaseModel):
    """Everything the heuristics need for one language: recipe, segmenter and the four families."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipe: RecipeName = Field(
        "fineweb",
        description="published recipe: fineweb, fineweb2 (per-language FineWeb-2), c4, gopher or code (source files)",
    )
    segmenter: SegmenterName = Field(
        "whitespace",
        description="word tokens (docs/filters.md): whitespace (fast), spacy (datatrove's tokens: its exact "
        "decisions, about 7x slower), jieba (zh), script_runs (ja)",
    )
    gopher_quality: GopherQualityConfig = Field(GopherQualityConfig(), description=_FAMILY_NOTE)
    gopher_repetition: GopherRepetitionConfig = Field(
        GopherRepetitionConfig(), description=f"{_FAMILY_NOTE} (fineweb2: paragraph and line-character rules off)"
    )
    c4: C4Config = Field(C4Config(), description=f"{_FAMILY_NOTE} (fineweb: drop_unterminated_lines false)")
    fineweb: FineWebConfig = Field(
        FineWebConfig(), description=f"{_FAMILY_NOTE} (fineweb2: max_char_dup_ratio 0.1, short-line rule off)"
    )
    code: CodeConfig = Field(CodeConfig(), description="source-file rules, the code recipe's only family")

    _checks: tuple[tuple[str, Check], ...] = PrivateAttr(())

    @model_validator(mode="after")
    def _prepare_checks(self) -> LanguageRules:
        self._checks = tuple(
            (family, rule) for family in self.steps() for rule in _CHECKS[family](getattr(self, family))
        )
        return self

    def steps(self) -> tuple[str, ...]:
        """The recipe's families in order, without those switched off (``enabled: false``)."""
        return tuple(family for family in RECIPES[self.recipe].steps if getattr(self, family).enabled)

    def checks(self) -> tuple[tuple[str, Check], ...]:
        """(family, check) for every rule of the recipe, in the order the recipe applies them."""
        return self._checks

    def signal_names(self) -> dict[str, list[str]]:
        """family -> the signals ``score`` computes for it."""
        names: dict[str, list[str]] = {}
        for family, rule in self._checks:
            names.setdefault(family, []).append(rule.signal)
        return names

    def scoring_settings(self) -> dict[str, Any]:
        """What the signals depend on (thresholds left out): a change here means rescoring."""
        settings = {"segmenter": self.segmenter, "steps": self.steps()}
        return settings | {family: getattr(self, family).scoring_settings() for family in self.steps()}


class LanguageOverride(BaseModel):
    """Per-language changes: a recipe, a segmenter, and per family field -> value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipe: RecipeName | None = None
    segmenter: SegmenterName | None = None
    gopher_quality: dict[str, Any] = {}
    gopher_repetition: dict[str, Any] = {}
    c4: dict[str, Any] = {}
    fineweb: dict[str, Any] = {}
    code: dict[str, Any] = {}


_WITHOUT_WORD_LISTS = LanguageOverride(gopher_quality={"min_stop_words": None}, c4={"bad_words": ()})


def compose(top: LanguageRules, override: LanguageOverride, where: str) -> LanguageRules:
    """One language's rules: the top-level family settings, the recipe's changes, then ``override``.
    Bad keys or values raise ValueError naming ``where``."""
    recipe = override.recipe or top.recipe
    families = {}
    for family in FAMILIES:
        given = getattr(top, family)
        settings = {**given.model_dump(), **RECIPES[recipe].changes.get(family, {}), **getattr(override, family)}
        try:
            families[family] = type(given).model_validate(settings)
        except ValidationError as error:
            raise ValueError(f"{where}.{family}: {error}") from None
    return LanguageRules(recipe=recipe, segmenter=override.segmenter or top.segmenter, **families)


def check_recipe_settings(top: LanguageRules, where: str) -> None:
    """A top-level setting that the top-level recipe overrides would be ignored: say so, with the way
    to change it (a value equal to the family default, as ``corpus stages`` prints, is no change)."""
    for family, changes in RECIPES[top.recipe].changes.items():
        given = getattr(top, family)
        for field in changes.keys() & given.model_fields_set:
            value, default = getattr(given, field), type(given).model_fields[field].default
            if value not in (default, changes[field]):
                raise ValueError(
                    f"{where}.{family}.{field}: the {top.recipe} recipe sets it to {changes[field]!r}, so {value!r} "
                    f"would be ignored; set it for a language under languages.<lang>.{family}, or choose another recipe"
                )


@dataclass(frozen=True)
class RuleBook:
    """The rules for each document language, resolved once (compares by value)."""

    by_language: dict[str, LanguageRules]
    other: LanguageRules  # languages without an entry

    @classmethod
    def build(
        cls, top: LanguageRules, base_language: str, overrides: dict[str, LanguageOverride], where: str = "languages"
    ) -> RuleBook:
        by_language = {lang: compose(top, override, f"{where}.{lang}") for lang, override in overrides.items()}
        by_language.setdefault(base_language, compose(top, LanguageOverride(), where))
        return cls(by_language, compose(top, _WITHOUT_WORD_LISTS, where))

    def for_language(self, lang: str) -> LanguageRules:
        """Rules for ``lang`` (``zh``, ``zh-Hans`` and ``zh_CN`` all use the ``zh`` entry)."""
        rules = self.by_language.get(lang)
        if rules is None:
            rules = self.by_language.get(primary_language(lang), self.other)
        return rules

    def all_rules(self) -> dict[str, LanguageRules]:
        """Every rule set by its language, ``*`` for the languages without an entry."""
        return {**self.by_language, "*": self.other}


def primary_language(lang: str) -> str:
    """``zh`` for ``zh-Hans``, ``zh_CN`` or ``ZH``."""
    return lang.replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class Scores:
    """A document's signals per family, and its text after C4 line cleaning (None: unchanged)."""

    signals: dict[str, Signals]
    cleaned: str | None


def score(text: str, rules: LanguageRules, segmenter: Segmenter) -> Scores:
    """Every signal of the recipe's families, in order; the families after C4 see the cleaned text.

    C4's page rules are measured, not applied, so the cleaned text is the one a kept page gets."""
    units = TextUnits(text, segmenter)
    signals: dict[str, Signals] = {}
    for family in rules.steps():
        if family == "c4":
            signals["c4"], cleaned = c4_scores(units.text, rules.c4, segmenter)
            if cleaned != units.text:
                units = TextUnits(cleaned, segmenter)
        else:
            signals[family] = _SIGNALS[family](units, getattr(rules, family))
    return Scores(signals, units.text if units.text != text else None)


def decide(signals: dict[str, Signals], rules: LanguageRules) -> tuple[str, str] | None:
    """``(reason, detail)`` of the first check that fails, in the recipe's order, else None.

    ``reason`` is ``<family>:<rule>``; ``detail`` the signal against its threshold
    (``line_punct_ratio 0.08 < 0.12``)."""
    for family, rule in rules.checks():
        detail = rule.failure((signals.get(family) or {}).get(rule.signal))
        if detail is not None:
            return f"{family}:{rule.name}", detail
    return None


def decide_columns(
    langs: Sequence[str], signals: Mapping[str, np.ndarray], rules_for: Callable[[str], LanguageRules]
) -> tuple[list[str | None], list[str | None]]:
    """``decide`` for many documents at once: ``signals`` maps ``<family>.<signal>`` to one float per document
    (NaN: not computed, fails nothing, as a missing signal in ``decide``); the thresholds are compared as arrays,
    per language, and only a failing document gets its reason and detail written. Same results as ``decide``."""
    reasons: list[str | None] = [None] * len(langs)
    details: list[str | None] = [None] * len(langs)
    rows_of: dict[str, list[int]] = {}
    for row, lang in enumerate(langs):
        rows_of.setdefault(lang, []).append(row)
    for lang, rows in rows_of.items():
        rows_array = np.asarray(rows)
        undecided = np.ones(len(rows), dtype=bool)
        for family, rule in rules_for(lang).checks():
            values = signals[f"{family}.{rule.signal}"][rows_array]
            failing = undecided & _outside(values, rule)
            for i in np.flatnonzero(failing).tolist():
                reasons[rows[i]] = f"{family}:{rule.name}"
                details[rows[i]] = rule.failure(float(values[i]))
            undecided &= ~failing
    return reasons, details


def _outside(values: np.ndarray, rule: Check) -> np.ndarray:
    """Where ``values`` fail the check (NaN never does)."""
    failing = np.zeros(len(values), dtype=bool)
    if rule.low is not None:
        failing |= values < rule.low
    if rule.high is not None:
        failing |= values > rule.high
    return failing


def run_heuristics(text: str, rules: LanguageRules, segmenter: Segmenter) -> tuple[str | None, str]:
    """Score and decide one document: ``(reason, text)`` when rejected, ``(None, kept_text)`` when kept
    (the text after C4 line cleaning when the recipe has C4)."""
    scores = score(text, rules, segmenter)
    failed = decide(scores.signals, rules)
    if failed is not None:
        return failed[0], text
    return None, text if scores.cleaned is None else scores.cleaned


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
    """A language entry from one FineWeb-2 config file (configs/<lang>_<script>.yml): its thresholds
    and stop words, with the ``fineweb2`` recipe. ``c4`` (CJK line and sentence marks) is our
    adaptation, used only if the language is given a recipe with C4."""
    entry: dict[str, Any] = {
        "recipe": "fineweb2",
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
        "fineweb": {"min_line_punct_ratio": line_punct, "max_newline_ratio": newline},
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
