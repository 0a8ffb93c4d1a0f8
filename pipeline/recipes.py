"""Per-source recipes: how each kind of source is processed, as published pretraining corpora did.

LLaMA (Touvron et al. 2023, section 2.1), The Pile (Gao et al. 2020) and Dolma (Soldaini et al. 2024)
treat each source its own way: a quality model for crawled pages, light filtering for Wikipedia,
book-level deduplication for books. A recipe here is that choice written as configuration: changes to
the run's stage sections (``stages:``) for the sources that name it, plus how ingest prepares their
documents (cut into pieces, mail cleaning). A source names one with ``recipe:`` (default ``web``, the
run's sections unchanged); ``recipes:`` in the config adds recipes or replaces a built-in one, and a
source's own ``stages:`` changes the recipe's result for that source alone.

A change applies to a stage configured under ``stages:``; a recipe's change to a stage the run does
not configure is ignored (a recipe is written for any run). Stages that compare documents with each
other (the dedup stages, decontamination) take only ``enabled`` per source, and the settings the stage
applies per row itself (``per_row_keys``: ``dedup_minhash.unit``): one set of settings for every pair of
documents they compare.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.mappings import merge
from filters.code import PERMISSIVE_LICENSES
from filters.heuristics import DEFAULT_LANGUAGES
from stages.model_coverage import unmodelled_languages

CleanKind = Literal["none", "mail", "code"]
DEFAULT_RECIPE = "web"


class RecipeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    follows: str = Field("", description="the paper or project whose treatment of this kind of source it follows")
    split_chars: int | None = Field(
        None,
        ge=1000,
        description="documents longer than this are cut into pieces at chapter or paragraph boundaries "
        "(filters/split.py); null: never cut",
    )
    clean: CleanKind = Field(
        "none",
        description="mail: keep a message's own prose (filters/mail.py); code: licence headers and author lines "
        "removed (filters/code.py); before the stages",
    )
    licenses: list[str] | None = Field(
        None, description="code: the SPDX licences a source file may be under (others skipped); null: no check"
    )
    stages: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="stage name -> changes to its section under `stages:` (enabled: false)"
    )


_NO_MODEL_FILTERS = {"quality_classifier": {"enabled": False}, "perplexity": {"enabled": False}}
# Light filtering for curated reference text (LLaMA's Wikipedia, The Pile's reference sources were not
# quality-filtered): Gopher's quality rules as a guard against empty or garbled pages, without the two that
# reference text fails by its nature: the alphabetic-word ratio (commands, paths, version numbers) and the
# word-count maximum. No repetition rules: a manual's ASCII tables repeat their border lines
# (`|-----+-----|`) and column values by design (Debian Reference: 33 of 59 pieces rejected by them).
_NO_ALPHA_RATIO = {"gopher_quality": {"max_words": None, "min_alpha_words_ratio": None}}
_LIGHT_HEURISTICS = {
    "c4": {"enabled": False},
    "fineweb": {"enabled": False},
    "gopher_repetition": {"enabled": False},
    **_NO_ALPHA_RATIO,
    # FineWeb-2's languages (zh, ja, ...) have their own ratio: their built-in entries without it (an entry
    # replaces the built-in one, so the whole entry; zh 0.735 rejected 31 of 40 Debian Reference pieces)
    "languages": {lang: merge(entry, _NO_ALPHA_RATIO) for lang, entry in DEFAULT_LANGUAGES.items()},
}
# MassiveText (Rae et al. 2021) filtered the quality of its web text only; its books got deduplication.
# Gopher's repetition rules stay as a guard against broken scans (a page repeated over and over).
_BOOK_HEURISTICS = {"c4": {"enabled": False}, "fineweb": {"enabled": False}, "gopher_quality": {"enabled": False}}

BUILTIN_RECIPES: dict[str, dict[str, Any]] = {
    "web": {
        "follows": "FineWeb (Penedo et al. 2024) heuristics, CCNet perplexity and a quality classifier as "
        "LLaMA's CommonCrawl: the run's `stages:` sections unchanged",
    },
    "reference": {
        "follows": "LLaMA's Wikipedia and The Pile's reference sources: language ID as a tag, light heuristics "
        "(Gopher quality without the alphabetic-word and word-count rules), no repetition rules, no quality or "
        "perplexity model",
        "stages": {
            **_NO_MODEL_FILTERS,
            "heuristics": _LIGHT_HEURISTICS,
            # a reference page's language is known from its source; tables, code and commands lower the model's
            # confidence (Debian Reference's package tables: 0.15-0.29), so the page is tagged, not rejected for
            # it (languages outside `languages` still are)
            "langid": {"threshold": 0.0},
        },
    },
    "books": {
        "follows": "LLaMA's Gutenberg and Books3, The Pile's PG-19 and MassiveText's books: near-deduplicated "
        "as whole books (MinHash over the union of the pieces), then piece by piece; Gopher's repetition rules "
        "only (no C4 line rules, no word-count maximum); character names kept",
        "split_chars": 20000,
        "stages": {
            **_NO_MODEL_FILTERS,
            "heuristics": _BOOK_HEURISTICS,
            "pii": {"ner": False},  # names and places are the book's characters; e-mails, phones still scrubbed
            "dedup_minhash": {"unit": "parent"},  # two copies of a book are found as whole books
        },
    },
    "mail": {
        "follows": "The Pile's Enron Emails (headers and quoted replies removed), then the web rules",
        "clean": "mail",
    },
    "code": {
        "follows": "LLaMA's GitHub (MIT, Apache and BSD projects; line-length and alphanumeric heuristics; "
        "licence headers removed), with Codex's, RedPajama's and StarCoder's per-file rules",
        "clean": "code",
        "licenses": list(PERMISSIVE_LICENSES),
        "stages": {
            # a source file's language is its programming language (meta.language): no language ID; the
            # prose rules, the quality and perplexity models (trained on prose) and sentence dedup (it would
            # cut repeated lines out of programs) do not apply; MinHash near-dedup stays (The Stack, StarCoder)
            "normalize": {"unicode_form": "none", "collapse_whitespace": False},  # indentation is syntax
            "langid": {"enabled": False},
            "heuristics": {"recipe": "code"},
            **_NO_MODEL_FILTERS,
            "dedup_sentence": {"enabled": False},
            # spaCy reads identifiers as names; author lines are removed at ingest, e-mails and the other
            # pattern entities are still scrubbed
            "pii": {"ner": False},
        },
    },
}


def unmodelled_language_warnings(config: Any) -> list[str]:
    """One line per model stage (a ``models`` map per language) whose models miss languages that
    ``stages.langid.languages`` allows, naming the sources on which that stage runs: those documents pass
    it unscored (or are rejected, with ``no_model: reject``); the card counts them per language."""
    langid = config.stages.langid
    if langid is None or not langid.enabled or not langid.languages:
        return []
    found: dict[tuple[str, str, str, str], list[str]] = {}
    for _, stage_cls, _ in config.enabled_stages():
        for source, section in config.source_sections(stage_cls.name).items():
            missing = unmodelled_languages(langid.languages, section.models) if hasattr(section, "models") else []
            if missing:
                key = (stage_cls.name, ", ".join(missing), ", ".join(sorted(section.models)), section.no_model)
                found.setdefault(key, []).append(source)
    return [
        f"stages.langid.languages allows {missing} but {stage} has no model for it (models: {models or 'none'}): "
        f"such documents of {', '.join(sources)} are {'kept unscored' if no_model == 'keep' else 'rejected'} "
        f"(no_model: {no_model})"
        for (stage, missing, models, no_model), sources in found.items()
    ]
