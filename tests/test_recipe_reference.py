"""The `reference` recipe on a real manual: Debian Reference (en, zh-cn) cut into pieces, its ASCII package
tables and command listings kept by the light rules that LLaMA and The Pile used for reference text."""

from __future__ import annotations

import gzip

from filters.heuristics import decide, primary_language, score
from filters.langid import langid_reason
from filters.split import split_document
from filters.text_units import make_segmenter
from pipeline.config import parse_config
from tests.conftest import shared_data


def table_pieces(lang: str, name: str, count: int = 6) -> list[tuple[str, str]]:
    """The first ``count`` pieces holding ASCII tables (five table rules or more) of the manual, cut as the run does."""
    text = gzip.open(shared_data("reference", lang, name), "rt", encoding="utf-8").read().replace("\r\n", "\n")
    return [(lang, piece) for piece in split_document(text, 20_000) if piece.count("+------") >= 5][:count]


def test_reference_recipe_keeps_the_debian_reference_tables_the_web_rules_reject():
    config = parse_config(
        {
            "run": {"output_dir": "/tmp/unused"},
            "sources": [
                {"name": "manual", "format": "text", "paths": ["m"], "recipe": "reference"},
                {"name": "web", "format": "jsonl", "paths": ["w"]},
            ],
            "stages": {"langid": {"languages": ["en", "zh"]}, "heuristics": {}},
        }
    )
    documents = table_pieces("en", "debian-reference.en.txt.gz") + table_pieces("zh", "debian-reference.zh-cn.txt.gz")
    segmenters = {}

    def rejected(source: str) -> list[str]:
        section = config.source_sections("heuristics")[source]
        reasons = []
        for lang, text in documents:
            rules = section.rules_for(lang)
            key = (rules.segmenter, primary_language(lang))
            if key not in segmenters:
                segmenters[key] = make_segmenter(*key)
            decision = decide(score(text, rules, segmenters[key]).signals, rules)
            reasons += [decision[0]] if decision else []
        return reasons

    assert rejected("manual") == []  # every piece, tables and commands included
    web = rejected("web")
    assert len(web) >= len(documents) // 2 and any(r.startswith("gopher_repetition") for r in web)

    langid = config.source_sections("langid")["manual"]  # the language is tagged, a low confidence no reason
    allowed = frozenset(langid.languages)
    assert langid_reason("en", 0.15, allowed, langid.threshold, langid.thresholds) is None
    assert langid_reason("fr", 0.95, allowed, langid.threshold, langid.thresholds) == "langid:not_allowed"
    assert config.source_sections("langid")["web"].threshold == 0.65
