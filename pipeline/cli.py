"""`corpus`: write a starter config, list the config's sections and stages, run one stage for debugging,
run the pipeline, inspect a run, build its card."""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from core.errors import ConfigError, CorpusError, InputError, executor_error
from pipeline.config import FORMAT_SUFFIXES, FORMATS_HELP, load_config
from pipeline.inspect_run import format_funnel, inspect_run

log = logging.getLogger("corpus")

STAGE_OUTPUT_FOLDERS = ("data", "rejects", "quarantine", "scratch")  # what `corpus stage` replaces in --output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="corpus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="write a commented starter config for your input files")
    init.add_argument("config", help="the YAML file to write")
    init.add_argument(
        "inputs",
        nargs="+",
        metavar="[NAME=]PATH",
        help="input files or folders, one source each; files of one folder and format make one source",
    )
    init.add_argument("--output-dir", default=None, help="run directory (default: runs/<config file name>)")
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")

    stages = commands.add_parser(
        "stages", help="every config section and stage in run order, with defaults, as commented YAML"
    )
    stages.add_argument("section", nargs="?", help="only this stage or top-level section (e.g. heuristics, tokenizer)")

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
    stage.add_argument(
        "--no-langid",
        action="store_true",
        help="a stage that reads `lang` on input without it: do not tag languages with langid first",
    )
    stage.add_argument("--master", default=None)

    run = commands.add_parser("run", help="run (or resume) the whole pipeline")
    add_run_arguments(run)

    inspect = commands.add_parser(
        "inspect", help="every output of a run: stage counts and reasons, quarantine, tokenizer, shards, card"
    )
    inspect.add_argument("run_dir")
    inspect.add_argument(
        "--config", default=None, help="say what a run of this config would rerun (default: the run's own config)"
    )

    card = commands.add_parser("card", help="rebuild the dataset card (README.md + plots) of a run")
    card.add_argument("run_dir")
    report = commands.add_parser("report", help="the dataset card as one self-contained HTML page")
    report.add_argument("run_dir")
    report.add_argument("--html", action="store_true", required=True, help="write report.html")

    add_clean_parser(commands)
    add_trace_arguments(commands.add_parser("trace", help="where a training sequence came from, with its text"))

    add_release_parser(commands)
    synth = commands.add_parser("synth", help="generate a synthetic corpus (corpus OUT --docs N | hostile OUT)")
    synth.add_argument("synth_args", nargs=argparse.REMAINDER)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.WARNING)  # not "Closing down clientserver connection" at INFO
    try:
        return COMMANDS[args.command](args)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a Spark job failed: one line if an executor raised a CorpusError, else a bug
        error = executor_error(exc)
        if error is None:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2


def add_clean_parser(commands: Any) -> None:
    clean = commands.add_parser(
        "clean", help="remove a run's raw work area (work/ or run.work_dir); a later run recomputes what it needs"
    )
    clean.add_argument("run_dir")
    clean.add_argument("--work", action="store_true", required=True, help="remove the raw work area")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="pipeline YAML")
    parser.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument("--output-dir", default=None, help="override run.output_dir")
    parser.add_argument("--stop-after", default=None, metavar="STAGE", help="stop after this stage")


def add_trace_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shard_prefix", help="a shard without .bin/.idx, e.g. runs/my/shards/train/train_00000")
    parser.add_argument("index", type=int, help="the sequence's index in the shard (0-based)")


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.runner import locked, prepare_output_dir, run_pipeline, writing

    overrides = {"run.output_dir": args.output_dir} if args.output_dir else {}
    config = load_config(args.config, overrides)
    check_langid_runs_first(config)
    run_dir = Path(config.run.output_dir)
    prepare_output_dir(run_dir, "the run directory")  # fails here, before Spark starts
    with locked(run_dir):  # a second job on this folder stops here, before Spark starts
        spark = session_for(config, args.master)
        outcomes = run_pipeline(spark, config, stop_after=args.stop_after)
        if args.stop_after:
            print(format_funnel([o.stats for o in outcomes]))
        else:
            from card.build import build_card

            with writing(run_dir, "the dataset card"):
                build_card(run_dir, spark, card_ingest_descriptions())
            print(inspect_run(run_dir))  # every output: funnel, quarantine, tokenizer, shards, card
    print(f"run directory: {run_dir}")
    return 0


def check_langid_runs_first(config: Any) -> None:
    """A stage that reads ``lang`` needs langid enabled before it: an error for one that cannot run without
    the column, a warning saying what happens instead for the others (before Spark starts)."""
    enabled = [stage for _, stage, _ in config.enabled_stages()]
    names = [stage.name for stage in enabled]
    for stage in enabled:
        if not stage.reads_lang or ("langid" in names and names.index("langid") < names.index(stage.name)):
            continue
        if not stage.without_lang:
            raise ConfigError(
                f"stages.{stage.name} needs the `lang` column that the langid stage adds, but stages.langid is "
                f"not enabled: add `langid: {{}}` under `stages:` (or remove stages.{stage.name})"
            )
        log.warning(
            "stages.%s reads each document's language, but langid does not run: %s", stage.name, stage.without_lang
        )


def session_for(config: Any, master: str | None):
    """The Spark session for a run; shuffles default to the run's partition count."""
    from pipeline.spark import get_spark

    conf = {"spark.sql.shuffle.partitions": str(config.run.partitions), **config.spark.conf}
    return get_spark(config.spark.app_name, master or config.spark.master, conf)


def cmd_stages(args: argparse.Namespace) -> int:
    from pipeline.config import PipelineConfig
    from pipeline.template import EXAMPLE_SOURCE, render, stage_notes, template_data
    from stages.registry import STAGES_BY_NAME

    data = template_data("runs/my-run", [EXAMPLE_SOURCE])
    if args.section is None:
        print(render(data, stage_notes()), end="")
    elif args.section in STAGES_BY_NAME:
        header = f"# stages.{args.section} with its defaults: paste it under `stages:`\n"
        print(render({"stages": {args.section: data["stages"][args.section]}}, stage_notes(), header), end="")
    elif args.section in PipelineConfig.model_fields:
        print(render({args.section: data[args.section]}, header=f"# {args.section} with its defaults\n"), end="")
    else:
        known = ", ".join([*STAGES_BY_NAME, *PipelineConfig.model_fields])
        raise ConfigError(f"no stage or config section {args.section!r}; choose one of: {known}")
    return 0


INIT_DISABLED = {  # stages a starter config leaves off although they could run: they need the user's files first
    "decontaminate": "no evaluation sets yet: list yours under eval_sets (name: file), then set enabled: true",
}


def cmd_init(args: argparse.Namespace) -> int:
    """A starter config: the inputs as sources, every section with its defaults and comments, and each
    stage enabled unless it cannot run yet here (a missing model: the note says which job makes it)."""
    from pipeline.config import parse_config
    from pipeline.recipe_suggest import suggest_recipe
    from pipeline.template import render, stage_notes, template_data
    from stages.registry import STAGES

    target = Path(args.config)
    if target.exists() and not args.force:
        raise InputError(f"{target} exists already: pass --force to overwrite it, or choose another file name")
    output_dir = args.output_dir or f"runs/{target.name.split('.')[0]}"
    sources = starter_sources(args.inputs)
    notes, disabled = stage_notes(), {}
    for index, source in enumerate(sources):
        source["recipe"], why = suggest_recipe(source)
        notes[("sources", index, "recipe")] = f"suggested: {why} (docs/recipes.md)."
    for stage in STAGES:
        problem = INIT_DISABLED.get(stage.name)
        try:
            stage().preflight()
        except CorpusError as error:
            problem = f"cannot run yet: {error}"
        if problem:
            disabled[stage.name] = {"enabled": False}
            notes[("stages", stage.name)] += f" DISABLED, {problem}"
    data = template_data(output_dir, sources, disabled)
    parse_config(data, origin=str(target))  # what is written loads
    text = render(data, notes)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write {target}: {error.strerror or error}") from None
    names = ", ".join(f"{s['name']} ({s['format']}, {len(s['paths'])} paths, recipe {s['recipe']})" for s in sources)
    print(f"wrote {target}: sources {names}; run directory {output_dir}")
    if disabled:
        print(f"disabled (see the notes in the file): {', '.join(disabled)}")
    print(f"next: corpus stage normalize --config {target} --input {sources[0]['paths'][0]} --output /tmp/normalize")
    return 0


def starter_sources(inputs: list[str]) -> list[dict[str, Any]]:
    """One source per folder given, and one per folder and format of the files given (a shell-expanded glob
    is one source); ``NAME=PATH`` names it, else its folder does (a file of the working folder: its own
    name). A folder holding files of other formats too is written as the list of its files of the one format."""
    groups: dict[tuple, dict[str, Any]] = {}
    for spec in inputs:
        name, path = spec.split("=", 1) if "=" in spec and not Path(spec).exists() else ("", spec)
        source, given = input_source(path, label=""), Path(path)
        if given.is_dir():
            every_file = [f for f in given.rglob("*") if f.is_file() and not f.name.startswith((".", "_"))]
            paths = [path] if len(every_file) == len(source.paths) else list(source.paths)
            key, default = ("folder", path, name), given.resolve().name
        else:
            paths = [path]  # named after its folder; a file of the working folder after itself
            folder = given.parent.resolve()
            default = given.name.split(".")[0] if folder == Path.cwd() else folder.name
            key = ("files", str(folder), source.format, name)
        group = groups.setdefault(key, {"name": name, "default": default, "format": source.format, "paths": []})
        group["paths"] += paths
    sources, used = [], set()
    for group in groups.values():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", group["name"] or group["default"]).strip("_.") or "source"
        while name in used:
            name += "_2"
        used.add(name)
        sources.append({"name": name, "format": group["format"], "paths": sorted(group["paths"])})
    return sources


def cmd_stage(args: argparse.Namespace) -> int:
    from pipeline.privacy import Publishing
    from pipeline.readers import SKIP_PREFIX, has_field, quarantined, read_sources, reason_counts
    from pipeline.resume import (
        INPUT_CHECKSUMS,
        combine,
        ingest_hash,
        input_files,
        run_settings_hash,
        scoring_hash,
        stage_hash,
    )
    from pipeline.runner import prepare_output_dir, run_stage, stage_context, writing
    from pipeline.stage_sources import as_configured_source, stage_for
    from stages.registry import STAGES_BY_NAME

    if args.name not in STAGES_BY_NAME:
        raise ConfigError(f"unknown stage {args.name!r}; stages are: {', '.join(STAGES_BY_NAME)}")
    config = load_config(args.config)
    stage_cls = STAGES_BY_NAME[args.name]
    section = getattr(config.stages, args.name) or stage_cls.Config()
    source = input_source(args.input, args.format, args.text_field)
    out = Path(args.output).absolute()
    check_stage_output(out, Path(args.input).absolute())
    prepare_output_dir(out, f"stage {args.name}")
    spark = session_for(config, args.master)
    df = stage_output_input(spark, source, args.text_field)
    if df is None:
        source = as_configured_source(config, source)  # a configured source's file: read as that source
        if has_field(source, "id"):  # the input's own ids, so results join back to it
            source = source.model_copy(update={"id_field": "id"})
        records = read_sources(spark, [source], config.ingest)
        df = records.where("reason is null").drop("reason", "detail")
        with writing(out, "the quarantine"):
            report_quarantine(Publishing.of(config).quarantine(quarantined(records)), out / "quarantine")
        for reason, count in reason_counts(records.where(records.reason.startswith(SKIP_PREFIX))).items():
            log.info("[input] skipped %d x %s (counted, not passed to the stage)", count, reason)
    if args.limit is not None:
        # limit() leaves one partition; spread the sample again so every core works on it
        df = df.orderBy("id").limit(args.limit).repartition(config.run.partitions, "id")
    # Reruns of the same command skip; a changed stage config, input file, limit or run setting reruns.
    stage = stage_for(stage_cls, section, config, df)  # each document with its source's settings
    files = input_files(spark, [source], config.run.input_fingerprint, out / INPUT_CHECKSUMS)
    upstream = combine(input=ingest_hash([source], config.ingest, config.run.partitions, files).value, limit=args.limit)
    ctx = stage_context(spark, config, out / "scratch")
    df, upstream = tag_languages(df, stage, config, ctx, run_settings_hash(upstream, config), args.no_langid)
    step_hash = stage_hash(upstream, stage)
    with writing(out, f"stage {args.name}"):
        outcome = run_stage(
            stage,
            df,
            ctx,
            out_dir=out,
            rejects_dir=out / "rejects",
            step_hash=step_hash,
            reject_text_chars=config.run.reject_text_chars,
            label=f"[{args.name}]",
            scores_hash=scoring_hash(upstream, stage),
            publishing=Publishing.of(config),
        )
    shutil.rmtree(ctx.scratch_dir, ignore_errors=True)
    print(format_funnel([outcome.stats]))
    if stage.reads_lang:
        print(f"languages (lang column): {language_counts(spark, out)}")
    if outcome.stats.get("extra"):
        print(f"stage stats: {json.dumps(outcome.stats['extra'], ensure_ascii=False, sort_keys=True)}")
    if args.show_rejects and (out / "rejects").exists():
        print_rejects(spark, out / "rejects", args.show_rejects, config)
    return 0


def print_rejects(spark: Any, rejects: Path, count: int, config: Any) -> None:
    """``count`` rejects with their reason and detail, each snippet scrubbed by the pii engine (whatever
    ``privacy.rejects_text`` kept) and cut to 160 characters."""
    from stages.pii import scrub_rows

    print(f"\nexample rejects (up to {count}):")
    rejected = spark.read.parquet(str(rejects)).orderBy("reason", "id").limit(count)
    has_detail = "detail" in rejected.columns  # a scored stage's signal against the threshold
    rows = rejected.select("id", "reason", "text", *(["detail"] if has_detail else [])).collect()
    texts = scrub_rows(config.stages.pii, [row["text"] for row in rows])
    details = scrub_rows(config.stages.pii, [row["detail"] if has_detail else None for row in rows])
    for row, text, detail in zip(rows, texts, details, strict=True):
        snippet = (text or "")[:160].replace("\n", " ⏎ ")
        shown = f"  ({detail})" if detail else ""
        print(f"  {row['id']}  {row['reason']}{shown}\n      {snippet}")


def tag_languages(df: Any, stage: Any, config: Any, ctx: Any, upstream: Any, skip: bool) -> tuple[Any, Any]:
    """The input, with ``lang`` when the stage reads it: input without the column is tagged by langid
    first (the config's ``stages.langid``, else its defaults), which rejects nothing here, as a run would
    have tagged it; with ``skip`` (``--no-langid``), the log says what the stage does without it.
    Returns the frame and the hash the stage's own hash builds on."""
    from pipeline.resume import stage_hash
    from stages.base import MissingColumnError
    from stages.langid import LangIdStage

    if not stage.reads_lang or "lang" in df.columns:
        return df, upstream
    if skip:
        if not stage.without_lang:
            raise MissingColumnError(
                f"stage {stage.name} needs the `lang` column and --no-langid keeps langid from adding it: drop "
                "--no-langid, or pass a langid output folder as --input"
            )
        log.warning("[input] no `lang` column and --no-langid: %s", stage.without_lang)
        return df, upstream
    langid = LangIdStage(config.stages.langid)
    langid.preflight()
    log.warning(
        "[input] no `lang` column: stage %s reads each document's language, so langid (%s, stages.langid "
        "settings) tags the documents first and rejects none of them; --no-langid skips this (then %s)",
        stage.name,
        langid.model_path(),
        stage.without_lang or f"stage {stage.name} cannot run",
    )
    return langid.apply(df, ctx).drop("reason"), stage_hash(upstream, langid)


def language_counts(spark: Any, out: Path) -> str:
    """Documents per ``lang`` value over a stage's written output (kept and rejected), most first."""
    from functools import reduce

    parts = [spark.read.parquet(str(out / name)) for name in ("data", "rejects") if (out / name).is_dir()]
    frames = [part.select("lang") for part in parts if "lang" in part.columns]
    if not frames:
        return "none"
    rows = reduce(lambda a, b: a.unionByName(b), frames).groupBy("lang").count().collect()
    ordered = sorted(rows, key=lambda r: (-r["count"], str(r["lang"])))
    return ", ".join(f"{r['lang']} {r['count']}" for r in ordered)


def check_stage_output(out: Path, input_path: Path) -> None:
    """Refuse an ``--output`` that is (or is inside) a run directory, or that holds the input: the stage
    replaces ``data/``, ``rejects/`` and ``quarantine/`` there."""
    from pipeline.runner import OutputError

    for folder in (out, *out.parents):
        if (folder / "config.hash").is_file() and (folder / "stages").is_dir():
            where = "is the run directory" if folder == out else f"is inside the run directory {folder}"
            raise OutputError(
                f"--output {out} {where}: corpus stage would replace that run's data/, rejects/ and quarantine/. "
                f"Choose a new folder (e.g. /tmp/{out.name or 'stage'}-debug)"
            )
    replaced = [out / name for name in STAGE_OUTPUT_FOLDERS]
    if input_path == out or any(input_path.is_relative_to(folder) for folder in replaced):
        raise OutputError(
            f"--output {out} holds the --input {input_path}: the stage would replace what it reads. "
            "Choose another output folder"
        )


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


def input_source(path: str, fmt: str | None = None, text_field: str = "text", label: str = "--input ") -> Any:
    """A source description for a debugging input; a run's stage folder means its ``data/``.

    Without ``fmt`` a file's format comes from its extension (else JSONL); a folder's from the
    extensions of its files (hidden and ``_`` names left out), whose other files (README.md,
    LICENSE, ...) are ignored; a folder holding two formats is an error.
    """
    from pipeline.config import SourceConfig

    folder = Path(path)
    if not folder.exists():
        raise InputError(f"{label}{path}: no such file or folder")
    folder = stage_folder_data(folder, label)
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
            f"{label}{path}: expected files of one format ({FORMATS_HELP}), found {found}: pass "
            f"--format, or point --input at one kind of file"
        )
    ((fmt, files),) = by_format.items()
    if ignored:
        log.warning(
            "%s%s: reading %d %s files, ignoring %d others (%s)",
            label,
            path,
            len(files),
            fmt,
            len(ignored),
            ", ".join(Path(f).name for f in ignored[:3]) + (", ..." if len(ignored) > 3 else ""),
        )
    return SourceConfig(name="input", format=fmt, paths=files, text_field=text_field)


def stage_folder_data(folder: Path, label: str = "--input ") -> Path:
    """A stage folder means its ``data/``; a run's ``stages/NN_name`` before pii keeps it in the run's work area."""
    import yaml

    from core.run_layout import work_dir_of_run

    if any(folder.glob("*.parquet")):
        return folder
    if (folder / "data").is_dir():
        return folder / "data"
    run = folder.parent.parent
    if folder.parent.name != "stages" or not (run / "config.resolved.yaml").is_file():
        return folder
    resolved = yaml.safe_load((run / "config.resolved.yaml").read_text(encoding="utf-8"))
    data = work_dir_of_run(run, resolved) / "stages" / folder.name / "data"
    if not data.is_dir():
        raise InputError(
            f"{label}{folder}: this stage's data was in the run's work area ({data.parent}), which is gone "
            "(corpus clean --work): rerun the job to recompute it, or pass another input"
        )
    return data


def cmd_inspect(args: argparse.Namespace) -> int:
    print(inspect_run(Path(args.run_dir)))
    print(format_reruns(Path(args.run_dir), args.config))
    return 0


def format_reruns(run_dir: Path, config_path: str | None) -> str:
    """What rerunning the config would do with each step, and which part of its hash changed."""
    from pipeline.resume import explain_reruns

    resolved = run_dir / "config.resolved.yaml"
    if config_path is None and not resolved.is_file():
        return "\n(no config.resolved.yaml: pass --config to see what a rerun would do)"
    config = load_config(config_path or resolved, {"run.output_dir": str(run_dir)})
    lines = [f"\nif rerun with {config_path or 'its own config'}:"]
    lines += [f"  {name:<20} {what}" for name, what in explain_reruns(run_dir, config)]
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


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove the run's raw work area, holding the run's lock (not while a job writes it)."""
    import yaml

    from core.run_layout import work_dir_of_run
    from pipeline.privacy import remove_work_dir
    from pipeline.runner import locked

    run_dir = Path(args.run_dir).absolute()
    resolved = run_dir / "config.resolved.yaml"
    if not resolved.is_file():
        raise InputError(f"{run_dir} is not a run directory (no config.resolved.yaml): nothing to clean")
    work = work_dir_of_run(run_dir, yaml.safe_load(resolved.read_text(encoding="utf-8")))
    with locked(run_dir):
        removed = remove_work_dir(work)
    print(f"removed the raw work area {work}" if removed else f"no work area to remove ({work} does not exist)")
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from trainer_output.provenance import format_trace, trace

    print(format_trace(trace(args.shard_prefix, args.index)))
    return 0


def add_release_parser(commands: Any) -> None:
    release = commands.add_parser(
        "release", help="publish a finished run's dedup state as a release that later runs deduplicate against"
    )
    release.add_argument("run_dir", help="a finished run directory")
    release.add_argument("--name", required=True, help="the release's name (its folder; in rejects' reasons)")
    release.add_argument("--into", required=True, help="the releases folder (the release goes to INTO/NAME)")
    release.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")


def cmd_release(args: argparse.Namespace) -> int:
    from pipeline.release import publish_release

    run_dir = Path(args.run_dir)
    resolved = run_dir / "config.resolved.yaml"
    if not resolved.is_file():
        raise InputError(f"{run_dir}: not a run directory (no config.resolved.yaml)")
    config = load_config(resolved, {"run.output_dir": str(run_dir)})
    print(f"release: {publish_release(session_for(config, args.master), run_dir, args.name, args.into)}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from synthetic.generate import main as synth_main

    return synth_main(args.synth_args) or 0


COMMANDS = {
    "run": cmd_run,
    "init": cmd_init,
    "stages": cmd_stages,
    "stage": cmd_stage,
    "inspect": cmd_inspect,
    "card": cmd_card,
    "report": cmd_report,
    "synth": cmd_synth,
    "clean": cmd_clean,
    "trace": cmd_trace,
    "release": cmd_release,
}

if __name__ == "__main__":
    sys.exit(main())
