"""Benchmark: the quality_classifier and perplexity stages against bare loops calling the same
models over the same documents in the same run, and model loading paid once per worker.

    .venv-bench/bin/python bench/bench_model_scoring.py [--docs 1031] [--repeat 1] [--master local[2]]

Documents: pages_wet_like.jsonl.gz (real web pages, mostly German and English), all tagged
``en`` so every document is scored by models/quality/en.bin and models/kenlm/en.binary (the
training jobs are run first when a model is missing).

Rows per model: the bare C++ call (fastText ``f.predict`` on the raw text with newlines
replaced; KenLM ``score`` on lines prepared beforehand); our filter function in a plain loop
(``quality_score`` / ``document_perplexity``: the baseline of the ``vs loop`` columns);
datatrove's FastTextClassifierFilter (peer; it feeds the raw text to the same model); Spark's
floor (an identity ``mapInArrow`` pass: what any Python stage pays to move the rows); and the
stage (input from Parquet, output to the ``noop`` sink). Each stage first runs cold (the
Python workers start and load the model), then warm.

The machine is shared, so the warm measurements run round-robin (every implementation once per
round, 3 rounds) and each figure is the best of its 3 runs. Wall time and CPU time are both
reported: CPU of this process for the in-process loops, CPU of the whole process tree (driver,
Spark JVM, Python workers) for Spark. A probe job then lists the models cached in each worker.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGES = ROOT.parent / "shared" / "data" / "web" / "pages_wet_like.jsonl.gz"
QUALITY_MODEL = ROOT / "models" / "quality" / "en.bin"
KENLM_MODEL = ROOT / "models" / "kenlm" / "en.binary"
ROUNDS = 3

from bench.measure import versions_line  # noqa: E402
from filters.perplexity import document_perplexity, load_kenlm_model, prepare_lines  # noqa: E402
from filters.quality_model import load_quality_model, quality_score  # noqa: E402


def load_texts(limit: int, repeat: int) -> list[str]:
    with gzip.open(PAGES, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines][:limit]
    return texts * repeat


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and all its descendants (the Spark JVM and its
    Python workers), including descendants that have exited."""
    total = 0.0
    for proc in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def measure(fn: Callable[[], object], clock: Callable[[], float]) -> tuple[float, float]:
    """(wall s, CPU s by ``clock``) of one run of ``fn``."""
    wall, cpu = time.perf_counter(), clock()
    fn()
    return time.perf_counter() - wall, clock() - cpu


def round_robin(runs: dict[str, tuple[Callable[[], object], Callable[[], float]]]) -> dict[str, tuple[float, float]]:
    """Run every implementation once per round for ``ROUNDS`` rounds; best wall and best CPU each."""
    best = {name: (float("inf"), float("inf")) for name in runs}
    for _ in range(ROUNDS):
        for name, (fn, clock) in runs.items():
            wall, cpu = measure(fn, clock)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def ensure_models() -> None:
    """Train the default demo models when they are missing (needs scripts/build_kenlm.sh)."""
    os.chdir(ROOT)
    if not QUALITY_MODEL.exists():
        from model_training.quality_classifier import QualityClassifierTrainConfig, train_quality_classifiers

        train_quality_classifiers(QualityClassifierTrainConfig())
    if not KENLM_MODEL.exists():
        from model_training.kenlm import KenlmTrainConfig, train_kenlm_models

        train_kenlm_models(KenlmTrainConfig())


def datatrove_filter(texts: list[str]) -> tuple[str, Callable[[], object]]:
    """datatrove's fastText filter over the texts (its model copy is made and loaded here)."""
    from importlib.metadata import version

    from datatrove.data import Document
    from datatrove.pipeline.filters import FastTextClassifierFilter

    peer = FastTextClassifierFilter(str(QUALITY_MODEL), keep_labels=("hq", 0.5))
    peer.model  # noqa: B018 -- copies and loads the model outside the timing
    label = f"datatrove {version('datatrove')} FastTextClassifierFilter (1 thread; raw text)"
    return label, lambda: [peer.filter(Document(text=text, id=str(i))) for i, text in enumerate(texts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1031, help="documents taken from pages_wet_like.jsonl.gz")
    parser.add_argument("--repeat", type=int, default=1, help="times the documents are repeated")
    parser.add_argument("--master", default="local[2]", help="Spark master for the stage rows")
    args = parser.parse_args()

    from pipeline.spark import get_spark

    ensure_models()
    texts = load_texts(args.docs, args.repeat)
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    load_before = os.getloadavg()[0]
    quality_load, _ = measure(lambda: load_quality_model(str(QUALITY_MODEL)), time.process_time)
    kenlm_load, _ = measure(lambda: load_kenlm_model(str(KENLM_MODEL)), time.process_time)
    quality_model, kenlm_model = load_quality_model(str(QUALITY_MODEL)), load_kenlm_model(str(KENLM_MODEL))
    spark = get_spark(
        "bench-model-scoring",
        master=args.master,
        conf={"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", "spark.driver.memory": "2g"},
    )
    on = f"{args.master}, {spark.sparkContext.defaultParallelism} cores"
    results, warm, peer_label, seen, partitions = measure_all(spark, texts, quality_model, kenlm_model, on)
    spark.stop()
    print(versions_line("fasttext", "kenlm", "datatrove"))
    print(
        f"{len(texts)} documents, {megabytes:.1f} MB, {partitions} input partitions; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    print_tables(results, warm, peer_label, len(texts), megabytes)
    print("### Model loading\n")
    print(
        f"- fastText quality model load: {quality_load:.3f} s ({QUALITY_MODEL.stat().st_size / 1e6:.1f} MB); "
        f"KenLM binary load: {kenlm_load:.3f} s ({KENLM_MODEL.stat().st_size / 1e6:.1f} MB)"
    )
    for line in sorted({f"Python worker pid {r['pid']}: cached models [{r['models']}]" for r in seen}):
        print(f"- {line}")


def measure_all(spark, texts: list[str], quality_model, kenlm_model, on: str):
    """Every row: bare calls, our loops, the peer, and the stages cold and warm; which models each worker cached."""
    import pyarrow as pa

    from stages.base import StageContext
    from stages.perplexity import PerplexityConfig, PerplexityStage
    from stages.quality_classifier import QualityClassifierConfig, QualityClassifierStage

    flat = [text.replace("\n", " ") + "\n" for text in texts]
    prepared = [prepare_lines(text) for text in texts]
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["HF_ASSETS_CACHE"] = str(Path(scratch) / "assets")  # datatrove's model copy: fresh, never stale
        source = str(Path(scratch) / "input")
        spark.createDataFrame(
            [(f"d{i:06d}", "web", text, "en") for i, text in enumerate(texts)],
            "id string, source string, text string, lang string",
        ).repartition(4).write.parquet(source)
        df = spark.read.parquet(source)
        ctx = StageContext(spark=spark, seed=0, partitions=4, scratch_dir=Path(scratch) / "scratch")
        quality = QualityClassifierStage(QualityClassifierConfig(models={"en": str(QUALITY_MODEL)}))
        given = PerplexityStage(PerplexityConfig(models={"en": str(KENLM_MODEL)}, cutoffs={"en": (100.0, 1000.0)}))
        computed = PerplexityStage(PerplexityConfig(models={"en": str(KENLM_MODEL)}))

        def stage_run(stage) -> Callable[[], object]:
            return lambda: stage.apply(df, ctx).write.format("noop").mode("overwrite").save()

        def identity(batches):
            yield from batches

        cold = {
            f"QualityClassifierStage, cold: workers start, model loads ({on})": measure(
                stage_run(quality), tree_cpu_seconds
            ),
            f"PerplexityStage, given cut-offs, cold: model loads ({on})": measure(stage_run(given), tree_cpu_seconds),
        }
        peer_label, peer_run = datatrove_filter(texts)
        in_process = time.process_time
        warm = round_robin(
            {
                "bare fastText f.predict on raw text (1 thread)": (
                    lambda: [quality_model.f.predict(t, -1, 0.0, "replace") for t in flat],
                    in_process,
                ),
                "our quality_score loop: prepare + predict (1 thread)": (
                    lambda: [quality_score(quality_model, t) for t in texts],
                    in_process,
                ),
                peer_label: (peer_run, in_process),
                "bare KenLM score over pre-prepared lines (1 thread)": (
                    lambda: [kenlm_model.score(line) for lines in prepared for line in lines],
                    in_process,
                ),
                "our document_perplexity loop: normalise + tokenise + score (1 thread)": (
                    lambda: [document_perplexity(kenlm_model, t) for t in texts],
                    in_process,
                ),
                f"Spark floor: identity mapInArrow + noop write ({on})": (
                    lambda: df.mapInArrow(identity, df.schema).write.format("noop").mode("overwrite").save(),
                    tree_cpu_seconds,
                ),
                f"QualityClassifierStage, warm ({on})": (stage_run(quality), tree_cpu_seconds),
                f"PerplexityStage, given cut-offs, warm ({on})": (stage_run(given), tree_cpu_seconds),
            }
        )
        percentiles = {
            f"PerplexityStage, corpus percentiles: score + checkpoint + exact percentiles (one sort) ({on})": measure(
                stage_run(computed), tree_cpu_seconds
            )
        }

        def probe(batches):
            from core.spark_batches import _WORKER_CACHE

            for _ in batches:
                names = sorted(Path(key.split(":")[0]).name for key in _WORKER_CACHE)
                yield pa.RecordBatch.from_pylist([{"pid": os.getpid(), "models": ", ".join(names)}])

        seen = spark.range(0, 4, numPartitions=4).mapInArrow(probe, "pid long, models string").collect()
        partitions = df.rdd.getNumPartitions()
    return {**warm, **cold, **percentiles}, warm, peer_label, seen, partitions


def print_tables(results: dict, warm: dict, peer_label: str, documents: int, megabytes: float) -> None:
    """One Markdown table per model: each row against our filter function in a plain loop."""
    floor = next(name for name in warm if name.startswith("Spark floor"))
    tables = {
        "Quality classifier (models/quality/en.bin)": [
            "bare fastText f.predict on raw text (1 thread)",
            "our quality_score loop: prepare + predict (1 thread)",
            peer_label,
            floor,
            *[name for name in results if name.startswith("QualityClassifierStage")],
        ],
        "KenLM perplexity (models/kenlm/en.binary)": [
            "bare KenLM score over pre-prepared lines (1 thread)",
            "our document_perplexity loop: normalise + tokenise + score (1 thread)",
            floor,
            *[name for name in results if name.startswith("PerplexityStage")],
        ],
    }
    for title, names in tables.items():
        loop_wall, loop_cpu = results[names[1]]  # our filter function in a plain loop
        print(f"### {title}\n")
        print("| implementation | wall s | docs/s | MB/s | vs loop (wall) | CPU s | vs loop (CPU) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in names:
            wall, cpu = results[name]
            print(
                f"| {name} | {wall:.2f} | {documents / wall:,.0f} | {megabytes / wall:.2f} | "
                f"{loop_wall / wall:.2f}x | {cpu:.2f} | {loop_cpu / cpu:.2f}x |"
            )
        print()


if __name__ == "__main__":
    main()
