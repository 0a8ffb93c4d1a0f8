"""What the dataset card reads from a run directory, and what it aggregates from the run's Parquet.

Read: ``config.resolved.yaml``, ``stages/NN_<name>/stats.json`` (+ ``_SUCCESS``), ``quarantine/``,
``rejects/NN_<name>/``, and when present ``tokenizer/stats.json`` and ``shards/manifest.json``
(or ``manifest.json``). A stage is ``done`` only when its ``_SUCCESS`` marker exists, its stats'
config equals the run's resolved config section and its input equals the previous done stage's
output; otherwise it is ``incomplete``, ``stale`` (left from an earlier run) or ``not run``.

Each stage's ``card`` declaration (``stages.base.CardSpec``, read through the stage registry) says
which of its columns are histogrammed, which config keys are cut-offs, whether it removes duplicates
and where its PII counts are. What the stats do not hold is aggregated with Spark, never collected:
the source and language make-up of the final documents, rejects per source and the histograms of
the declared score columns. Sample documents are read with pyarrow (a few rows: kept ones of a stage before
``pii`` from the raw work area when it is still there), scrubbed by the ``pii`` stage's engine with the run's
pii settings (``stages.pii.scrub_rows``), then truncated; ``privacy.card_samples: none`` leaves them out.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from core.errors import InputError
from core.run_layout import work_dir_of_run
from stages.base import CardSpec

SAMPLE_CHARS = 300
SAMPLE_SCAN_ROWS = 20_000
HISTOGRAM_BINS = 30
UNKNOWN = "unknown"

DONE, INCOMPLETE, STALE, NOT_RUN = "done", "incomplete", "stale", "not run"
INGEST_SUMMARY = "Read every source into documents; malformed records go to quarantine/."

_STAGE_DIR = re.compile(r"^(\d{2})_(\w+)$")
_ID_PART = re.compile(r"^[0-9a-f]{12,}(#r\d+)?$")

SIZE_CATEGORIES = [
    (10**3, "n<1K"),
    (10**4, "1K<n<10K"),
    (10**5, "10K<n<100K"),
    (10**6, "100K<n<1M"),
    (10**7, "1M<n<10M"),
    (10**8, "10M<n<100M"),
    (10**9, "100M<n<1B"),
    (10**10, "1B<n<10B"),
    (10**11, "10B<n<100B"),
    (10**12, "100B<n<1T"),
]

# ---------------------------------------------------------------------------------------------
# The run's files
# ---------------------------------------------------------------------------------------------


@dataclass
class StageInfo:
    """One stage of the canonical order, with what the run directory says about it."""

    position: int
    name: str
    summary: str
    status: str
    note: str = ""
    stats: dict | None = None
    directory: Path | None = None
    rejects_dir: Path | None = None
    field_descriptions: dict[str, str] = field(default_factory=dict)
    card: CardSpec = CardSpec()  # what the stage declares for the card; ingest and unknown stages declare nothing
    work_directory: Path | None = None  # the stage's folder in the raw work area (data of a stage before pii)

    @property
    def data_dir(self) -> Path | None:
        """The stage's kept rows: published (from pii on) or in the work area, while it is there."""
        for home in (self.directory, self.work_directory):
            if home is not None and (home / "data").is_dir():
                return home / "data"
        return None


@dataclass
class RunFiles:
    """Everything the card reads from a run directory."""

    run_dir: Path
    config: dict | None
    summary: dict | None
    stages: list[StageInfo]
    tokenizer: dict | None
    manifest: dict | None
    manifest_dir: Path | None

    def done(self) -> list[StageInfo]:
        return [s for s in self.stages if s.status == DONE]

    def stage(self, name: str) -> StageInfo | None:
        """The stage named ``name`` if it is done in this run."""
        return next((s for s in self.done() if s.name == name), None)

    @property
    def final(self) -> StageInfo | None:
        """The last done stage: its kept rows are the corpus."""
        done = self.done()
        return done[-1] if done else None


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


def load_run(run_dir: str | Path, ingest_descriptions: dict[str, str] | None = None) -> RunFiles:
    """Read the run directory's config, stats, tokenizer stats and shard manifest.

    ``ingest_descriptions`` (parameter -> meaning) come from the caller: ingest's settings live in the
    pipeline's config schema, which the card may not import.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "stages").is_dir():
        raise InputError(f"{run_dir} is not a run directory (no stages/ folder)")
    config_path = run_dir / "config.resolved.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.is_file() else None
    work = work_dir_of_run(run_dir, config) / "stages"

    found: dict[str, tuple[int, Path]] = {}
    for directory in sorted((run_dir / "stages").iterdir()):
        match = _STAGE_DIR.match(directory.name)
        if directory.is_dir() and match:
            found[match.group(2)] = (int(match.group(1)), directory)

    from stages.registry import STAGES

    known: list[tuple[int, str, str, dict, CardSpec]] = [
        (0, "ingest", INGEST_SUMMARY, ingest_descriptions or {}, CardSpec())
    ]
    for position, stage in enumerate(STAGES, start=1):
        known.append(
            (
                position,
                stage.name,
                stage.summary,
                {"enabled": "run this stage", **field_descriptions(stage.Config)},
                stage.card,
            )
        )
    names = {k[1] for k in known}
    known += [(position, name, "", {}, CardSpec()) for name, (position, _) in found.items() if name not in names]

    stages, previous_kept = [], None
    for position, name, summary, descriptions, card in sorted(known, key=lambda k: (k[0], k[1])):
        directory = found[name][1] if name in found else None
        stats = _read_json(directory / "stats.json") if directory else None
        status, note = _stage_status(name, directory, stats, config, previous_kept)
        if status == DONE:
            previous_kept = stats["rows_kept"]
        rejects = run_dir / "rejects" / directory.name if directory else None
        stages.append(
            StageInfo(
                position,
                name,
                summary,
                status,
                note,
                stats if status == DONE else None,
                directory,
                rejects if rejects is not None and rejects.is_dir() else None,
                descriptions,
                card,
                work / directory.name if directory else None,
            )
        )

    tokenizer = _read_json(run_dir / "tokenizer" / "stats.json")
    if isinstance(tokenizer, dict) and "vocab_size" not in tokenizer and isinstance(tokenizer.get("extra"), dict):
        tokenizer = tokenizer["extra"]  # runner-style stats wrapping the tokenizer's numbers
    manifest, manifest_dir = None, None
    for path in (run_dir / "shards" / "manifest.json", run_dir / "manifest.json"):
        if path.is_file():
            manifest, manifest_dir = _read_json(path), path.parent
            break
    return RunFiles(
        run_dir,
        config,
        _read_json(run_dir / "summary.json"),
        stages,
        tokenizer if isinstance(tokenizer, dict) else None,
        manifest if isinstance(manifest, dict) else None,
        manifest_dir,
    )


def field_descriptions(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Dotted field name -> description of a pydantic config model, nested models included."""
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        if info.description:
            out[prefix + name] = info.description
        for candidate in (info.annotation, *typing.get_args(info.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                out.update(field_descriptions(candidate, f"{prefix}{name}."))
    return out


def _run_section(stats: dict) -> dict | None:
    """The run's section a stage ran with, without what each source changed in it (``per_source``:
    stages/per_source.py), which config.resolved.yaml keeps under ``recipes`` and ``sources``."""
    config = stats.get("config")
    return {k: v for k, v in config.items() if k != "per_source"} if isinstance(config, dict) else config


def _stage_status(
    name: str, directory: Path | None, stats: dict | None, config: dict | None, previous_kept: int | None
) -> tuple[str, str]:
    section = ((config or {}).get("stages") or {}).get(name)
    if directory is None:
        if name == "ingest":
            return NOT_RUN, "the sources were not read"
        if config is not None and section is None:
            return NOT_RUN, f"not configured (no `stages.{name}` section)"
        if section is not None and not section.get("enabled", True):
            return NOT_RUN, "disabled in the config"
        return NOT_RUN, "configured but not reached (the run stopped earlier)"
    if stats is None or not (directory / "_SUCCESS").exists():
        return INCOMPLETE, "started but not finished (no _SUCCESS marker)"
    if (
        name != "ingest"
        and config is not None
        and (section is None or not section.get("enabled", True) or _run_section(stats) != section)
    ):
        return STALE, "left from an earlier run with another config"
    if name != "ingest" and previous_kept is not None and stats["rows_in"] != previous_kept:
        return STALE, (
            f"its input ({stats['rows_in']:,} rows) is not the previous stage's output "
            f"({previous_kept:,} rows): left from an earlier run"
        )
    return DONE, ""


# ---------------------------------------------------------------------------------------------
# Aggregations (Spark)
# ---------------------------------------------------------------------------------------------


class LazySpark:
    """The caller's SparkSession, or one made by the caller's zero-argument factory on first use, so a card
    that needs no aggregation starts no Spark (and the card never imports the pipeline's session code)."""

    def __init__(self, spark):
        self._spark, self._factory = (None, spark) if callable(spark) else (spark, None)

    def __call__(self):
        if self._spark is None:
            self._spark = self._factory()
        return self._spark


def parquet_columns(directory: Path | None) -> list[str]:
    """Column names of a Parquet folder (from its footer), [] when absent."""
    if directory is None or not directory.is_dir():
        return []
    import pyarrow.dataset as ds

    return list(ds.dataset(str(directory), format="parquet").schema.names)


def final_composition(spark, data_dir: Path) -> tuple[list[dict], str | None]:
    """Documents and characters per (source, language) of the final documents, and where ``lang`` came from.

    Language: the ``lang`` column (language identification) when present, else ``meta.lang`` (source
    metadata, primary subtag: ``en-US`` -> ``en``), else none.
    """
    from pyspark.sql import functions as F

    columns = parquet_columns(data_dir)
    df = spark.read.parquet(str(data_dir))
    if "lang" in columns:
        lang, origin = F.col("lang"), "lang"
    elif "meta" in columns:
        lang = F.lower(F.split(F.get_json_object("meta", "$.lang"), "[-_]").getItem(0))
        origin = "meta"
    else:
        lang, origin = F.lit(None).cast("string"), None
    rows = (
        df.groupBy("source", lang.alias("lang"))
        .agg(F.count(F.lit(1)).alias("documents"), F.sum(F.length("text")).alias("chars"))
        .collect()
    )
    table = [
        {
            "source": r["source"],
            "lang": r["lang"] or UNKNOWN,
            "documents": int(r["documents"]),
            "chars": int(r["chars"] or 0),
        }
        for r in rows
    ]
    return sorted(table, key=lambda r: (r["source"], r["lang"])), origin


def rejects_by_source(spark, rejects: dict[str, Path]) -> dict[str, dict[str, int]]:
    """Rejected rows per stage and source, from the stages' reject folders (``stage -> folder``), in one job."""
    from functools import reduce

    from pyspark.sql import functions as F

    if not rejects:
        return {}
    frames = [
        spark.read.parquet(str(path)).select(F.lit(stage).alias("stage"), "source") for stage, path in rejects.items()
    ]
    rows = reduce(lambda a, b: a.unionByName(b), frames).groupBy("stage", "source").count().collect()
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["stage"], {})[r["source"]] = int(r["count"])
    return out


def spark_histogram(
    spark, parts: dict[str, Path], column: str, bins: int = HISTOGRAM_BINS, log_x: bool = False
) -> dict | None:
    """Equal-width histogram (of log10 values when ``log_x``) of ``column`` over the Parquet folders in ``parts``.

    Returns ``{"edges": [...], "counts": {part: [...]}, "missing": n}``; ``missing`` counts null (and,
    with ``log_x``, non-positive) values. Two Spark jobs: min/max, then a group-by on the bucket.
    """
    from functools import reduce

    from pyspark.sql import functions as F

    frames = [
        spark.read.parquet(str(path)).select(F.col(column).cast("double").alias("v"), F.lit(part).alias("part"))
        for part, path in parts.items()
        if column in parquet_columns(path)
    ]
    if not frames:
        return None
    df = reduce(lambda a, b: a.unionByName(b), frames)
    value = F.log10("v") if log_x else F.col("v")
    usable = F.col("v").isNotNull() & (F.col("v") > 0 if log_x else F.lit(True)) & ~F.isnan("v")
    df = df.withColumn("x", F.when(usable, value))
    bounds = df.agg(
        F.min("x").alias("lo"),
        F.max("x").alias("hi"),
        F.sum(F.when(F.col("x").isNull(), 1).otherwise(0)).alias("missing"),
    ).first()
    if bounds["lo"] is None:
        return None
    lo, hi = float(bounds["lo"]), float(bounds["hi"])
    width = (hi - lo) / bins if hi > lo else 1.0 / bins
    bucket = F.least(F.floor((F.col("x") - F.lit(lo)) / F.lit(width)).cast("int"), F.lit(bins - 1))
    rows = df.where(F.col("x").isNotNull()).groupBy("part", bucket.alias("bucket")).count().collect()
    counts = {part: [0] * bins for part in parts}
    for r in rows:
        counts[r["part"]][r["bucket"]] += int(r["count"])
    edges = [lo + i * width for i in range(bins + 1)]
    if log_x:
        edges = [10**e for e in edges]
    return {"edges": edges, "counts": {p: c for p, c in counts.items() if any(c)}, "missing": int(bounds["missing"])}


# ---------------------------------------------------------------------------------------------
# Cut-offs
# ---------------------------------------------------------------------------------------------


def cutoff_values(config: dict, keys: tuple[str, ...]) -> tuple[list[tuple[str, float]], list[tuple[str, dict]]]:
    """A stage config's values of its declared cut-off keys: (numbers to draw as lines, mappings to list).

    Unset (null) and empty values are left out: a cut-off that is not applied is not drawn.
    """
    lines, mappings = [], []
    for key in keys:
        value = config.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lines.append((key, float(value)))
        elif isinstance(value, dict) and value:
            mappings.append((key, dict(value)))
    return lines, mappings


# ---------------------------------------------------------------------------------------------
# Samples (pyarrow) and labels
# ---------------------------------------------------------------------------------------------


def samples_shown(config: dict | None) -> bool:
    """Whether the card shows sample documents (``privacy.card_samples``, default scrubbed)."""
    return ((config or {}).get("privacy") or {}).get("card_samples", "scrubbed") != "none"


def scrub_samples(config: dict | None, texts: list[str | None], langs: list[str | None] | None = None) -> list:
    """The texts scrubbed by the pii stage's engine with this run's pii settings (the defaults without a pii
    stage), as the run's rejects are."""
    from stages.pii import PiiConfig, scrub_rows

    section = ((config or {}).get("stages") or {}).get("pii")
    return scrub_rows(PiiConfig.model_validate(section) if section else None, texts, langs)


def sample_text(clean: str | None, limit: int = SAMPLE_CHARS) -> str:
    """A scrubbed text (see :func:`scrub_samples`; scrubbed first: a cut could split an address) truncated to
    ``limit`` characters."""
    clean = clean or ""
    if not clean.strip():
        return "(empty text)"
    return clean if len(clean) <= limit else clean[:limit].rstrip() + " …"


def reason_label(reason: str | None) -> str:
    """A reason without document ids (``dedup:minhash:<id>`` -> ``dedup:minhash``)."""
    if reason is None:
        return ""
    parts = [p for p in reason.split(":") if not _ID_PART.match(p)]
    return ":".join(parts) or reason


def collapse_reasons(reasons: dict[str, int]) -> dict[str, int]:
    """Reason counts summed by :func:`reason_label`, largest first."""
    merged: dict[str, int] = {}
    for reason, count in reasons.items():
        merged[reason_label(reason)] = merged.get(reason_label(reason), 0) + int(count)
    return dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))


def read_samples(directory: Path | None, count: int, one_per_reason: bool = False) -> list[dict]:
    """The first ``count`` rows (``id``, ``source``, ``reason``, ``text``) of a Parquet folder, in file order.

    With ``one_per_reason``, rows with a reason not yet shown come first. At most
    ``SAMPLE_SCAN_ROWS`` rows are scanned.
    """
    if directory is None or not directory.is_dir() or count <= 0:
        return []
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(directory), format="parquet")
    wanted = ("id", "source", "reason", "text", "lang", "file", "line", "detail")
    columns = [c for c in wanted if c in dataset.schema.names]
    picked, spare, seen, scanned = [], [], set(), 0
    for batch in dataset.to_batches(columns=columns, batch_size=512, use_threads=False):
        for row in batch.to_pylist():
            label = reason_label(row.get("reason"))
            if one_per_reason and label in seen:
                spare.append(row)
                continue
            seen.add(label)
            picked.append(row)
            if len(picked) == count:
                return picked
        scanned += batch.num_rows
        if scanned >= SAMPLE_SCAN_ROWS or (not one_per_reason and len(picked) >= count):
            break
    return (picked + spare)[:count]


def license_info(config: dict | None) -> tuple[str, str | None]:
    """(licence id, note): ``card.license`` if set, else the sources' common ``license``, else ``other``."""
    card = (config or {}).get("card")
    if isinstance(card, dict) and card.get("license"):
        return str(card["license"]), None
    per_source = {s.get("name"): s.get("license") for s in (config or {}).get("sources") or []}
    given = sorted({str(v) for v in per_source.values() if v})
    if len(given) == 1 and all(per_source.values()):
        return given[0], None
    if given:
        listed = ", ".join(f"{name}: {lic or 'not given'}" for name, lic in per_source.items())
        return "other", f"the sources carry different licences ({listed}); each document keeps its source's terms"
    return "other", (
        "the config names no licence (`card.license` or a source's `license`); "
        "check every source's terms before using or sharing this data"
    )


def size_category(documents: int) -> str:
    return next((label for limit, label in SIZE_CATEGORIES if documents < limit), "n>1T")
