"""`corpus`: run the pipeline, list stages, run one stage for debugging, inspect a run."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from core.errors import ConfigError, CorpusError, InputError
from pipeline.config import FORMAT_SUFFIXES, FORMATS_HELP, load_config

log = logging.getLogger("corpus")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="corpus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run (or resume) the whole pipeline")
    add_run_arguments(run)

    commands.add_parser("stages", help="list stages in run order with their config keys and defaults")

    stage = commands.add_parser("stage", help="run one stage alone on a sample")
    stage.add_argument("name")
    stage.add_argument("--config", required=True)
    stage.add_argument(
        "--input",
        required=True,
        help="JSONL (.gz/.zst), Parquet, WARC/WET or .txt: a file or folder, or a run's stage folder",
    )
    stage.add_argument(
        "--format", choices=list(FORMAT_SUFFIXES), default=None, help="input format (default: from the file names)"
    )
    stage.add_argument("--text-field", default="text", help="JSONL/Parquet field holding the text (default: text)")
    stage.add_argument("--output", required=True, help="folder for data/ (kept), rejects/ and stats.json")
    stage.add_argument("--limit", type=positive_int, default=None, help="only the first N documents (N >= 1)")
    stage.add_argument("--show-rejects", type=int, default=5, metavar="K", help="print K example rejects")
    stage.add_argument("--master", default=None)

    inspect = commands.add_parser("inspect", help="per-stage counts, timings and reasons of a run")
    inspect.add_argument("run_dir")

    card = commands.add_parser("card", help="rebuild the dataset card (README.md + plots) of a run")
    card.add_argument("run_dir")
    report = commands.add_parser("report", help="the dataset card as one self-contained HTML page")
    report.add_argument("run_dir")
    report.add_argument("--html", action="store_true", required=True, help="write report.html")

    synth = commands.add_parser("synth", help="generate a synthetic corpus (corpus OUT --docs N | hostile OUT)")
    synth.add_argument("synth_args", nargs=argparse.REMAINDER)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        return COMMANDS[args.command](args)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="pipeline YAML")
    parser.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument("--output-dir", default=None, help="override run.output_dir")
    parser.add_argument("--stop-after", default=None, metavar="STAGE", help="stop after this stage")


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.runner import prepare_output_dir, run_pipeline, writing

    overrides = {"run.output_dir": args.output_dir} if args.output_dir else {}
    config = load_config(args.config, overrides)
    prepare_output_dir(Path(config.run.output_dir), "the run directory")  # fails here, before Spark starts
    spark = session_for(config, args.master)
    outcomes = run_pipeline(spark, config, stop_after=args.stop_after)
    print(format_funnel([o.stats for o in outcomes]))
    if not args.stop_after:
        from card.build import build_card

        with writing(Path(config.run.output_dir), "the dataset card"):
            print(f"dataset card: {build_card(config.run.output_dir, spark, card_ingest_descriptions())}")
    print(f"run directory: {config.run.output_dir}")
    return 0


def session_for(config: Any, master: str | None):
    """The Spark session for a run; shuffles default to the run's partition count."""
    from pipeline.spark import get_spark

    conf = {"spark.sql.shuffle.partitions": str(config.run.partitions), **config.spark.conf}
    return get_spark(config.spark.app_name, master or config.spark.master, conf)


def cmd_stages(args: argparse.Namespace) -> int:
    from stages.registry import STAGES

    for position, stage in enumerate(STAGES, start=1):
        print(f"{position:02d} {stage.name}: {stage.summary}")
        for key, field in stage.Config.model_fields.items():
            note = f"  # {field.description}" if field.description else ""
            print(f"     {key}: {json.dumps(field.get_default(call_default_factory=True), default=str)}{note}")
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    from pipeline.config import digest
    from pipeline.readers import SKIP_PREFIX, has_field, quarantined, read_sources, reason_counts
    from pipeline.resume import ingest_hash, run_settings_hash, stage_hash
    from pipeline.runner import prepare_output_dir, run_stage, writing
    from stages.base import StageContext
    from stages.registry import STAGES_BY_NAME

    if args.name not in STAGES_BY_NAME:
        raise ConfigError(f"unknown stage {args.name!r}; stages are: {', '.join(STAGES_BY_NAME)}")
    config = load_config(args.config)
    stage_cls = STAGES_BY_NAME[args.name]
    section = getattr(config.stages, args.name) or stage_cls.Config()
    source = input_source(args.input, args.format, args.text_field)
    out = Path(args.output).absolute()
    prepare_output_dir(out, f"stage {args.name}")
    spark = session_for(config, args.master)
    df = stage_output_input(spark, source, args.text_field)
    if df is None:
        if has_field(source, "id"):  # the input's own ids, so results join back to it
            source = source.model_copy(update={"id_field": "id"})
        records = read_sources(spark, [source], config.ingest)
        df = records.where("reason is null").drop("reason", "detail")
        with writing(out, "the quarantine"):
            report_quarantine(quarantined(records), out / "quarantine")
        for reason, count in reason_counts(records.where(records.reason.startswith(SKIP_PREFIX))).items():
            log.info("[input] skipped %d x %s (counted, not passed to the stage)", count, reason)
    if args.limit is not None:
        # limit() leaves one partition; spread the sample again so every core works on it
        df = df.orderBy("id").limit(args.limit).repartition(config.run.partitions, "id")
    # Reruns of the same command skip; a changed stage config, input file, limit or run setting reruns.
    stage = stage_cls(section)
    upstream = digest(ingest_hash([source], config.ingest, config.run.partitions), "limit", args.limit)
    config_hash = stage_hash(run_settings_hash(upstream, config), stage)
    ctx = StageContext(
        spark=spark,
        seed=config.run.seed,
        partitions=config.run.partitions,
        scratch_dir=out / "scratch",
        source_priority=config.source_priority,
    )
    with writing(out, f"stage {args.name}"):
        outcome = run_stage(
            stage,
            df,
            ctx,
            out_dir=out,
            rejects_dir=out / "rejects",
            config_hash=config_hash,
            reject_text_chars=config.run.reject_text_chars,
            label=f"[{args.name}]",
        )
    shutil.rmtree(ctx.scratch_dir, ignore_errors=True)
    print(format_funnel([outcome.stats]))
    if outcome.stats.get("extra"):
        print(f"stage stats: {json.dumps(outcome.stats['extra'], ensure_ascii=False, sort_keys=True)}")
    if args.show_rejects and (out / "rejects").exists():
        print(f"\nexample rejects (up to {args.show_rejects}):")
        rejected = spark.read.parquet(str(out / "rejects")).orderBy("reason", "id").limit(args.show_rejects)
        for row in rejected.select("id", "reason", "text").collect():
            snippet = (row["text"] or "")[:160].replace("\n", " ⏎ ")
            print(f"  {row['id']}  {row['reason']}\n      {snippet}")
    return 0


def stage_output_input(spark: Any, source: Any, text_field: str) -> Any:
    """A run's stage output (Parquet with ids and sources) as it is, else None (read it as raw input)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    if source.format != "parquet" or text_field != "text":
        return None
    try:
        df = spark.read.parquet(*source.paths)
    except (PySparkException, Py4JJavaError):  # not all Parquet (--format parquet on a mixed folder): read per file
        return None
    if not {"id", "source", "text"} <= set(df.columns):
        return None
    return df.drop("reason", "detail")


def report_quarantine(quarantined: Any, folder: Path) -> None:
    """Write malformed input records to ``folder`` and log how many per reason (they never reach the stage)."""
    from pipeline.readers import QUARANTINE_COLUMNS

    shutil.rmtree(folder, ignore_errors=True)
    quarantined.select("id", *QUARANTINE_COLUMNS).write.parquet(str(folder))
    counts = quarantined.sparkSession.read.parquet(str(folder)).groupBy("reason").count().orderBy("reason").collect()
    for row in counts:
        log.warning(
            "[input] quarantined %d x %s (not passed to the stage; see %s)", row["count"], row["reason"], folder
        )


def load_train_section(argv: list[str] | None, section: str, description: str) -> Any:
    """The ``train.<section>`` of ``--config YAML`` (defaults without one) for a model-training job; a bad
    config is one ``error:`` line."""
    from pipeline.config import TrainConfig, load_train_config

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", type=Path, help=f"pipeline YAML; its train.{section} section is used")
    args = parser.parse_args(argv)
    try:
        train = load_train_config(args.config) if args.config is not None else TrainConfig()
    except CorpusError as exc:
        raise SystemExit(f"error: {exc}") from None
    return getattr(train, section)


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return number


def format_of(name: str) -> str | None:
    """The input format a file name's extension says, or None."""
    name = name.lower()
    return next((fmt for fmt, suffixes in FORMAT_SUFFIXES.items() if name.endswith(suffixes)), None)


def input_source(path: str, fmt: str | None = None, text_field: str = "text") -> Any:
    """A source description for a debugging input; a run's stage folder means its ``data/``.

    Without ``fmt`` a file's format comes from its extension (else JSONL); a folder's from the
    extensions of its files (hidden and ``_`` names left out), whose other files (README.md,
    LICENSE, ...) are ignored; a folder holding two formats is an error.
    """
    from pipeline.config import SourceConfig

    folder = Path(path)
    if not folder.exists():
        raise InputError(f"--input {path}: no such file or folder")
    if (folder / "data").is_dir() and not any(folder.glob("*.parquet")):
        folder = folder / "data"
    if fmt or folder.is_file():
        return SourceConfig(
            name="input", format=fmt or format_of(folder.name) or "jsonl", paths=[str(folder)], text_field=text_field
        )
    by_format: dict[str | None, list[str]] = {}
    for file in sorted(folder.rglob("*")):
        if file.is_file() and not any(part.startswith((".", "_")) for part in file.relative_to(folder).parts):
            by_format.setdefault(format_of(file.name), []).append(str(file))
    ignored = by_format.pop(None, [])
    if len(by_format) != 1:
        found = ", ".join(f"{len(files)} {name}" for name, files in sorted(by_format.items())) or "none"
        raise InputError(
            f"--input {path}: expected files of one format ({FORMATS_HELP}), found {found}: pass "
            f"--format, or point --input at one kind of file"
        )
    ((fmt, files),) = by_format.items()
    if ignored:
        log.warning(
            "--input %s: reading %d %s files, ignoring %d others (%s)",
            path,
            len(files),
            fmt,
            len(ignored),
            ", ".join(Path(f).name for f in ignored[:3]) + (", ..." if len(ignored) > 3 else ""),
        )
    return SourceConfig(name="input", format=fmt, paths=files, text_field=text_field)


def cmd_inspect(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / "stages").is_dir():
        raise InputError(f"{run_dir} is not a run directory (no stages/ folder)")
    rows = []
    for stage_dir in sorted((run_dir / "stages").iterdir()):
        stats_file = stage_dir / "stats.json"
        if stats_file.exists() and (stage_dir / "_SUCCESS").exists():
            rows.append(json.loads(stats_file.read_text()))
        elif stage_dir.is_dir() and not stage_dir.name.startswith("."):
            rows.append({"stage": stage_dir.name[3:], "incomplete": True})
    print(format_funnel(rows))
    return 0


def format_funnel(stats: list[dict[str, Any]]) -> str:
    lines = [f"{'stage':<20} {'in':>9} {'kept':>9} {'rejected':>9} {'drop%':>6} {'time':>8}"]
    for s in stats:
        if s.get("incomplete"):
            lines.append(f"{s['stage']:<20} {'(incomplete: no _SUCCESS)':>44}")
            continue
        rate = 100.0 * s["rows_rejected"] / max(s["rows_in"], 1)
        lines.append(
            f"{s['stage']:<20} {s['rows_in']:>9} {s['rows_kept']:>9} {s['rows_rejected']:>9} "
            f"{rate:>5.1f}% {s['elapsed_s']:>7.1f}s"
        )
        for reason, count in s["reasons"].items():
            lines.append(f"    {reason:<40} {count:>9}")
    return "\n".join(lines)


# the session `corpus card` and `corpus report` start for the card's aggregations (small: a few group-bys)
CARD_SPARK_CONF = {"spark.sql.shuffle.partitions": "8", "spark.ui.showConsoleProgress": "false"}


def card_ingest_descriptions() -> dict[str, str]:
    """The meaning of each ingest and run setting, for the card's ingest step: the card may not import pipeline."""
    from card.run_data import field_descriptions
    from pipeline.config import IngestConfig, RunConfig

    return {**field_descriptions(IngestConfig), **field_descriptions(RunConfig)}


def cmd_card(args: argparse.Namespace) -> int:
    from card.build import build_card
    from pipeline.spark import get_spark

    # a factory: the session starts only if the card aggregates something
    print(build_card(args.run_dir, lambda: get_spark("corpus-card", conf=CARD_SPARK_CONF), card_ingest_descriptions()))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from card.report import build_html_report
    from pipeline.spark import get_spark

    print(
        build_html_report(
            args.run_dir, lambda: get_spark("corpus-card", conf=CARD_SPARK_CONF), card_ingest_descriptions()
        )
    )
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from synthetic.generate import main as synth_main

    return synth_main(args.synth_args) or 0


COMMANDS = {
    "run": cmd_run,
    "stages": cmd_stages,
    "stage": cmd_stage,
    "inspect": cmd_inspect,
    "card": cmd_card,
    "report": cmd_report,
    "synth": cmd_synth,
}

if __name__ == "__main__":
    sys.exit(main())
