"""What the first-hour features cost, interleaved in one run on real text:

- the progress count (an accumulator the stage's pass adds each batch to) and its log thread, on the
  normalize stage (the cheapest stage, so the count's share is largest) over real web pages;
- the tokenizer's per-language minimum of held-out documents (one extra group-by, and a ranking of the
  short languages), on the Debian handbook in English, German and Chinese.

.venv/bin/python bench/bench_first_hour.py [--copies 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import measure  # noqa: E402
from core.progress import StageProgress  # noqa: E402
from pipeline.spark import get_spark  # noqa: E402
from stages.base import StageContext  # noqa: E402
from stages.normalize import NormalizeStage  # noqa: E402
from tokenizer_train.train import TokenizerConfig, train_tokenizer  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def bench_progress(spark, scratch: Path, copies: int, rounds: int) -> list[str]:
    pages = [row["text"] for row in read_jsonl(DATA / "web" / "pages_wet_like.jsonl.gz")] * copies
    rows = [(f"d{i:06d}", "web", text) for i, text in enumerate(pages)]
    spark.createDataFrame(rows, "id string, source string, text string").repartition(16, "id").write.parquet(
        str(scratch / "pages")
    )
    docs = spark.read.parquet(str(scratch / "pages"))
    ctx = StageContext(spark=spark, seed=0, partitions=16, scratch_dir=scratch / "scratch")

    def plain():
        NormalizeStage().apply(docs, ctx).write.format("noop").mode("overwrite").save()

    def counted(interval: float):
        def run():
            with StageProgress(spark, "[bench]", len(rows), interval) as progress:
                plain()
            assert progress.done == len(rows), progress.done

        return run

    variants = {"no count": plain, "counted, no log": counted(0), "counted, log every 1 s": counted(1.0)}
    plain()  # warm-up: Python workers started
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            wall, cpu, _ = measure(fn)
            times[name].append((wall, cpu))
    base_wall = statistics.median(w for w, _ in times["no count"])
    base_cpu = statistics.median(c for _, c in times["no count"])
    lines = [
        f"Normalize stage, {len(rows):,} real web pages ({sum(len(t) for t in pages) / 1e6:.1f} M characters), "
        f"16 partitions, local[2], {rounds} interleaved rounds (medians):",
        "",
        "| variant | wall s | CPU s | wall vs no count | CPU vs no count |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in times.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {wall / base_wall:.2f}x | {cpu / base_cpu:.2f}x |")
    return lines


def bench_heldout(spark, scratch: Path, rounds: int) -> list[str]:
    rows = []
    for lang, code in (("en-US", "en"), ("de-DE", "de"), ("zh-CN", "zh")):
        rows += [
            (f"{code}-{r['id']}", "handbook", code, r["text"])
            for r in read_jsonl(DATA / "handbook" / f"{lang}.jsonl.gz")
        ]
    spark.createDataFrame(rows, "id string, source string, lang string, text string").write.parquet(str(scratch / "hb"))
    docs = spark.read.parquet(str(scratch / "hb"))
    configs = {
        minimum: TokenizerConfig(
            vocab_size=4096, heldout_fraction=0.01, heldout_min_documents=minimum, sample_chars=2_000_000
        )
        for minimum in (0, 20)
    }
    times: dict[int, list[float]] = {minimum: [] for minimum in configs}
    evaluated: dict[int, dict] = {}
    for round_ in range(rounds):
        for minimum, cfg in configs.items():
            out = scratch / f"tok{minimum}-{round_}"
            wall, _, stats = measure(lambda cfg=cfg, out=out: train_tokenizer(docs, cfg, out, 3))
            times[minimum].append(wall)
            evaluated[minimum] = stats["evaluation"]
    base = statistics.median(times[0])
    lines = [
        "",
        f"Tokenizer training (vocab 4,096, 2 M sample characters) on {len(rows)} Debian handbook pages in en, de, zh, "
        f"heldout_fraction 0.01, {rounds} interleaved rounds (medians):",
        "",
        "| heldout_min_documents | wall s | vs 0 | held out en / de / zh | bytes per token en / de / zh |",
        "|---:|---:|---:|---|---|",
    ]
    for minimum, values in times.items():
        figures = evaluated[minimum]
        held = " / ".join(str(figures.get(lang, {}).get("documents", 0)) for lang in ("en", "de", "zh"))
        ratios = " / ".join(
            f"{figures[lang]['bytes_per_token']:.2f}" if lang in figures else "none" for lang in ("en", "de", "zh")
        )
        lines.append(
            f"| {minimum} | {statistics.median(values):.2f} | {statistics.median(values) / base:.2f}x | {held} | {ratios} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=3, help="copies of the 1,031 web pages")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    spark = get_spark(
        "bench-first-hour",
        master="local[2]",
        conf={
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "4",
        },
    )
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        lines = bench_progress(spark, Path(scratch), args.copies, args.rounds)
        lines += bench_heldout(spark, Path(scratch), args.rounds)
    print("\n".join(lines))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
