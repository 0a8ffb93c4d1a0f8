"""Parity and speed: the heuristics recipes against datatrove 0.10.1, rule by rule, on real pages.

    .venv-bench/bin/python bench/bench_heuristics.py [--langs en,de,zh] [--limit N] [--timing-docs 300]

Pages: ``../shared/data/web/pages_wet_like.jsonl.gz`` and the Debian handbook, each page assigned
the language fastText lid.176 gives it (score >= 0.65): English pages are judged with the ``fineweb``
recipe (and its ``c4`` and ``gopher`` presets), German and Chinese ones with FineWeb-2's (our
built-in ``de`` and ``zh`` entries; datatrove gets the same thresholds and ``deu_Latn``/``cmn_Hani``).

Rule by rule: for every rule of the recipe, datatrove's filter is built from our settings with
every other rule of the filter switched off, so its decision on that rule alone is compared with
ours (our signal against the same threshold). C4's rules see the raw page, the rules after C4 the
page as C4 cleaned it (each side its own cleaning, compared too). Our side runs with the default
segmenter (white-space tokens; jieba for zh) and with ``spacy`` (the tokens datatrove counts);
a disagreement of the default run on a page where the spacy run agrees is put down to tokenisation.
datatrove's tokenisation is memoised per text so the per-rule filters do not tokenise a page again
(its results are unchanged; only its timing row uses the unmemoised filters).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from bench.measure import measure  # noqa: E402
from filters.gopher import Check  # noqa: E402
from filters.heuristics import LanguageRules, decide, score  # noqa: E402
from filters.text_units import TERMINAL_PUNCTUATION, make_segmenter  # noqa: E402
from stages.heuristics import HeuristicsConfig  # noqa: E402

HANDBOOK = {"en": ["en-US"], "de": ["de-DE"], "zh": ["zh-CN", "zh-TW"]}
DATATROVE_LANGUAGE = {"en": "eng", "de": "deu_Latn", "zh": "cmn_Hani"}
# Rules whose definition counts tokens (C4's: sentences), so that white-space tokens (or jieba outside
# spaCy) define them differently from datatrove's spaCy tokens; the other rules read lines and characters.
TOKEN_RULES = {
    *(f"gopher_quality:{name}" for name in ("word_count", "mean_word_length", "hash_word_ratio")),
    *(f"gopher_quality:{name}" for name in ("ellipsis_word_ratio", "alpha_words", "stop_words")),
    *(f"gopher_repetition:top_{n}gram_char_frac" for n in range(1, 20)),
    *(f"gopher_repetition:dup_{n}gram_char_frac" for n in range(1, 20)),
    "c4:too_few_sentences",
    "fineweb:newline_ratio",
}


@dataclass(frozen=True)
class Page:
    name: str
    text: str


def load_pages(lang: str, limit: int | None) -> list[Page]:
    """Web and handbook pages that lid.176 puts in ``lang`` with a score of at least 0.65."""
    from filters.langid import bundled_model_path, identify, load_model

    model = load_model(bundled_model_path())
    candidates = []
    with gzip.open(DATA / "web" / "pages_wet_like.jsonl.gz", "rt", encoding="utf-8") as lines:
        candidates += [Page(f"web:{json.loads(line)['id']}", json.loads(line)["text"]) for line in lines]
    for part in HANDBOOK[lang]:
        with gzip.open(DATA / "handbook" / f"{part}.jsonl.gz", "rt", encoding="utf-8") as lines:
            candidates += [Page(f"handbook/{part}:{i}", json.loads(line)["text"]) for i, line in enumerate(lines)]
    pages = []
    for page in candidates:
        label, probability = identify(model, page.text)
        if label == lang and probability >= 0.65:
            pages.append(page)
    return pages[:limit]


# --- datatrove, configured from our settings --------------------------------------------------


def memoize_datatrove_tokenizers() -> None:
    """Cache datatrove's word and sentence splitting per (text, language): same results, less time."""
    from datatrove.pipeline.filters import (
        c4_filters,
        fineweb_quality_filter,
        gopher_quality_filter,
        gopher_repetition_filter,
    )

    for module in (gopher_quality_filter, gopher_repetition_filter, fineweb_quality_filter, c4_filters):
        for name in ("split_into_words", "split_into_sentences"):
            if hasattr(module, name):
                setattr(module, name, functools.lru_cache(maxsize=None)(getattr(module, name)))


def datatrove_settings(family: str, rules: LanguageRules) -> tuple[dict, dict, dict[str, tuple[dict, tuple]]]:
    """(all of the family's settings, the settings that switch every rule off, per rule of ours: the
    settings that switch it alone on and datatrove's reasons for it, () for any) as filter arguments."""
    return SETTINGS[family](getattr(rules, family))


def _gopher_quality(cfg) -> tuple[dict, dict, dict]:
    assert cfg.bullets == "•-" and cfg.max_hash_word_ratio == cfg.max_ellipsis_word_ratio
    every = {
        "min_doc_words": cfg.min_words,
        "max_doc_words": cfg.max_words,
        "min_avg_word_length": cfg.min_mean_word_length,
        "max_avg_word_length": cfg.max_mean_word_length,
        "max_symbol_word_ratio": cfg.max_hash_word_ratio,
        "max_bullet_lines_ratio": cfg.max_bullet_lines_ratio,
        "max_ellipsis_lines_ratio": cfg.max_ellipsis_lines_ratio,
        "max_non_alpha_words_ratio": cfg.min_alpha_words_ratio,
        "min_stop_words": cfg.min_stop_words,
    }
    per_rule = {
        "word_count": (["min_doc_words", "max_doc_words"], ()),
        "mean_word_length": (["min_avg_word_length", "max_avg_word_length"], ()),
        "hash_word_ratio": (["max_symbol_word_ratio"], ("gopher_too_many_hashes",)),
        "ellipsis_word_ratio": (["max_symbol_word_ratio"], ("gopher_too_many_ellipsis",)),
        "bullet_lines": (["max_bullet_lines_ratio"], ()),
        "ellipsis_lines": (["max_ellipsis_lines_ratio"], ()),
        "alpha_words": (["max_non_alpha_words_ratio"], ()),
        "stop_words": (["min_stop_words"], ()),
    }
    return _split(every, per_rule, {"stop_words": list(cfg.stop_words)}, None)


def _gopher_repetition(cfg) -> tuple[dict, dict, dict]:
    every = {
        "dup_para_frac": cfg.max_dup_para_frac,
        "dup_para_char_frac": cfg.max_dup_para_char_frac,
        "dup_line_frac": cfg.max_dup_line_frac,
        "dup_line_char_frac": cfg.max_dup_line_char_frac,
        "top_n_grams": tuple(cfg.max_top_ngram_char_frac.items()),
        "dup_n_grams": tuple(cfg.max_dup_ngram_char_frac.items()),
    }
    per_rule = {name: ([name], ()) for name in list(every)[:4]}
    full, off, rules_on = _split(every, per_rule, {}, {"top_n_grams": (), "dup_n_grams": ()})
    for n, limit in cfg.max_top_ngram_char_frac.items():
        rules_on[f"top_{n}gram_char_frac"] = ({**off, "top_n_grams": ((n, limit),)}, ())
    for n, limit in cfg.max_dup_ngram_char_frac.items():
        rules_on[f"dup_{n}gram_char_frac"] = ({**off, "dup_n_grams": ((n, limit),)}, ())
    return full, off, rules_on


def _c4(cfg) -> tuple[dict, dict, dict]:
    from datatrove.pipeline.filters.c4_filters import POLICY_SUBSTRINGS

    assert tuple(POLICY_SUBSTRINGS) == cfg.policy_substrings and not cfg.bad_words
    cleaning = {
        "filter_no_terminal_punct": cfg.drop_unterminated_lines,
        "remove_citations": cfg.remove_citations,
        "min_words_per_line": -1 if cfg.min_words_per_line is None else cfg.min_words_per_line,
        "max_word_length": -1 if cfg.max_word_length is None else cfg.max_word_length,
        "filter_javascript": cfg.drop_javascript_lines,
        "filter_policy": cfg.drop_policy_lines,
    }
    every = {
        "filter_lorem_ipsum": cfg.drop_lorem_ipsum,
        "filter_curly_bracket": cfg.drop_curly_bracket,
        "min_num_sentences": -1 if cfg.min_sentences is None else cfg.min_sentences,
    }
    per_rule = {
        "lorem_ipsum": (["filter_lorem_ipsum"], ()),
        "curly_bracket": (["filter_curly_bracket"], ()),
        "too_few_sentences": (["min_num_sentences"], ()),
    }
    off = {"filter_lorem_ipsum": False, "filter_curly_bracket": False, "min_num_sentences": -1}
    return _split(every, per_rule, cleaning, off)


def _fineweb(cfg) -> tuple[dict, dict, dict]:
    assert set(cfg.terminal_punctuation) == set(TERMINAL_PUNCTUATION)
    every = {
        "line_punct_thr": cfg.min_line_punct_ratio or 0.0,
        "short_line_thr": 999 if cfg.max_short_line_ratio is None else cfg.max_short_line_ratio,
        "char_duplicates_ratio": 999 if cfg.max_char_dup_ratio is None else cfg.max_char_dup_ratio,
        "new_line_ratio": 1e18 if cfg.max_newline_ratio is None else cfg.max_newline_ratio,
    }
    per_rule = {
        "line_punct_ratio": (["line_punct_thr"], ()),
        "short_line_ratio": (["short_line_thr"], ()),
        "char_dup_ratio": (["char_duplicates_ratio"], ()),
        "newline_ratio": (["new_line_ratio"], ()),
    }
    off = {"line_punct_thr": 0.0, "short_line_thr": 999, "char_duplicates_ratio": 999, "new_line_ratio": 1e18}
    return _split(every, per_rule, {"short_line_length": cfg.short_line_length}, off)


SETTINGS = {"gopher_quality": _gopher_quality, "gopher_repetition": _gopher_repetition, "c4": _c4, "fineweb": _fineweb}


def _split(every: dict, per_rule: dict, fixed: dict, off: dict | None) -> tuple[dict, dict, dict]:
    """(full settings, all rules off, rule -> (its settings alone, datatrove's reasons for it))."""
    off = {**dict.fromkeys(every), **fixed, **(off or {})}
    rules_on = {
        name: ({**off, **{key: every[key] for key in keys}}, reason) for name, (keys, reason) in per_rule.items()
    }
    return {**every, **fixed}, off, rules_on


FILTER_CLASSES = {
    "gopher_quality": "GopherQualityFilter",
    "gopher_repetition": "GopherRepetitionFilter",
    "c4": "C4QualityFilter",
    "fineweb": "FineWebQualityFilter",
}


def datatrove_filter(family: str, settings: dict, lang: str):
    from datatrove.pipeline import filters

    return getattr(filters, FILTER_CLASSES[family])(language=DATATROVE_LANGUAGE[lang], **settings)


def datatrove_run(text: str, filters: list) -> tuple[str | None, str]:
    """(reason of the first filter that rejects or None, the text as the filters left it)."""
    from datatrove.data import Document

    document = Document(text=text, id="page")
    for step in filters:
        verdict = step.filter(document)
        if verdict is not True:
            return (verdict[1] if isinstance(verdict, tuple) else "rejected"), document.text
    return None, document.text


# --- both sides, page by page -----------------------------------------------------------------


@dataclass
class Outcome:
    """One page, one side: per rule rejected or not (None: datatrove found the text empty), the signal
    values (ours), the recipe's verdict (reason or None) and family, and the C4-cleaned text."""

    rejected: dict[str, bool | None]
    values: dict[str, float]
    reason: str | None
    family: str | None
    cleaned: str | None


class Datatrove:
    """datatrove's filters for one language's rules: each rule alone, and the recipe's chain."""

    def __init__(self, rules: LanguageRules, lang: str):
        self.steps = rules.steps()
        self.chain, self.single, self.cleaner = [], {}, None
        for family in self.steps:
            full, off, rules_on = datatrove_settings(family, rules)
            self.chain.append(datatrove_filter(family, full, lang))
            for name, (settings, reason) in rules_on.items():
                self.single[f"{family}:{name}"] = (family, datatrove_filter(family, settings, lang), reason)
            if family == "c4":
                self.cleaner = datatrove_filter(family, off, lang)

    def outcome(self, text: str) -> Outcome:
        cleaned = datatrove_run(text, [self.cleaner])[1] if self.cleaner is not None else None
        after_c4 = self.steps.index("c4") if "c4" in self.steps else len(self.steps)
        rejected = {}
        for key, (family, step, expected) in self.single.items():
            seen = cleaned if self.steps.index(family) > after_c4 else text
            reason = datatrove_run(seen, [step])[0]
            rejected[key] = None if reason == "empty" else (reason is not None and reason in (expected or (reason,)))
        reason, family = None, None
        for index, step in enumerate(self.chain):
            reason = datatrove_run(text if index <= after_c4 else cleaned, [step])[0]
            if reason is not None:
                family = self.steps[index]
                break
        return Outcome(rejected, {}, reason, family, cleaned)


def our_outcome(text: str, rules: LanguageRules, segmenter) -> Outcome:
    scores = score(text, rules, segmenter)
    rejected, values = {}, {}
    for family, check in rules.checks():
        value = scores.signals[family][check.signal]
        values[f"{family}:{check.name}"] = value
        rejected[f"{family}:{check.name}"] = check.failure(value) is not None
    # datatrove tests '#' and '...' with one setting, hashes first: its ellipsis rule is seen only without hashes
    if "gopher_quality:ellipsis_word_ratio" in rejected:
        rejected["gopher_quality:ellipsis_word_ratio"] &= not rejected["gopher_quality:hash_word_ratio"]
    failed = decide(scores.signals, rules)
    cleaned = (scores.cleaned if scores.cleaned is not None else text) if "c4" in rules.steps() else None
    return Outcome(rejected, values, failed and failed[0], failed and failed[0].split(":")[0], cleaned)


def thresholds(rules: LanguageRules) -> dict[str, Check]:
    return {f"{family}:{check.name}": check for family, check in rules.checks()}


# --- report -------------------------------------------------------------------------------------


def rule_table(pages: list[Page], theirs: list[Outcome], ours: dict[str, list[Outcome]], rules: LanguageRules) -> None:
    """Per rule: how many pages each side rejects, and on how many pages the two decisions agree."""
    modes = list(ours)
    header = " | ".join(f"{mode}: we reject | agree" for mode in modes)
    print(f"| rule | datatrove rejects | {header} | definition |")
    print("|---|---:|" + "---:|---:|" * len(modes) + "---|")
    for key in [key for key in thresholds(rules) if key in theirs[0].rejected]:  # datatrove has no bad-words rule
        compared = [i for i, outcome in enumerate(theirs) if outcome.rejected[key] is not None]
        cells = []
        for mode in modes:
            agree = sum(ours[mode][i].rejected[key] == theirs[i].rejected[key] for i in compared)
            cells.append(f"{sum(ours[mode][i].rejected[key] for i in compared)} | {_percent(agree, len(compared))}")
        definition = "tokens" if key in TOKEN_RULES else "same"
        empty = len(pages) - len(compared)
        note = f" ({empty} empty pages left out)" if empty else ""
        print(
            f"| `{key}` | {sum(theirs[i].rejected[key] for i in compared)} | {' | '.join(cells)} | {definition}{note} |"
        )


def disagreements(
    pages: list[Page], theirs: list[Outcome], ours: dict[str, list[Outcome]], rules: LanguageRules
) -> None:
    """Every disagreement class of the default run: rule and direction, how many pages, how many of them
    the spacy run (datatrove's tokens) decides as datatrove does, and the first page as an example."""
    default, *others = list(ours)
    checks = thresholds(rules)
    print(
        f"| rule | class | pages | {'agree with spacy tokens | ' if others else ''}example: page, our signal{' (spacy)' if others else ''}, threshold |"
    )
    print("|---|---|---:|" + ("---:|" if others else "") + "---|")
    shown = 0
    for key, check in [(key, check) for key, check in checks.items() if key in theirs[0].rejected]:
        classes: dict[str, list[int]] = {}
        for i, outcome in enumerate(theirs):
            if outcome.rejected[key] is None or outcome.rejected[key] == ours[default][i].rejected[key]:
                continue
            classes.setdefault(
                "we reject, datatrove keeps" if ours[default][i].rejected[key] else "datatrove rejects, we keep", []
            ).append(i)
        shown += len(classes)
        for name, found in classes.items():
            i = found[0]
            value = f"{ours[default][i].values[key]:.4g}"
            explained = ""
            if others:
                explained = f"{sum(ours[others[0]][j].rejected[key] == theirs[j].rejected[key] for j in found)} | "
                value += f" ({ours[others[0]][i].values[key]:.4g})"
            limit = check.low if check.low is not None else check.high
            print(f"| `{key}` | {name} | {len(found)} | {explained}{pages[i].name}, {value}, {limit:g} |")
    if not shown:
        print("| every rule | none: the two decide alike on every page | 0 |" + (" - |" if others else "") + " - |")


def recipe_rows(label: str, pages: list[Page], theirs: list[Outcome], ours: dict[str, list[Outcome]]) -> list[str]:
    """Whole-recipe keep/reject agreement and first failing family, per segmenter."""
    rows = []
    for mode, outcomes in ours.items():
        kept = sum(o.reason is None for o in outcomes)
        agree = sum((o.reason is None) == (t.reason is None) for o, t in zip(outcomes, theirs))
        family = sum(o.family == t.family for o, t in zip(outcomes, theirs))
        dt_kept = sum(t.reason is None for t in theirs)
        rows.append(
            f"| {label} | {mode} | {len(pages)} | {dt_kept} | {kept} | {_percent(agree, len(pages))} "
            f"| {_percent(family, len(pages))} |"
        )
    return rows


def _percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}% ({part}/{whole})" if whole else "-"


def compare(
    lang: str, pages: list[Page], recipe: str, modes: list[str]
) -> tuple[list[Outcome], dict[str, list[Outcome]], LanguageRules]:
    rules = HeuristicsConfig(recipe=recipe).rules_for(lang)
    datatrove = Datatrove(rules, lang)
    theirs = [datatrove.outcome(page.text) for page in pages]
    ours = {}
    for mode in modes:
        mode_rules = rules.model_copy(update={"segmenter": mode})
        segmenter = make_segmenter(mode, lang)
        ours[mode] = [our_outcome(page.text, mode_rules, segmenter) for page in pages]
    return theirs, ours, rules


def report_language(lang: str, pages: list[Page]) -> None:
    recipes = ["fineweb", "c4", "gopher"] if lang == "en" else ["fineweb"]  # de, zh: their entries name fineweb2
    modes = ["whitespace", "spacy"] if lang != "zh" else ["jieba"]
    web = sum(page.name.startswith("web:") for page in pages)
    print(f"\n## {lang}: {len(pages)} pages ({web} web, {len(pages) - web} handbook)\n")
    recipe_lines = []
    for recipe in recipes:
        theirs, ours, rules = compare(lang, pages, recipe, modes)
        recipe_lines += recipe_rows(rules.recipe, pages, theirs, ours)
        if rules.recipe in ("fineweb", "fineweb2", "c4"):
            print(f"### Rule by rule, recipe `{rules.recipe}` (steps: {', '.join(rules.steps())})\n")
            rule_table(pages, theirs, ours, rules)
            print(f"\nDisagreements of the {modes[0]} run:\n")
            disagreements(pages, theirs, ours, rules)
            print()
            if "c4" in rules.steps():
                same = {mode: sum(o.cleaned == t.cleaned for o, t in zip(outs, theirs)) for mode, outs in ours.items()}
                print(f"C4 line cleaning: identical cleaned text on {same} of {len(pages)} pages.\n")
    print("### Recipes: whole-recipe decisions\n")
    print(
        "| recipe | segmenter | pages | datatrove keeps | we keep | keep/reject agree | first failing family agrees |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(recipe_lines))


def timing(pages: list[Page]) -> None:
    """datatrove's chain (its own tokenisation, not memoised) and our whitespace and spacy runs, one
    thread each, back to back; then the Spark stage on local[2] (CPU of the whole process tree)."""
    rules = HeuristicsConfig().rules_for("en")
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    chain = [
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
    ]
    runs = {
        "datatrove 0.10.1 FineWeb chain (1 thread)": lambda: [datatrove_run(p.text, chain)[0] for p in pages],
        "ours, fineweb recipe, whitespace (1 thread)": _ours_timed(pages, rules, "whitespace"),
        "ours, fineweb recipe, spacy (1 thread)": _ours_timed(pages, rules, "spacy"),
    }
    megabytes = sum(len(p.text.encode("utf-8")) for p in pages) / 1e6
    print(f"\n## Speed: {len(pages)} English pages, {megabytes:.2f} MB, load average {os.getloadavg()[0]:.1f} before\n")
    print("| implementation | wall s | CPU s | docs per CPU s | vs datatrove (CPU) |")
    print("|---|---:|---:|---:|---:|")
    results = {name: measure(run)[:2] for name, run in runs.items()}
    base = results["datatrove 0.10.1 FineWeb chain (1 thread)"][1]
    spark = "HeuristicsStage, fineweb recipe, whitespace, Spark local[2] (scores written, then decided)"
    results[spark] = _spark_stage_timed(pages)
    for name, (wall, cpu) in results.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {len(pages) / cpu:.1f} | {base / cpu:.1f}x |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


def _spark_stage_timed(pages: list[Page]) -> tuple[float, float]:
    from bench.measure import time_spark_stage
    from stages.heuristics import HeuristicsStage

    return time_spark_stage(HeuristicsStage(), [p.text for p in pages], "bench-heuristics", warmup_docs=50)


def _ours_timed(pages: list[Page], rules: LanguageRules, mode: str):
    rules = rules.model_copy(update={"segmenter": mode})
    segmenter = make_segmenter(mode, "en")
    return lambda: [decide(score(p.text, rules, segmenter).signals, rules) for p in pages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--langs", default="en,de,zh", help="languages to compare (en, de, zh)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many pages per language")
    parser.add_argument("--timing-docs", type=int, default=200, help="English pages timed (0: no timing)")
    args = parser.parse_args()
    pages = {lang: load_pages(lang, args.limit) for lang in args.langs.split(",")}
    if args.timing_docs and "en" in pages:
        timing(pages["en"][: args.timing_docs])
    memoize_datatrove_tokenizers()
    for lang, lang_pages in pages.items():
        report_language(lang, lang_pages)


if __name__ == "__main__":
    main()
