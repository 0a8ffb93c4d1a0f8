"""Benchmark harness: one stage, or the whole job, on a generated corpus; throughput and peak memory.

    .venv/bin/python bench/harness.py --docs 10000 --stage normalize
    .venv/bin/python bench/harness.py --docs 10000 --all [--config configs/sample.yaml]
    .venv/bin/python bench/harness.py --docs 10000 --all --set privacy.rejects_text=none   # any config key

The corpus (synthetic/corpus.py) is generated once per size and seed under .cache/bench/.
For ``--stage NAME`` the stages configured before NAME run first (cached, resumable) and only
NAME is timed, via ``pipeline.runner.run_stage``; ``--all`` times ``run_pipeline`` from raw
files to the last configured stage. The process tree is polled every 0.2 s for the peak RSS of
the driver JVM and of the Python workers. One markdown row (with the exact command) is appended
to bench/results/harness.md and printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import shutil
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import yaml  # noqa: E402

from pipeline.config import digest, load_config  # noqa: E402
from pipeline.privacy import Publishing, RunFolders  # noqa: E402
from pipeline.resume import StepHash, stage_dir_name  # noqa: E402
from pipeline.runner import read_stage_output, run_pipeline, run_stage, stage_context  # noqa: E402
from pipeline.spark import get_spark  # noqa: E402
from stages.registry import STAGES, STAGES_BY_NAME  # noqa: E402
from synthetic.corpus import GENERATOR_VERSION, generate_corpus, source_configs  # noqa: E402

CACHE = ROOT / ".cache" / "bench"
RESULTS = ROOT / "bench" / "results" / "harness.md"
MEMORY_KEYS = (
    "spark.driver.memory",
    "spark.executor.memory",
    "spark.python.worker.memory",
    "spark.memory.fraction",
    "spark.sql.execution.arrow.maxRecordsPerBatch",
    "spark.sql.execution.arrow.maxBytesPerBatch",
)
MEMORY_DEFAULTS = {
    "spark.driver.memory": "1g (default)",
    "spark.executor.memory": "1g (default; local mode runs executors in the driver JVM)",
    "spark.python.worker.memory": "512m (default)",
    "spark.memory.fraction": "0.6 (default)",
}
MB = 1024 * 1024


class TreeMonitor(threading.Thread):
    """Polls this process's tree: peak RSS of the JVM(s), of the Python workers and of this driver."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.root = interval, psutil.Process()
        self.stop_event = threading.Event()
        self.peak = {"driver_jvm": 0, "worker_max": 0, "worker_sum": 0, "driver_python": 0, "workers_seen": 0}

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def sample(self) -> None:
        jvm, workers = 0, []
        for proc in self.root.children(recursive=True):
            try:
                rss = proc.memory_info().rss
                name = proc.name()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if name == "java":
                jvm += rss
            elif name.startswith("python"):  # pyspark.daemon and the workers it forks
                workers.append(rss)
        peak = self.peak
        peak["driver_jvm"] = max(peak["driver_jvm"], jvm)
        peak["worker_max"] = max(peak["worker_max"], max(workers, default=0))
        peak["worker_sum"] = max(peak["worker_sum"], sum(workers))
        peak["workers_seen"] = max(peak["workers_seen"], len(workers))
        peak["driver_python"] = max(peak["driver_python"], self.root.memory_info().rss)

    def __enter__(self) -> TreeMonitor:
        self.sample()
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.join()
        self.sample()


def corpus_for(docs: int, seed: int) -> tuple[Path, dict]:
    """The cached synthetic corpus of ``docs`` records, generated on first use."""
    folder = CACHE / f"corpus-{docs}-s{seed}-v{GENERATOR_VERSION}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        return folder, json.loads(manifest.read_text())
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.time()
    generate_corpus(tmp, docs, seed)
    tmp.rename(folder)
    print(f"generated {docs} records in {time.time() - started:.1f}s: {folder}", file=sys.stderr)
    return folder, json.loads(manifest.read_text())


def bench_stage(spark, config_path: str, overrides: dict, name: str, corpus_key: str) -> dict:
    """Run the configured stages before ``name`` (cached), then time ``name`` alone."""
    config = load_config(config_path, overrides)
    stage_cls = STAGES_BY_NAME[name]
    section = getattr(config.stages, name) or stage_cls.Config()
    order = [stage.name for stage in STAGES]
    before = {
        stage.name: section_.model_dump(mode="json")
        for _, stage, section_ in config.enabled_stages()
        if order.index(stage.name) < order.index(name)
    }
    prep_dir = CACHE / "prep" / f"{corpus_key}-{digest(before, config.run.partitions)}"
    # Prep stops before the tokenizer and the shards: no mixture (its rules may need stages that prep leaves out).
    prep = load_config(config_path, {**overrides, "run.output_dir": str(prep_dir), "stages": before, "mixture": {}})
    outcomes = run_pipeline(spark, prep, stop_after=list(before)[-1] if before else "ingest")  # no tokenizer, shards
    last = outcomes[-1]
    input_dir = RunFolders.of(prep).data_home(last.stats["position"], stage_dir_name(last.stats["position"], last.name))
    df = read_stage_output(spark, input_dir)
    text_bytes = df.selectExpr("sum(octet_length(text)) as b").first()["b"] or 0

    out = CACHE / "stage-out" / name
    shutil.rmtree(out, ignore_errors=True)
    ctx = stage_context(spark, config, out / "scratch")
    stage_dir = out / stage_dir_name(order.index(name) + 1, name)
    with TreeMonitor() as monitor:
        started = time.time()
        outcome = run_stage(
            stage_cls(section),
            df,
            ctx,
            out_dir=stage_dir,
            rejects_dir=out / "rejects",
            step_hash=StepHash("bench", {}),
            reject_text_chars=config.run.reject_text_chars,
            label=f"[{name}]",
            publishing=Publishing.of(config),
        )
        wall = time.time() - started
    return {
        "run": f"stage {name}",
        "docs": outcome.stats["rows_in"],
        "bytes": text_bytes,
        "wall": wall,
        "peak": monitor.peak,
        "stages": {name: outcome.stats["elapsed_s"]},
    }


def bench_all(spark, config, manifest: dict) -> dict:
    with TreeMonitor() as monitor:
        started = time.time()
        outcomes = run_pipeline(spark, config)
        wall = time.time() - started
    stages = {o.name: o.stats["elapsed_s"] for o in outcomes}
    for output in ("tokenizer", "shards"):
        stats = Path(config.run.output_dir) / output / "stats.json"
        if stats.exists():
            stages[output] = json.loads(stats.read_text())["elapsed_s"]
    return {
        "run": "all: ingest + " + (", ".join(list(stages)[1:]) or "no stages"),
        "docs": outcomes[0].stats["rows_in"],
        "bytes": manifest["jsonl_bytes"],
        "wall": wall,
        "peak": monitor.peak,
        "stages": stages,
    }


def memory_settings(spark) -> str:
    conf = dict(spark.sparkContext.getConf().getAll())
    shown = [f"{key}={conf.get(key, MEMORY_DEFAULTS.get(key, 'unset'))}" for key in MEMORY_KEYS]
    return f"master {spark.sparkContext.master} ({spark.sparkContext.defaultParallelism} cores); " + "; ".join(shown)


def exact_command() -> str:
    python = Path(sys.executable)
    shown = os.path.relpath(python, ROOT) if str(python).startswith(str(ROOT)) else "python"
    return f"{shown} bench/harness.py {shlex.join(sys.argv[1:])}"


def header() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import pyspark

    return (
        "# Benchmark harness results\n\n"
        "Written by `bench/harness.py` (one row per run, appended). Corpus: `synthetic/` (`synthetic/corpus.py`) "
        "(seeded; JSONL.gz shards of web, wiki, books and email documents in 7 languages with planted duplicates, "
        "boilerplate, spam, PII and 0.1% malformed records), cached under `.cache/bench/`.\n\n"
        "- **docs**: rows into the timed stage, or records read for `all`; **MB**: UTF-8 text bytes into the stage, "
        "or uncompressed JSONL bytes for `all` (MB = 2^20 bytes).\n"
        "- **peak RSS**: the process tree polled every 0.2 s during the timed run; driver JVM (in local mode it also "
        "runs the executor), the largest Python worker and the sum over Python workers (forked workers share pages "
        "with `pyspark.daemon`, so the sum overstates physical memory), and the driver's Python process.\n"
        "- Wall time includes Spark job scheduling; `all` includes reading and parsing the raw files.\n\n"
        f"Machine: {psutil.cpu_count()} logical cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"Python {platform.python_version()}, PySpark {pyspark.__version__}. The machine is shared with other jobs: "
        "the last column gives the 1-minute load average before and after the run; with load above the core "
        "count, timings are upper bounds.\n\n"
        "| date (UTC) | command | run | docs | MB | wall s | docs/s | MB/s | per-stage s | driver JVM peak RSS MB "
        "| Python worker peak RSS MB (max / sum) | driver Python RSS MB | Spark memory settings "
        "| load avg before / after |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )


def markdown_row(result: dict, settings: str) -> str:
    peak, wall = result["peak"], result["wall"]
    stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in result["stages"].items())
    cells = [
        datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        f"`{exact_command()}`",
        result["run"],
        f"{result['docs']:,}",
        f"{result['bytes'] / MB:.1f}",
        f"{wall:.1f}",
        f"{result['docs'] / wall:,.0f}",
        f"{result['bytes'] / MB / wall:.2f}",
        stages,
        f"{peak['driver_jvm'] / MB:.0f}",
        f"{peak['worker_max'] / MB:.0f} / {peak['worker_sum'] / MB:.0f} ({peak['workers_seen']} procs)",
        f"{peak['driver_python'] / MB:.0f}",
        settings,
        "{:.1f} / {:.1f}".format(*result["load"]),
    ]
    return "| " + " | ".join(cells) + " |\n"


def _override(item: str) -> tuple[str, object]:
    """``privacy.rejects_text=none`` -> ("privacy.rejects_text", "none"); the value is read as YAML."""
    key, _, value = item.partition("=")
    return key, yaml.safe_load(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, required=True, help="records in the generated corpus")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--stage", choices=sorted(STAGES_BY_NAME), help="time this stage alone")
    what.add_argument("--all", action="store_true", help="time the whole job as configured")
    parser.add_argument("--config", default="configs/sample.yaml")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--results", default=str(RESULTS), help="markdown file the row is appended to")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="config override (YAML value), repeatable"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    corpus_dir, manifest = corpus_for(args.docs, args.seed)
    corpus_key = corpus_dir.name
    run_dir = CACHE / "runs" / f"{'all' if args.all else args.stage}-{corpus_key}"
    shutil.rmtree(run_dir, ignore_errors=True)
    config_path = str(ROOT / args.config) if not Path(args.config).is_absolute() else args.config
    sources = source_configs(corpus_dir)
    priority = (yaml.safe_load(Path(config_path).read_text()).get("run") or {}).get("source_priority") or []
    overrides = {
        "sources": sources,
        "run.output_dir": str(run_dir),
        "run.source_priority": [name for name in priority if name in {s["name"] for s in sources}],
        **dict(_override(item) for item in args.set),
    }
    config = load_config(config_path, overrides)
    spark = get_spark("corpus-bench", args.master, {**config.spark.conf, "spark.ui.showConsoleProgress": "false"})

    load_before = os.getloadavg()[0]
    if args.all:
        result = bench_all(spark, config, manifest)
    else:
        result = bench_stage(spark, config_path, overrides, args.stage, corpus_key)
    result["load"] = (load_before, os.getloadavg()[0])
    row = markdown_row(result, memory_settings(spark))
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    if not results.exists():
        results.write_text(header(), encoding="utf-8")
    with open(results, "a", encoding="utf-8") as handle:
        handle.write(row)
    print(row, end="")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
