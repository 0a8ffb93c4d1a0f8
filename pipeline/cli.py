"""`corpus`: run the pipeline, list stages, run one stage for debugging, inspect a run."""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from filters.model_files import ModelFileError
from pipeline.config import ConfigError, digest, load_config
from pipeline.mixture import MixtureError
from pipeline.readers import InputError
from pipeline.runner import NothingLeftError, OutputError
from stages.base import MissingColumnError

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
    stage.add_argument("--input", required=True,
                       help="JSONL (.gz/.zst), Parquet, WARC/WET or .txt: a file or folder, or a run's stage folder")
    stage.add_argument("--format", choices=["jsonl", "parquet", "text", "warc"], default=None,
                       help="input format (default: from the file names)")
    stage.add_argument("--text-field", default="text", help="JSONL/Parquet field holding the text (default: text)")
    stage.add_argument("--output", required=True, help="folder for data/ (kept), rejects/ and stats.json")
    stage.add_argument("--limit", type=int, default=None, help="only the first N documents")
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
    except (ConfigError, InputError, MissingColumnError, MixtureError, ModelFileError, OutputError, NothingLeftError,
            FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="pipeline YAML")
    parser.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument("--output-dir", default=None, help="override run.output_dir")
    parser.add_argument("--stop-after", default=None, metavar="STAGE", help="stop after this stage")


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.runner import prepare_run_dir, run_pipeline, writing

    overrides = {"run.output_dir": args.output_dir} if args.output_dir else {}
    config = load_config(args.config, overrides)
    prepare_run_dir(Path(config.run.output_dir))  # an unwritable output fails here, before Spark starts
    spark = session_for(config, args.master)
    outcomes = run_pipeline(spark, config, stop_after=args.stop_after)
    print(format_funnel([o.stats for o in outcomes]))
    if not args.stop_after:
        from pipeline.card import build_card

        with writing(Path(config.run.output_dir), "the dataset card"):
            print(f"dataset card: {build_card(config.run.output_dir, spark)}")
    print(f"run directory: {config.run.output_dir}")
    return 0


def session_for(config: "Any", master: str | None):
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
    from pipeline.readers import input_fingerprint, read_sources
    from pipeline.runner import run_stage, writing
    from stages.registry import STAGES_BY_NAME
    from stages.base import StageContext

    if args.name not in STAGES_BY_NAME:
        raise ConfigError(f"unknown stage {args.name!r}; stages are: {', '.join(STAGES_BY_NAME)}")
    config = load_config(args.config)
    stage_cls = STAGES_BY_NAME[args.name]
    section = getattr(config.stages, args.name) or stage_cls.Config()
    spark = session_for(config, args.master)
    source = input_source(args.input, args.format, args.text_field)
    out = Path(args.output)
    df = stage_output_input(spark, source, args.text_field)
    if df is None:
        records = read_sources(spark, [source], config.ingest)
        df = records.where("reason is null").drop("reason", "detail")
        with writing(out, "the quarantine"):
            report_quarantine(records.where("reason is not null"), out / "quarantine")
    if args.limit:
        # limit() leaves one partition; spread the sample again so every core works on it
        df = df.orderBy("id").limit(args.limit).repartition(config.run.partitions, "id")
    # Reruns of the same command skip; a changed stage config, input file, limit or run setting reruns.
    config_hash = digest("stage", args.name, section.model_dump(mode="json"), source.model_dump(mode="json"),
                         input_fingerprint([source]), args.limit, config.run.seed, config.source_priority,
                         config.run.partitions, config.run.reject_text_chars, config.ingest.model_dump(mode="json"))
    ctx = StageContext(spark=spark, seed=config.run.seed, partitions=config.run.partitions,
                       scratch_dir=out / "scratch", source_priority=config.source_priority)
    with writing(out, f"stage {args.name}"):
        outcome = run_stage(stage_cls(section), df, ctx, out_dir=out, rejects_dir=out / "rejects",
                            config_hash=config_hash, reject_text_chars=config.run.reject_text_chars,
                            label=f"[{args.name}]")
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


def stage_output_input(spark: "Any", source: "Any", text_field: str) -> "Any":
    """A run's stage output (Parquet with ids and sources) as it is, else None (read it as raw input)."""
    folder = Path(source.paths[0])
    if source.format != "parquet" or not folder.is_dir() or text_field != "text" or not any(folder.glob("*.parquet")):
        return None
    df = spark.read.parquet(str(folder))
    if not {"id", "source", "text"} <= set(df.columns):
        return None
    return df.drop("reason", "detail")


def report_quarantine(quarantined: "Any", folder: Path) -> None:
    """Write malformed input records to ``folder`` and log how many per reason (they never reach the stage)."""
    from pipeline.readers import QUARANTINE_COLUMNS

    shutil.rmtree(folder, ignore_errors=True)
    quarantined.select("id", *QUARANTINE_COLUMNS).write.parquet(str(folder))
    counts = quarantined.sparkSession.read.parquet(str(folder)).groupBy("reason").count().orderBy("reason").collect()
    for row in counts:
        log.warning("[input] quarantined %d x %s (not passed to the stage; see %s)", row["count"], row["reason"], folder)


def input_source(path: str, fmt: str | None = None, text_field: str = "text") -> "Any":
    """A source description for a debugging input; a run's stage folder means its ``data/``."""
    from pipeline.config import SourceConfig

    if not Path(path).exists():
        raise FileNotFoundError(f"--input {path}: no such file or folder")
    if (Path(path) / "data").is_dir() and not any(Path(path).glob("*.parquet")):
        path = str(Path(path) / "data")
    return SourceConfig(name="input", format=fmt or guess_format(path), paths=[path], text_field=text_field)


def guess_format(path: str) -> str:
    """The input format from file names: Parquet, WARC/WET, plain text, else JSONL."""
    names = [p.name for p in Path(path).rglob("*") if p.is_file()] if Path(path).is_dir() else [Path(path).name]
    names = [n.lower() for n in names if not n.startswith((".", "_"))]
    for fmt, marks in (("parquet", (".parquet",)), ("warc", (".warc", ".wet")), ("jsonl", (".json",)),
                       ("text", (".txt",))):
        if names and all(any(mark in name for mark in marks) for name in names):
            return fmt
    return "jsonl"


def cmd_inspect(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / "stages").is_dir():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no stages/ folder)")
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
        lines.append(f"{s['stage']:<20} {s['rows_in']:>9} {s['rows_kept']:>9} {s['rows_rejected']:>9} "
                     f"{rate:>5.1f}% {s['elapsed_s']:>7.1f}s")
        for reason, count in s["reasons"].items():
            lines.append(f"    {reason:<40} {count:>9}")
    return "\n".join(lines)


def cmd_card(args: argparse.Namespace) -> int:
    from pipeline.card import build_card

    print(build_card(args.run_dir))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import build_html_report

    print(build_html_report(args.run_dir))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from pipeline.synthetic import main as synth_main

    return synth_main(args.synth_args) or 0


COMMANDS = {"run": cmd_run, "stages": cmd_stages, "stage": cmd_stage, "inspect": cmd_inspect,
            "card": cmd_card, "report": cmd_report, "synth": cmd_synth}

if __name__ == "__main__":
    sys.exit(main())
