"""The dataset card: ``README.md`` and ``plots/*.png`` in a run directory, built from the run's own files.

Every number comes from the run directory: stage stats, the tokenizer stats, the shard manifest, or
an aggregate of the run's Parquet (see :mod:`card.run_data`). Sections, in order: overview,
sources, processing funnel, every stage (parameters, reasons, statistics, samples), languages,
score histograms with their cut-offs, deduplication, PII, mixture, tokenizer, loading the shards,
known limitations, files. Stages and steps that did not run are listed as not run. Which stage feeds
the histograms, the deduplication table and the PII section is what each stage declares in its
``card`` attribute (``stages.base.CardSpec``), not guessed from stage or config-key names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from card import plots as card_plots
from card.run_data import (
    DONE,
    SAMPLE_CHARS,
    UNKNOWN,
    LazySpark,
    RunFiles,
    StageInfo,
    collapse_reasons,
    cutoff_values,
    final_composition,
    license_info,
    load_run,
    parquet_columns,
    read_samples,
    reason_label,
    rejects_by_source,
    sample_text,
    samples_shown,
    scrub_samples,
    size_category,
    spark_histogram,
)
from releases.index import ReleaseError, read_manifest
from stages.base import Signal

CARD_FILE = "README.md"
PLOTS_DIR = "plots"
KEPT_SAMPLES = 2
REJECTED_SAMPLES = 3
TOP_LANGUAGES = 20
MAX_DETAIL_ROWS = 40
MAX_PARAMETER_ROWS = 80
JSON_CHARS = 100
SHARDS_LISTED = 20
SHORT_LIST = 8


# ---------------------------------------------------------------------------------------------
# Markdown helpers
# ---------------------------------------------------------------------------------------------


def fmt(value: Any) -> str:
    """A number or value as the card prints it: thousands separators, 4 significant digits."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if isinstance(value, bool) else "—"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "—"


def code(value: Any) -> str:
    """An inline code span that survives backticks and table pipes."""
    text = str(value).replace("\n", " ")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(value: Any) -> str:
    """Text written by the project (descriptions) that may use `code`: only HTML, links and emphasis escaped."""
    return re.sub(r"([\\*\[\]<>#])", r"\\\1", str(value).replace("\n", " "))


def plain(value: Any) -> str:
    """Plain text safe inside Markdown (emphasis, links, HTML and table characters escaped)."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", str(value).replace("\n", " "))


def table(headers: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    """A GitHub-flavoured Markdown table; cells are given already formatted."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return lines + [""]


def fenced(text: str, language: str = "text") -> list[str]:
    fence = "`" * max(3, max((len(m) + 1 for m in re.findall(r"`{3,}", text)), default=3))
    return [f"{fence}{language}", text, fence, ""]


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested stats as (dotted key, printed value) rows; long lists are summarised by their length."""
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows += flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        if len(value) > SHORT_LIST or any(isinstance(v, (dict, list)) for v in value):
            return [(prefix, f"({len(value)} values)")]
        return [(prefix, ", ".join(fmt(v) for v in value))]
    return [(prefix, fmt(value))]


# ---------------------------------------------------------------------------------------------
# The card
# ---------------------------------------------------------------------------------------------


@dataclass
class CardContext:
    """The run plus what was computed for the card, shared by the section builders."""

    run: RunFiles
    spark: LazySpark
    plots_dir: Path
    composition: list[dict] = field(default_factory=list)
    lang_origin: str | None = None

    def plot(self, name: str) -> Path:
        return self.plots_dir / name

    def link(self, path: Path) -> str:
        return path.relative_to(self.run.run_dir).as_posix()


def build_card(
    run_dir: str | Path, spark: Any | Callable[[], Any], ingest_descriptions: dict[str, str] | None = None
) -> Path:
    """Write ``README.md`` and ``plots/*.png`` into ``run_dir`` from the run's files; return the card path.

    ``spark``: a SparkSession, or a zero-argument factory called only when an aggregation needs one.
    ``ingest_descriptions``: the meaning of each ingest/run setting, from the caller's config schema.
    """
    run = load_run(run_dir, ingest_descriptions)
    plots_dir = run.run_dir / PLOTS_DIR
    shutil.rmtree(plots_dir, ignore_errors=True)
    plots_dir.mkdir(parents=True)
    ctx = CardContext(run, LazySpark(spark), plots_dir)
    final = run.final
    if final is not None and final.data_dir is not None:
        ctx.composition, ctx.lang_origin = final_composition(ctx.spark(), final.data_dir)

    body: list[str] = []
    for section in (
        section_overview,
        section_sources,
        section_funnel,
        section_recipes,
        section_stages,
        section_languages,
        section_signals,
        section_dedup,
        section_releases,
        section_pii,
        section_mixture,
        section_tokenizer,
        section_loading,
        section_limitations,
        section_files,
    ):
        body += section(ctx)
    text = "---\n" + yaml.safe_dump(card_header(ctx), sort_keys=False, allow_unicode=True) + "---\n\n" + "\n".join(body)
    path = run.run_dir / CARD_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _card_settings(ctx: CardContext) -> dict:
    card = (ctx.run.config or {}).get("card")
    return card if isinstance(card, dict) else {}


def pretty_name(ctx: CardContext) -> str:
    return _card_settings(ctx).get("pretty_name") or f"corpus run {ctx.run.run_dir.resolve().name}"


def languages(ctx: CardContext) -> list[tuple[str, int, int]]:
    """(language, documents, characters) of the final documents, most documents first."""
    totals: dict[str, list[int]] = {}
    for row in ctx.composition:
        entry = totals.setdefault(row["lang"], [0, 0])
        entry[0] += row["documents"]
        entry[1] += row["chars"]
    return sorted(((lang, d, c) for lang, (d, c) in totals.items()), key=lambda t: (-t[1], t[0]))


def card_header(ctx: CardContext) -> dict:
    """The Hugging Face dataset-card metadata."""
    final = ctx.run.final
    documents = final.stats["rows_kept"] if final else 0
    license_id, _ = license_info(ctx.run.config)
    header: dict[str, Any] = {"pretty_name": pretty_name(ctx)}
    codes = [lang for lang, _, _ in languages(ctx) if lang != UNKNOWN]
    if codes:
        header["language"] = codes
    header["license"] = license_id
    header["size_categories"] = [size_category(documents)]
    header["task_categories"] = ["text-generation"]
    header["tags"] = ["pretraining", "corpus-pipeline"]
    return header


def section_overview(ctx: CardContext) -> list[str]:
    run, final = ctx.run, ctx.run.final
    lines = [f"# {plain(pretty_name(ctx))}", ""]
    ingest = run.stage("ingest")
    if final is None or ingest is None:
        return lines + ["This run has no finished stage yet: there is no corpus to describe.", ""]
    documents = final.stats["rows_kept"]
    chars = sum(r["chars"] for r in ctx.composition)
    known_langs = [lang for lang, _, _ in languages(ctx) if lang != UNKNOWN]
    sources = sorted({r["source"] for r in ctx.composition})
    removed = ingest.stats["rows_in"] - documents
    lines += [
        f"A pretraining text corpus of **{documents:,} documents** ({chars:,} characters) from "
        f"{len(sources)} sources"
        + (f" in {len(known_langs)} languages" if known_langs else "")
        + f", produced by the `corpus` pipeline. Of {ingest.stats['rows_in']:,} input records, {removed:,} "
        f"({pct(removed, ingest.stats['rows_in'])}) were quarantined or removed by "
        f"{plural(len(run.done()) - 1, 'processing stage')}; the last finished stage is `{final.name}`"
        f" ({final.stats.get('finished_at', 'time unknown')}).",
        "",
    ]
    if run.manifest:
        splits = run.manifest.get("splits") or {}
        tokens = {s: v.get("tokens", 0) for s, v in splits.items() if isinstance(v, dict)}
        lines += ["Token shards: " + ", ".join(f"{split} {n:,} tokens" for split, n in tokens.items()) + ".", ""]
    license_id, note = license_info(run.config)
    lines += [f"Licence: `{license_id}`" + (f" — {note}." if note else "."), ""]
    lines += [
        "Every number in this card is read from the run's own files (`stats.json` of each stage, "
        "the shard manifest, the tokenizer stats) or aggregated from its Parquet output; "
        "`corpus card RUN_DIR` rebuilds it.",
        "",
    ]
    return lines


def section_sources(ctx: CardContext) -> list[str]:
    lines = ["## Sources", ""]
    sources = (ctx.run.config or {}).get("sources") or []
    ingest = ctx.run.stage("ingest")
    read = (ingest.stats.get("extra") or {}).get("sources", {}) if ingest else {}
    final: dict[str, list[int]] = {}
    for row in ctx.composition:
        entry = final.setdefault(row["source"], [0, 0])
        entry[0] += row["documents"]
        entry[1] += row["chars"]
    quarantined = _quarantine_by_source(ctx)
    names = [s.get("name") for s in sources] or sorted(set(read) | set(final))
    by_name = {s.get("name"): s for s in sources}
    rows = []
    for name in names:
        source = by_name.get(name, {})
        got = read.get(name, {})
        kept = final.get(name, [0, 0])
        rows.append(
            [
                code(name),
                source.get("format", "—"),
                ", ".join(code(p) for p in source.get("paths", [])) or "—",
                plain(source.get("license") or "not given"),
                fmt(got.get("documents", 0)),
                fmt(got.get("chars", 0)),
                fmt(quarantined.get(name, 0)),
                fmt(kept[0]),
                fmt(kept[1]),
                pct(kept[0], got.get("documents", 0)),
            ]
        )
    lines += table(
        [
            "source",
            "format",
            "paths",
            "licence",
            "documents read",
            "characters read",
            "quarantined",
            "documents final",
            "characters final",
            "kept",
        ],
        rows,
    )
    lines += [
        "Read: `stages/00_ingest/stats.json` (`extra.sources`); quarantined: `quarantine/`; "
        "final: aggregated from the last stage's Parquet.",
        "",
    ]
    return lines


def _quarantine_by_source(ctx: CardContext) -> dict[str, int]:
    directory = ctx.run.run_dir / "quarantine"
    if not directory.is_dir() or "source" not in parquet_columns(directory):
        return {}
    import pyarrow.dataset as ds

    counts: dict[str, int] = {}
    for batch in ds.dataset(str(directory), format="parquet").to_batches(columns=["source"], use_threads=False):
        for entry in batch.column("source").value_counts().to_pylist():
            counts[entry["values"]] = counts.get(entry["values"], 0) + entry["counts"]
    return counts


def section_funnel(ctx: CardContext) -> list[str]:
    lines = ["## Processing funnel", ""]
    rows, names, kept, rejected = [], [], [], []
    for stage in ctx.run.stages:
        if stage.status != DONE:
            rows.append(
                [f"{stage.position:02d}", code(stage.name), f"**{stage.status}**", "—", "—", "—", "—", "—", stage.note]
            )
            continue
        s = stage.stats
        top = next(iter(collapse_reasons(s["reasons"]).items()), None)
        rows.append(
            [
                f"{stage.position:02d}",
                code(stage.name),
                DONE,
                fmt(s["rows_in"]),
                fmt(s["rows_kept"]),
                fmt(s["rows_rejected"]),
                pct(s["rows_rejected"], s["rows_in"]),
                f"{s['elapsed_s']:.1f}",
                f"{code(top[0])} ({top[1]:,})" if top else "",
            ]
        )
        names.append(stage.name)
        kept.append(s["rows_kept"])
        rejected.append(s["rows_rejected"])
    lines += table(["#", "stage", "status", "in", "kept", "rejected", "dropped", "seconds", "top reason / note"], rows)
    if names:
        plot = card_plots.plot_funnel(names, kept, rejected, ctx.plot("funnel.png"))
        lines += [f"![Documents kept and rejected by each stage]({ctx.link(plot)})", ""]
    lines += [
        "From each stage's `stats.json` (`rows_in`, `rows_kept`, `rows_rejected`, `reasons`, `elapsed_s`). "
        "Stages not run are listed with the reason.",
        "",
    ]
    lines += _per_source_funnel(ctx)
    return lines


def section_recipes(ctx: CardContext) -> list[str]:
    """How each source was processed (its recipe, what ingest did to it, each stage's settings for it) and
    how many documents each per-language model actually scored."""
    config = ctx.run.config or {}
    sources, recipes = config.get("sources") or [], config.get("recipes") or {}
    if not sources:
        return []
    ingest = ctx.run.stage("ingest")
    prepared = (((ingest.stats.get("extra") or {}).get("prepared") or {}).get("by_source") or {}) if ingest else {}
    rows = []
    for source in sources:
        name, recipe = source.get("name"), source.get("recipe", "web")
        done = prepared.get(name, {})
        rows.append(
            [
                code(name),
                code(recipe),
                prose((recipes.get(recipe) or {}).get("follows") or "—"),
                fmt(source.get("split_chars")) if source.get("split_chars") else "—",
                f"{fmt(done.get('split_documents', 0))} → {fmt(done.get('pieces', 0))}" if done.get("pieces") else "—",
                source.get("clean", "none"),
                fmt(done.get("decoded_with_fallback", 0)),
                fmt(done.get("ingest:replaced_bytes", 0)),
            ]
        )
    lines = ["## Per-source recipes", ""]
    lines += table(
        ["source", "recipe", "follows", "split_chars", "documents cut → pieces", "clean", "decoded with fallback",
         "replaced characters"],
        rows,
    )  # fmt: skip
    lines += _stage_settings_per_source(ctx) + _model_coverage(ctx)
    return lines


def _stage_settings_per_source(ctx: CardContext) -> list[str]:
    rows = []
    for stage in ctx.run.done()[1:]:
        for source, entry in ((stage.stats.get("extra") or {}).get("per_source") or {}).items():
            changes = entry.get("changes") or {}
            shown = (
                "off"
                if changes == {"enabled": False}
                else ", ".join(f"{code(k)}: {code(v)}" for k, v in changes.items())
            )
            rows.append([code(stage.name), code(source), shown or "the run's section", fmt(entry.get("kept", 0)),
                         fmt(entry.get("rejected", 0))])  # fmt: skip
    if not rows:
        return ["Every stage ran with the run's own section (`stages:`) for every source.", ""]
    return (
        ["### Stage settings per source", ""]
        + table(["stage", "source", "changes to the run's section", "kept", "rejected"], rows)
        + ["From `extra.per_source` of each stage's `stats.json` (recipe and `sources[].stages`).", ""]
    )


def _model_coverage(ctx: CardContext) -> list[str]:
    rows = []
    for stage in ctx.run.done()[1:]:
        for lang, counts in ((stage.stats.get("extra") or {}).get("model_coverage") or {}).items():
            scored, unscored = counts.get("scored", 0), counts.get("unscored", 0)
            rows.append([code(stage.name), code(lang), fmt(scored), fmt(unscored), pct(scored, scored + unscored)])
    if not rows:
        return []
    return (
        ["### Documents each model scored, per language", ""]
        + table(["stage", "language", "scored", "not scored (no model, or off for the source)", "scored share"], rows)
        + [
            "A document whose language has no model, or whose source's recipe turns the stage off, passes it "
            "unscored (`no_model: keep`): these counts say how much of the output each model actually judged.",
            "",
        ]
    )


def _per_source_funnel(ctx: CardContext) -> list[str]:
    ingest = ctx.run.stage("ingest")
    if ingest is None:
        return []
    remaining = {
        name: v.get("documents", 0) for name, v in ((ingest.stats.get("extra") or {}).get("sources") or {}).items()
    }
    if not remaining:
        return []
    columns, history = ["read"], {name: [n] for name, n in remaining.items()}
    stages = ctx.run.done()[1:]
    rejected = rejects_by_source(ctx.spark(), {s.name: s.rejects_dir for s in stages if s.rejects_dir is not None})
    for stage in stages:
        out = rejected.get(stage.name, {})
        for name in remaining:
            remaining[name] -= out.get(name, 0)
            history[name].append(remaining[name])
        columns.append(stage.name)
    rows = [[code(name)] + [fmt(n) for n in counts] for name, counts in sorted(history.items())]
    return (
        ["### Documents per source after each stage", ""]
        + table(["source"] + [code(c) for c in columns], rows)
        + [
            "Read from `extra.sources` of the ingest stats, minus each stage's rejects per source (`rejects/NN_<stage>/`).",
            "",
        ]
    )


def section_stages(ctx: CardContext) -> list[str]:
    lines = [
        "## Stages",
        "",
        "Every stage in run order, with its parameters (the `config` of its `stats.json`), "
        "what it removed and why, and a few documents it kept and rejected (scrubbed by the pii stage's engine "
        f"with this run's pii settings, truncated to {SAMPLE_CHARS} characters; none with "
        "`privacy.card_samples: none`).",
        "",
    ]
    for stage in ctx.run.stages:
        lines += [f"### {stage.position:02d} · {stage.name}", ""]
        if stage.summary:
            lines += [plain(stage.summary), ""]
        if stage.status != DONE:
            lines += [f"**{stage.status.capitalize()}**: {stage.note}.", ""]
            continue
        s = stage.stats
        lines += [
            f"{fmt(s['rows_in'])} in, {fmt(s['rows_kept'])} kept, {fmt(s['rows_rejected'])} rejected "
            f"({pct(s['rows_rejected'], s['rows_in'])}) in {s['elapsed_s']:.1f} s. "
            f"Stats: [`{ctx.link(stage.directory / 'stats.json')}`]({ctx.link(stage.directory / 'stats.json')}).",
            "",
        ]
        lines += _stage_parameters(ctx, stage)
        reasons = collapse_reasons(s["reasons"])
        if reasons:
            lines += ["**Removed, by reason**", ""]
            lines += table(
                ["reason", "documents", "share of stage input"],
                [[code(r), fmt(n), pct(n, s["rows_in"])] for r, n in reasons.items()],
            )
        extra = s.get("extra") or {}
        if stage.name == "ingest":  # its per-source counts are the Sources table
            extra = {k: v for k, v in extra.items() if k != "sources"}
        details = flatten(extra)
        if details:
            lines += ["**Stage statistics** (`extra`)", ""]
            lines += table(["statistic", "value"], [[code(k), plain(v)] for k, v in details[:MAX_DETAIL_ROWS]])
            if len(details) > MAX_DETAIL_ROWS:
                lines += [f"… and {len(details) - MAX_DETAIL_ROWS} more in `stats.json`.", ""]
        lines += _stage_samples(ctx, stage)
    return lines


def _stage_parameters(ctx: CardContext, stage: StageInfo) -> list[str]:
    descriptions = stage.field_descriptions
    if stage.name == "ingest":
        config = ctx.run.config or {}
        params = {
            **(config.get("ingest") or {}),
            "sources": len(config.get("sources") or []),
            "partitions": (config.get("run") or {}).get("partitions"),
        }
        descriptions = {**descriptions, "sources": "sources in the config (see Sources)"}
    else:
        params = stage.stats.get("config") or {}
    rows = []
    for key, value in params.items():  # nested sections one level deep, one row per field
        items = value.items() if isinstance(value, dict) and value else [(None, value)]
        for position, (sub, item) in enumerate(items):
            name = key if sub is None else f"{key}.{sub}"
            meaning = descriptions.get(name) or (descriptions.get(key, "") if position == 0 else "")
            rows.append([code(name), code(short_json(item)), prose(meaning)])
    if not rows:
        return []
    lines = ["**Parameters**", ""] + table(["parameter", "value", "meaning"], rows[:MAX_PARAMETER_ROWS])
    if len(rows) > MAX_PARAMETER_ROWS:
        lines += [f"… and {len(rows) - MAX_PARAMETER_ROWS} more in `stats.json`.", ""]
    return lines


def short_json(value: Any, limit: int = JSON_CHARS) -> str:
    """A parameter value as JSON, cut at ``limit`` characters (the full value is in stats.json)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + " …"


def _stage_samples(ctx: CardContext, stage: StageInfo) -> list[str]:
    if not samples_shown(ctx.run.config):
        return []
    if stage.name == "ingest":
        rows = read_samples(ctx.run.run_dir / "quarantine", REJECTED_SAMPLES, one_per_reason=True)
        if not rows:
            return []
        details = scrub_samples(ctx.run.config, [r.get("detail") for r in rows])
        return ["**Quarantined records** (examples)", ""] + table(
            ["source", "file", "line", "reason", "detail"],
            [
                [
                    code(r.get("source")),
                    code(r.get("file")),
                    fmt(r.get("line")),
                    code(r.get("reason")),
                    code(sample_text(detail, 120)),
                ]
                for r, detail in zip(rows, details, strict=True)
            ],
        )
    shown = [
        (title, row)
        for title, directory, count, distinct in (
            ("Kept", stage.data_dir, KEPT_SAMPLES, False),
            ("Rejected", stage.rejects_dir, REJECTED_SAMPLES, True),
        )
        for row in read_samples(directory, count, one_per_reason=distinct)
    ]
    texts = scrub_samples(ctx.run.config, [row.get("text") for _, row in shown], [row.get("lang") for _, row in shown])
    lines = []
    for (title, row), text in zip(shown, texts, strict=True):
        reason = f" · reason {code(reason_label(row['reason']))}" if row.get("reason") else ""
        lines += [f"*{title}* · {code(row.get('id'))} · source {code(row.get('source'))}{reason}", ""]
        lines += fenced(sample_text(text))
    return (["**Sample documents**", ""] + lines) if lines else []


def section_languages(ctx: CardContext) -> list[str]:
    lines = ["## Languages", ""]
    langs = languages(ctx)
    if not langs:
        return lines + ["No final documents to count.", ""]
    total_docs = sum(d for _, d, _ in langs)
    total_chars = sum(c for _, _, c in langs)
    shown = langs[:TOP_LANGUAGES]
    rows = [[code(lang), fmt(d), pct(d, total_docs), fmt(c), pct(c, total_chars)] for lang, d, c in shown]
    if len(langs) > TOP_LANGUAGES:
        rest = langs[TOP_LANGUAGES:]
        rest_d, rest_c = sum(d for _, d, _ in rest), sum(c for _, _, c in rest)
        rows.append(
            [f"{len(rest)} others", fmt(rest_d), pct(rest_d, total_docs), fmt(rest_c), pct(rest_c, total_chars)]
        )
    if ctx.lang_origin == "lang":
        origin = "the `lang` column written by language identification, counted over the final documents"
    elif ctx.lang_origin == "meta":
        origin = (
            "source metadata (`meta.lang`, primary subtag), counted over the final documents: no language "
            "identification ran, so documents whose source gives no language are `unknown`"
        )
    else:
        origin = "nothing: no language identification ran and the documents carry no language metadata"
    lines += [f"Language from {origin}.", ""]
    lines += table(["language", "documents", "share", "characters", "share of characters"], rows)
    plot = card_plots.plot_bars(
        [lang for lang, _, _ in shown],
        [d for _, d, _ in shown],
        "Documents per language",
        "documents",
        ctx.plot("languages.png"),
    )
    lines += [f"![Documents per language]({ctx.link(plot)})", ""]
    by_source = {}
    for row in ctx.composition:
        by_source.setdefault(row["source"], []).append(row)
    lines += ["Per source (documents):", ""]
    lines += table(
        ["source", "languages"],
        [
            [
                code(source),
                ", ".join(f"{r['lang']} {r['documents']:,}" for r in sorted(rows_, key=lambda r: -r["documents"])[:8]),
            ]
            for source, rows_ in sorted(by_source.items())
        ],
    )
    return lines


def section_signals(ctx: CardContext) -> list[str]:
    """One histogram section per score column a stage declares (``card.signals``), in stage order."""
    lines = []
    for stage in ctx.run.stages:
        for signal in stage.card.signals:
            lines += [f"## {signal.title}", ""] + _signal_histogram(ctx, stage, signal)
    return lines


def _signal_histogram(ctx: CardContext, stage: StageInfo, signal: Signal) -> list[str]:
    """The column binned over the stage's kept and rejected documents, with its declared cut-offs."""
    if stage.status != DONE:
        return [f"Stage `{stage.name}` {stage.status}: {stage.note}: no {signal.column} histogram.", ""]
    parts = {"kept": stage.data_dir, "rejected": stage.rejects_dir}
    histogram = spark_histogram(
        ctx.spark(), {k: v for k, v in parts.items() if v is not None}, signal.column, log_x=signal.log_x
    )
    if histogram is None:
        return [f"Stage `{stage.name}` wrote no `{signal.column}` values.", ""]
    config = stage.stats.get("config") or {}
    drawn, listed = cutoff_values(config, signal.cutoff_keys)
    rule_note = []
    if signal.cutoffs_apply_when is not None:
        key, value = signal.cutoffs_apply_when
        if config.get(key) != value:  # e.g. quality_classifier's threshold under keep_rule pareto
            drawn, listed = [], []
            rule_note = [
                f"No cut-off line: the stage keeps documents by `{key}` {code(config.get(key))}; "
                + ", ".join(f"`{k}`" for k in signal.cutoff_keys)
                + f" applies only with `{key}` `{value}`.",
                "",
            ]
    plot = card_plots.plot_histogram(
        histogram["edges"],
        histogram["counts"],
        drawn,
        f"{signal.title} ({stage.name})",
        signal.column,
        ctx.plot(f"{signal.column}.png"),
        log_x=signal.log_x,
    )
    total = sum(sum(c) for c in histogram["counts"].values())
    lines = [
        f"![{signal.title} histogram]({ctx.link(plot)})",
        "",
        f"{total:,} documents binned, from the `{signal.column}` column of the stage's kept "
        f"(`{ctx.link(stage.directory / 'data')}`) and rejected documents, binned with Spark."
        + (f" {histogram['missing']:,} without a value." if histogram.get("missing") else ""),
        "",
    ] + rule_note
    if drawn or listed:
        lines += table(
            ["cut-off", "value"],
            [[code(k), fmt(v)] for k, v in drawn]
            + [
                [code(k), ", ".join(f"{plain(name)}: {_cutoff_text(v)}" for name, v in values.items())]
                for k, values in listed
            ],
        )
    return lines


def _cutoff_text(value: Any) -> str:
    """A listed cut-off: a number, or several (perplexity's per-language [head_max, middle_max])."""
    return " / ".join(fmt(v) for v in value) if isinstance(value, list) else fmt(value)


def section_dedup(ctx: CardContext) -> list[str]:
    lines = ["## Deduplication and decontamination", ""]
    chosen = [s for s in ctx.run.stages if s.card.removes_duplicates]
    if not chosen:
        return lines + ["No deduplication stage is part of this pipeline.", ""]
    rows = []
    for stage in chosen:
        if stage.status != DONE:
            rows.append([code(stage.name), f"**{stage.status}**", "—", "—", "—", stage.note])
            continue
        s = stage.stats
        extra = "; ".join(f"{k} {v}" for k, v in flatten(s.get("extra") or {})[:SHORT_LIST])
        rows.append(
            [
                code(stage.name),
                DONE,
                fmt(s["rows_in"]),
                fmt(s["rows_rejected"]),
                pct(s["rows_rejected"], s["rows_in"]),
                plain(extra),
            ]
        )
    lines += table(["stage", "status", "documents in", "removed", "removed %", "statistics"], rows)
    lines += ["From each stage's `stats.json`; parameters and samples are under [Stages](#stages).", ""]
    return lines


def earlier_releases(ctx: CardContext) -> list[str]:
    """The release folders the run was deduplicated against (``releases.against``), in priority order."""
    section = (ctx.run.config or {}).get("releases")
    return list(section.get("against") or []) if isinstance(section, dict) else []


def section_releases(ctx: CardContext) -> list[str]:
    """What an incremental run removed as duplicates of each earlier release, per stage."""
    folders = earlier_releases(ctx)
    if not folders:
        return []
    lines = [
        "## Earlier releases",
        "",
        f"This run was deduplicated against {plural(len(folders), 'earlier release')} (`releases.against`, "
        "listed first wins): their documents count as already shipped, so a new document duplicating one of "
        "them was removed (reason `dedup:minhash:release:<name>`; `dedup_sentence:release:<name>` when the "
        "spans it shares with a release left it too short). Their text was not read again: only their "
        "indexes (band keys, shingle sets, span hashes, evaluation n-grams).",
        "",
    ]
    done = {s.name: (s.stats.get("extra") or {}) for s in ctx.run.stages if s.status == DONE}
    minhash, sentence = done.get("dedup_minhash", {}), done.get("dedup_sentence", {})
    rows = []
    for rank, folder in enumerate(folders):
        try:
            manifest = read_manifest(folder, f"releases.against[{rank}]")
        except ReleaseError as err:
            rows.append([str(rank + 1), "—", code(folder), f"unreadable now: {plain(err)}", "—", "—", "—"])
            continue
        name = manifest["name"]
        rows.append(
            [
                str(rank + 1),
                code(name),
                code(folder),
                fmt((manifest.get("tables") or {}).get("documents")),
                fmt((minhash.get("removed_against_releases") or {}).get(name, 0)),
                fmt((sentence.get("removed_against_releases") or {}).get(name, 0)),
                fmt((sentence.get("docs_changed_against_releases") or {}).get(name, 0)),
            ]
        )
    lines += table(
        [
            "priority",
            "release",
            "folder",
            "documents shipped",
            "near-duplicates removed (dedup_minhash)",
            "left too short (dedup_sentence)",
            "trimmed (dedup_sentence)",
        ],
        rows,
    )
    return lines + ["From each release's `manifest.json` and this run's stage `stats.json`.", ""]


def ner_status(extra: dict) -> str:
    """Whether person and place names were looked for, from the pii stage's stats."""
    english = (
        f"on (spaCy `{extra.get('ner_model')}`)"
        if extra.get("ner") == "on"
        else "**off** (model not installed or `ner: false`): English person and place names were not scrubbed"
    )
    chinese = (
        "on (jieba)" if extra.get("zh_ner") == "jieba" else "**off**: Chinese person and place names were not scrubbed"
    )
    return f"Name recognition (PERSON, LOCATION): English {english}; Chinese {chinese}. Pattern entities are found either way."


def section_pii(ctx: CardContext) -> list[str]:
    """Findings by type from the stage that declares a PII-count column (its ``summarize`` totals it)."""
    lines = ["## Personal data (PII)", ""]
    stage = next((s for s in ctx.run.stages if s.card.pii_counts_column), None)
    if stage is None:
        return lines + [
            "No PII stage is part of this pipeline. The documents were **not** scrubbed of personal data.",
            "",
        ]
    if stage.status != DONE:
        return lines + [
            f"Stage `{stage.name}` {stage.status}: {stage.note}. The documents were **not** scrubbed of personal data.",
            "",
        ]
    extra = stage.stats.get("extra") or {}
    if "ner" in extra:
        lines += [ner_status(extra), ""]
    column = stage.card.pii_counts_column
    origin = f"`extra` of `{ctx.link(stage.directory / 'stats.json')}`"
    counts = extra.get(column)
    if not isinstance(counts, dict):
        return lines + [f"The stage's stats hold no `{column}` totals ({origin}).", ""]
    if not counts:
        return lines + [f"No PII found (from {origin}).", ""]
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    lines += [
        f"Findings by type, from {origin}. What was done with each type is in the stage's parameters "
        "under [Stages](#stages).",
        "",
    ]
    lines += table(["type", "findings"], [[code(k), fmt(v)] for k, v in ordered])
    plot = card_plots.plot_bars(
        [k for k, _ in ordered], [v for _, v in ordered], "PII findings by type", "findings", ctx.plot("pii.png")
    )
    return lines + [f"![PII findings by type]({ctx.link(plot)})", ""]


_MIXTURE_COLUMNS = (
    ("source", "source"),
    ("documents", "documents"),
    ("tokens_available", "tokens available"),
    ("target", "target"),
    ("epochs", "epochs"),
    ("rehydration", "rehydration"),
    ("capped", "capped"),
    ("tokens_planned", "tokens planned"),
    ("documents_used", "documents used"),
    ("tokens_used", "tokens used"),
    ("effective_epochs", "effective epochs"),
    ("share_planned", "share planned"),
    ("share", "share"),
)


def section_mixture(ctx: CardContext) -> list[str]:
    lines = ["## Mixture", ""]
    mixture = (ctx.run.manifest or {}).get("mixture")
    if not isinstance(mixture, list) or not mixture:
        return lines + ["Not run: no shard manifest with a `mixture` table (`shards/manifest.json`).", ""]
    present = [(key, title) for key, title in _MIXTURE_COLUMNS if any(key in row for row in mixture)]
    rows = []
    for row in mixture:
        cells = []
        for key, _ in present:
            value = row.get(key)
            if key.startswith("share") and isinstance(value, (int, float)):
                cells.append(f"{100 * value:.2f}%")
            elif key in ("effective_epochs", "rehydration") and isinstance(value, (int, float)):
                cells.append(f"{value:.2f}x")
            elif key == "source":
                cells.append(code(value))
            else:
                cells.append(plain(fmt(value)))
        rows.append(cells)
    lines += [
        "How many tokens of each source went into the shards (epochs above 1 repeat documents), from the "
        f"`mixture` table of `{ctx.link(ctx.run.manifest_dir / 'manifest.json')}`. Effective epochs are the "
        "repetition each source really got (tokens used / tokens available, validation documents never "
        "repeated); rehydration is the factor by which `mixture.cluster_size_weights` weighs a source's "
        "documents by their near-duplicate cluster size (1.00x: off or no duplicates).",
        "",
    ]
    lines += table([title for _, title in present], rows)
    shares = [(str(r.get("source")), r.get("share")) for r in mixture if isinstance(r.get("share"), (int, float))]
    if shares:
        plot = card_plots.plot_bars(
            [s for s, _ in shares],
            [100 * v for _, v in shares],
            "Share of tokens by source",
            "% of tokens",
            ctx.plot("mixture.png"),
            value_format="{:.1f}%",
        )
        lines += [f"![Share of tokens by source]({ctx.link(plot)})", ""]
    return lines


def section_tokenizer(ctx: CardContext) -> list[str]:
    lines = ["## Tokenizer", ""]
    stats = ctx.run.tokenizer
    manifest_tok = (
        (ctx.run.manifest or {}).get("tokenizer") if isinstance((ctx.run.manifest or {}).get("tokenizer"), dict) else {}
    )
    if not stats and not manifest_tok:
        return lines + ["Not run: no `tokenizer/stats.json`.", ""]
    stats = stats or {}
    facts = [
        ("vocabulary size", stats.get("vocab_size", manifest_tok.get("vocab_size"))),
        ("learned (merges + bytes + specials)", stats.get("learned_vocab_size")),
        ("padding tokens added", stats.get("padding_tokens_added")),
        ("end-of-document token", manifest_tok.get("eos_token")),
        ("end-of-document id", manifest_tok.get("eos_id")),
        ("sha256 of tokenizer.json", stats.get("sha256", manifest_tok.get("sha256"))),
    ]
    sample = stats.get("sample") if isinstance(stats.get("sample"), dict) else {}
    facts += [(f"training sample {k}", v) for k, v in sample.items()]
    config = (ctx.run.config or {}).get("tokenizer")
    lines += [
        "Byte-level BPE, from `tokenizer/stats.json`" + (" and the shard manifest" if manifest_tok else "") + ".",
        "",
    ]
    lines += table(
        ["", "value"], [[plain(k), code(v) if isinstance(v, str) else fmt(v)] for k, v in facts if v is not None]
    )
    if isinstance(config, dict):
        lines += ["**Parameters** (`tokenizer` in the config)", ""]
        lines += table(
            ["parameter", "value"], [[code(k), code(json.dumps(v, ensure_ascii=False))] for k, v in config.items()]
        )
    return lines + _tokenizer_evaluation(ctx, stats, config if isinstance(config, dict) else {})


def _tokenizer_evaluation(ctx: CardContext, stats: dict, config: dict) -> list[str]:
    """Bytes per token and tokens per word per language on the held-out documents, and the languages
    of the corpus that have no figure."""
    evaluation = stats.get("evaluation") if isinstance(stats.get("evaluation"), dict) else {}
    rows = [(lang, v) for lang, v in evaluation.items() if isinstance(v, dict)]
    if not rows:
        return []
    rule = (
        f" (`heldout_fraction` {fmt(config['heldout_fraction'])} of the documents and at least "
        f"`heldout_min_documents` {fmt(config['heldout_min_documents'])} of every language, at most half of it)"
        if {"heldout_fraction", "heldout_min_documents"} <= set(config)
        else ""
    )
    lines = [
        f"**Held-out evaluation**: bytes per token per language on documents kept out of the training sample{rule}.",
        "",
    ]
    lines += table(
        ["language", "documents", "bytes", "tokens", "words", "bytes per token", "tokens per word"],
        [
            [
                code(lang),
                fmt(v.get("documents")),
                fmt(v.get("bytes")),
                fmt(v.get("tokens")),
                fmt(v.get("words")),
                _ratio(v.get("bytes_per_token")),
                _ratio(v.get("tokens_per_word")),
            ]
            for lang, v in rows
        ],
    )
    missing = [(lang, d) for lang, d, _ in languages(ctx) if ctx.lang_origin == "lang" and lang not in evaluation]
    if missing:
        lines += [
            "No figure for "
            + ", ".join(f"`{lang}` ({plural(d, 'document')})" for lang, d in missing)
            + ": none of its documents was held out.",
            "",
        ]
    drawn = [(lang, v["bytes_per_token"]) for lang, v in rows if isinstance(v.get("bytes_per_token"), (int, float))]
    if drawn:
        plot = card_plots.plot_bars(
            [lang for lang, _ in drawn],
            [b for _, b in drawn],
            "Bytes per token (held out)",
            "UTF-8 bytes per token (higher = better compression)",
            ctx.plot("tokenizer.png"),
            value_format="{:.2f}",
        )
        lines += [f"![Bytes per token by language]({ctx.link(plot)})", ""]
    return lines


def _ratio(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "—"


def _shard_prefixes(ctx: CardContext, split: str) -> list[tuple[int, str]]:
    """(tokens, prefix relative to the run directory, as the manifest gives it) of each shard of ``split``."""
    return [
        (int(shard.get("tokens") or 0), str(shard["path"]))
        for shard in (ctx.run.manifest or {}).get("shards") or []
        if isinstance(shard, dict) and shard.get("split") == split and shard.get("path")
    ]


def section_loading(ctx: CardContext) -> list[str]:
    lines = ["## Loading the data", ""]
    manifest = ctx.run.manifest
    if not manifest or not manifest.get("shards"):
        return lines + _loading_parquet(ctx)
    lines += _shards_tables(ctx, manifest)
    train, valid = _shard_prefixes(ctx, "train"), _shard_prefixes(ctx, "valid")
    lines += _loading_megatron(ctx, train, valid)
    lines += _loading_numpy(ctx, (train or valid)[0][1]) + _loading_transformers(ctx)
    return lines + _loading_provenance(manifest, (train or valid)[0][1])


def _loading_parquet(ctx: CardContext) -> list[str]:
    """No shards: how to read the final documents."""
    final = ctx.run.final
    if final is None or final.data_dir is None:
        return ["Nothing to load yet.", ""]
    data = ctx.link(final.data_dir)
    return [
        f"No token shards were written (no `shards/manifest.json`). The final documents are Parquet in "
        f"`{data}` (columns `id`, `source`, `text`, ... ):",
        "",
    ] + fenced(
        "import pyarrow.dataset as ds\n\n"
        f'documents = ds.dataset("{data}", format="parquet")\n'
        'for batch in documents.to_batches(columns=["id", "source", "text"]):\n'
        "    ...",
        "python",
    )


def _shards_tables(ctx: CardContext, manifest: dict) -> list[str]:
    """The splits and the first shards of the manifest, with their sha256."""
    splits = manifest.get("splits") or {}
    lines = [
        f"Megatron-LM indexed datasets (`.bin` tokens + `.idx` index, {plain(manifest.get('format', ''))}), "
        f"token dtype `{manifest.get('dtype', '?')}`, listed with their sha256 in "
        f"`{ctx.link(ctx.run.manifest_dir / 'manifest.json')}`.",
        "",
    ]
    if splits:
        lines += table(
            ["split", "shards", "documents", "tokens"],
            [
                [code(k), fmt(v.get("shards")), fmt(v.get("documents")), fmt(v.get("tokens"))]
                for k, v in splits.items()
                if isinstance(v, dict)
            ],
        )
    shards = [s for s in manifest["shards"] if isinstance(s, dict)]
    rows = []
    for shard in shards[:SHARDS_LISTED]:
        digest = shard.get("sha256")
        digest = digest.get("bin") if isinstance(digest, dict) else digest
        rows.append(
            [
                code(shard.get("split")),
                code(shard.get("path")),
                fmt(shard.get("documents")),
                fmt(shard.get("tokens")),
                code(str(digest)[:16]) if digest else "—",
            ]
        )
    lines += table(["split", "prefix", "documents", "tokens", "sha256 (.bin, first 16)"], rows)
    if len(shards) > SHARDS_LISTED:
        lines += [f"… and {len(shards) - SHARDS_LISTED} more shards in the manifest.", ""]
    return lines


def _loading_megatron(ctx: CardContext, train: list, valid: list) -> list[str]:
    """The pretrain_gpt.py arguments: every shard prefix weighted by its tokens (read from the manifest when long)."""
    tokenizer_dir = ctx.link(ctx.run.run_dir / "tokenizer")
    args = ['cd "$RUN_DIR"   # the folder holding this card', "python pretrain_gpt.py \\", "    ... \\"]
    if len(train) + len(valid) <= SHARDS_LISTED:
        if train:
            args.append("    --train-data-path " + " ".join(f"{t} {p}" for t, p in train) + " \\")
        if valid:
            args.append("    --valid-data-path " + " ".join(f"{t} {p}" for t, p in valid) + " \\")
    else:
        manifest_path = ctx.link(ctx.run.manifest_dir / "manifest.json")
        for split, flag in (("train", "--train-data-path"), ("valid", "--valid-data-path")):
            args.append(
                f'    {flag} $(python -c \'import json; m = json.load(open("{manifest_path}")); '
                f'print(" ".join("%d %s" % (s["tokens"], s["path"]) for s in m["shards"] '
                f'if s["split"] == "{split}"))\') \\'
            )
    args.append(f"    --tokenizer-type HuggingFaceTokenizer --tokenizer-model {tokenizer_dir}")
    lines = [
        "**Megatron-LM**: each shard prefix with its token count as weight (Megatron normalises the weights, "
        "so shards are read in proportion to their size; the mixture is already applied):",
        "",
    ]
    return lines + fenced("\n".join(args), "bash")


def _loading_numpy(ctx: CardContext, example: str) -> list[str]:
    """Reading one document of a shard with NumPy and the run's tokenizer, no Megatron needed."""
    tokenizer_dir = ctx.link(ctx.run.run_dir / "tokenizer")
    lines = ["**Plain NumPy** (the index layout is documented in `trainer_output/indexed_dataset.py`):", ""]
    lines += fenced(
        "import numpy as np\n"
        "from tokenizers import Tokenizer\n\n"
        f'prefix = "{example}"\n'
        'index = open(prefix + ".idx", "rb").read()\n'
        'assert index[:9] == b"MMIDIDX\\x00\\x00"\n'
        'dtype = {1: "<u1", 2: "<i1", 3: "<i2", 4: "<i4", 5: "<i8", 6: "<f8", 7: "<f4", 8: "<u2"}[index[17]]\n'
        'count = int(np.frombuffer(index, "<u8", 1, 18)[0])\n'
        'lengths = np.frombuffer(index, "<i4", count, 34)\n'
        'pointers = np.frombuffer(index, "<i8", count, 34 + 4 * count)  # byte offsets into .bin\n'
        'tokens = np.memmap(prefix + ".bin", dtype=dtype, mode="r")\n'
        "first = tokens[pointers[0] // tokens.itemsize:][:lengths[0]]\n"
        f'print(Tokenizer.from_file("{tokenizer_dir}/tokenizer.json").decode(first.tolist())[:200])',
        "python",
    )
    return lines


def _loading_transformers(ctx: CardContext) -> list[str]:
    """The tokenizer in Hugging Face ``transformers`` (``tokenizer.json`` + ``tokenizer_config.json``)."""
    tokenizer_dir = ctx.link(ctx.run.run_dir / "tokenizer")
    lines = ["**transformers** (the tokenizer, with its end-of-document and padding tokens):", ""]
    return lines + fenced(
        "from transformers import AutoTokenizer\n\n"
        f'tokenizer = AutoTokenizer.from_pretrained("{tokenizer_dir}")\n'
        "print(tokenizer.eos_token, tokenizer.eos_token_id, tokenizer.pad_token, len(tokenizer))\n"
        'print(tokenizer.decode(tokenizer("Hello, world")["input_ids"]))',
        "python",
    )


def _loading_provenance(manifest: dict, prefix: str) -> list[str]:
    """Where a training sequence came from: the shards' provenance sidecars, when this run wrote them."""
    if not all(isinstance(shard, dict) and shard.get("provenance") for shard in manifest["shards"]):
        return []
    return [
        "**Provenance**: beside each shard, `<prefix>.prov.parquet` maps every sequence to its document id, source, "
        "input file and line, and release; from the run directory, `corpus trace <prefix> <index>` prints them "
        "with the final text:",
        "",
        *fenced(f"corpus trace {prefix} 0", "bash"),
    ]


def section_limitations(ctx: CardContext) -> list[str]:
    run = ctx.run
    items = []
    for stage in run.stages:
        if stage.status != DONE:
            what = f" ({plain(stage.summary)})" if stage.summary else ""
            items.append(
                f"Stage `{stage.name}`{what} is {stage.status}: {stage.note}; its filtering is "
                "not applied to this corpus."
            )
    ingest = run.stage("ingest")
    if ingest and ingest.stats["rows_rejected"]:
        items.append(
            f"{plural(ingest.stats['rows_rejected'], 'malformed input record')} quarantined "
            "(`quarantine/`), not repaired."
        )
    read = ((ingest.stats.get("extra") or {}).get("sources") or {}) if ingest else {}
    final_docs: dict[str, int] = {}
    for row in ctx.composition:
        final_docs[row["source"]] = final_docs.get(row["source"], 0) + row["documents"]
    for name, got in sorted(read.items()):
        kept = final_docs.get(name, 0)
        if got.get("documents") and kept < 0.1 * got["documents"]:
            items.append(
                f"Source `{name}` keeps {kept:,} of {got['documents']:,} documents read "
                f"({pct(kept, got['documents'])}): it is nearly absent from the corpus."
            )
    if ctx.lang_origin != "lang":
        items.append(
            "Languages are not identified from the text: the language figures come from source metadata "
            "where there is any."
        )
    few = [lang for lang, d, _ in languages(ctx) if lang != UNKNOWN and d < 10]
    if few:
        items.append(
            f"{len(few)} languages have fewer than 10 documents ({', '.join(few[:10])}); their statistics say little."
        )
    if any(s.status == DONE and s.card.pii_counts_column for s in run.stages):
        items.append("PII scrubbing is automatic detection: its recall is below 100%, so some personal data remains.")
    if any(s.status == DONE and s.card.removes_duplicates for s in run.stages):
        items.append(
            "Deduplication covers the documents of this run and of the earlier releases listed above, not data "
            "seen elsewhere."
            if earlier_releases(ctx)
            else "Deduplication covers the documents of this run only, not data seen elsewhere."
        )
    splits = (run.manifest or {}).get("splits") or {}
    if splits and not (splits.get("valid") or {}).get("documents"):
        items.append(
            "The validation split is empty (`shards.valid_fraction` is 0 or chose no document): train without "
            "a `--valid-data-path`, or raise the fraction and rerun (finished stages are skipped)."
        )
    for row in (run.manifest or {}).get("mixture") or []:
        if isinstance(row, dict) and row.get("capped"):
            items.append(
                f"Source `{row.get('source')}` is capped at the configured maximum epochs, so its share is "
                "below its target."
            )
    _, note = license_info(run.config)
    if note:
        items.append(f"Licence: {note}.")
    items.append(
        f"Sample documents in this card are scrubbed by the pii stage's engine and cut to {SAMPLE_CHARS} "
        "characters; they illustrate the stages and are not a random sample."
    )
    return ["## Known limitations", ""] + [f"- {item}" for item in items] + [""]


def section_files(ctx: CardContext) -> list[str]:
    run_dir = ctx.run.run_dir
    entries = [
        ("config.resolved.yaml", "the exact config with every default"),
        ("summary.json", "the funnel: rows in, kept and rejected per stage"),
        ("stages", "per stage: `data/` (kept documents, Parquet), `stats.json`, `_SUCCESS`"),
        ("rejects", "per stage: rejected documents with `reason` (text truncated)"),
        ("quarantine", "malformed input records with file, line and reason"),
        ("tokenizer", "`tokenizer.json` and its stats"),
        ("shards", "Megatron `.bin`/`.idx` shards and `manifest.json`"),
        (PLOTS_DIR, "the figures of this card"),
    ]
    rows = [[f"[`{name}`]({name})", what] for name, what in entries if (run_dir / name).exists()]
    config_hash = (run_dir / "config.hash").read_text().strip() if (run_dir / "config.hash").is_file() else None
    lines = ["## Files of this run", ""] + table(["path", "content"], rows)
    if config_hash:
        lines += [
            f"Config hash `{config_hash}`. Rerun with `corpus run --config config.resolved.yaml`; "
            "finished stages with the same config are skipped.",
            "",
        ]
    return lines
