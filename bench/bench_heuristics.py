"""Benchmark: the heuristics stage against datatrove's four filters, same documents, same run.

    .venv-bench/bin/python bench/bench_heuristics.py [--docs 400] [--zh-docs 117]

Rows: datatrove's GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter and
FineWebQualityFilter with their defaults, chained in that order and stopping at the first
rejection (one thread); our pure functions (``run_heuristics`` with the English rules, one
thread); the Spark stage on local[2] (input from Parquet, output to Spark's ``noop`` sink,
after a warm-up run that starts the Python workers). All treat every page as English, as
datatrove's filters take one language per instance. Ratios are against datatrove, by wall time
and by CPU seconds of the whole process tree (driver, JVM, Python workers). A second table
times our Chinese rules (jieba) on the zh-CN handbook pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from bench.measure import measure, time_spark_stage  # noqa: E402
from filters.heuristics import run_heuristics  # noqa: E402
from filters.text_units import make_segmenter  # noqa: E402
from stages.heuristics import HeuristicsConfig  # noqa: E402


def load_texts(path: Path, limit: int) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines][:limit]


def datatrove_filters(texts: list[str]) -> list[bool]:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    filters = [GopherQualityFilter(), GopherRepetitionFilter(), C4QualityFilter(), FineWebQualityFilter()]
    kept = []
    for i, text in enumerate(texts):
        document = Document(text=text, id=str(i))
        kept.append(all(f.filter(document) is True for f in filters))  # all() stops at the first rejection
    return kept


def our_functions(texts: list[str], lang: str):
    """A function running our rules for ``lang`` over ``texts`` (the segmenter is loaded here, untimed)."""
    rules = HeuristicsConfig().rules_for(lang)
    segmenter = make_segmenter(rules.segmenter)
    return lambda: [run_heuristics(text, rules, segmenter)[0] for text in texts]


def spark_stage(texts: list[str]) -> tuple[float, float]:
    from stages.heuristics import HeuristicsStage

    return time_spark_stage(HeuristicsStage(), texts, "bench-heuristics", warmup_docs=50)


def table(texts: list[str], rows: list[tuple[str, float, float]], baseline: tuple[float, float] | None) -> None:
    """Markdown rows; ``baseline`` is datatrove's (wall, CPU) seconds."""
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    print(f"{len(texts)} documents, {megabytes:.2f} MB; load average {os.getloadavg()[0]:.1f} (2 cores)\n")
    print(
        "| implementation | wall s | CPU s (process tree) | docs/s | MB/s | docs per CPU s "
        "| vs datatrove, wall | vs datatrove, CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, wall, cpu in rows:
        versus = f"{baseline[0] / wall:.1f}x | {baseline[1] / cpu:.1f}x" if baseline else "- | -"
        print(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {len(texts) / wall:,.1f} | {megabytes / wall:.3f} "
            f"| {len(texts) / cpu:,.1f} | {versus} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=400, help="pages taken from pages_wet_like.jsonl.gz")
    parser.add_argument("--zh-docs", type=int, default=117, help="pages taken from handbook/zh-CN.jsonl.gz")
    args = parser.parse_args()

    texts = load_texts(DATA / "web" / "pages_wet_like.jsonl.gz", args.docs)
    load_before = os.getloadavg()[0]
    dt_wall, dt_cpu, dt_kept = measure(lambda: datatrove_filters(texts))
    our_wall, our_cpu, our_reasons = measure(our_functions(texts, "en"))
    spark_wall, spark_cpu = spark_stage(texts)
    print(f"load average before the runs: {load_before:.1f}")
    table(
        texts,
        [
            ("datatrove Gopher quality + repetition + C4 + FineWeb (1 thread)", dt_wall, dt_cpu),
            ("our run_heuristics, English rules (1 thread)", our_wall, our_cpu),
            ("HeuristicsStage, Spark local[2] (2 cores)", spark_wall, spark_cpu),
        ],
        (dt_wall, dt_cpu),
    )
    agree = sum(kept == (reason is None) for kept, reason in zip(dt_kept, our_reasons))
    print(
        f"\nkeep/reject agreement with datatrove: {agree}/{len(texts)}; datatrove kept {sum(dt_kept)}, "
        f"we kept {our_reasons.count(None)}"
    )
    print("our reasons:", dict(Counter(reason or "kept" for reason in our_reasons).most_common()))

    zh_texts = load_texts(DATA / "handbook" / "zh-CN.jsonl.gz", args.zh_docs)
    zh_wall, zh_cpu, zh_reasons = measure(our_functions(zh_texts, "zh"))
    print("\nChinese rules (jieba) on zh-CN handbook pages (about half English text):\n")
    table(zh_texts, [("our run_heuristics, zh rules (1 thread)", zh_wall, zh_cpu)], None)
    print("\nour reasons:", dict(Counter(reason or "kept" for reason in zh_reasons).most_common()))


if __name__ == "__main__":
    main()
