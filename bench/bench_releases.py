"""Cost of deduplicating a new crawl B against a release of A, versus rerunning dedup over A + B jointly.

Both crawls come from real books (../shared/data/reference/en) with planted duplicates across them
(``synthetic.releases``). Steps, each on local[2] with Spark's output written to Parquet:

1. A alone: sentence dedup, then MinHash dedup on its output (what A's run did), then publishing the
   release tables (what `corpus release` adds);
2. joint rerun: sentence dedup over A + B (A first), then MinHash dedup over its output;
3. incremental: sentence dedup over B against the release, then MinHash dedup over its output against
   the release.

2 and 3 are run in turn ``--repeats`` times (interleaved, so machine load hits both alike); the B
documents each keeps must be the same (checked). Prints a Markdown table.

    PYTHONPATH=. .venv/bin/python bench/bench_releases.py --docs 100000 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import measure  # noqa: E402
from pipeline.release import write_tables  # noqa: E402
from pipeline.spark import get_spark  # noqa: E402
from releases.index import FORMAT_VERSION, load_releases, write_manifest  # noqa: E402
from stages.base import StageContext  # noqa: E402
from stages.dedup_minhash import DedupMinhashStage  # noqa: E402
from stages.dedup_sentence import DedupSentenceStage  # noqa: E402
from synthetic.releases import release_pair, sentences_of  # noqa: E402

BOOKS = ROOT.parent / "shared" / "data" / "reference" / "en"


def write_crawl(records: list[dict], source: str, folder: Path, parts: int = 8) -> None:
    folder.mkdir(parents=True)
    for part in range(parts):
        chunk = records[part::parts]
        table = pa.table(
            {"id": [r["id"] for r in chunk], "source": [source] * len(chunk), "text": [r["text"] for r in chunk]}
        )
        pq.write_table(table, folder / f"part-{part:05d}.parquet")


def dedup(spark, docs, ctx, out: Path) -> Path:
    """Sentence dedup, then MinHash dedup of its kept documents; both outputs written to Parquet."""
    DedupSentenceStage().apply(docs, ctx).write.parquet(str(out / "sentence"))
    kept = spark.read.parquet(str(out / "sentence")).where("reason is null").drop("reason")
    DedupMinhashStage().apply(kept, ctx).write.parquet(str(out / "minhash"))
    return out


def kept_b(spark, out: Path) -> set[str]:
    rows = spark.read.parquet(str(out / "minhash")).where("reason is null and source = 'b'").select("id").collect()
    return {r["id"] for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20000, help="documents per crawl")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    spark = get_spark("bench-releases", master="local[2]", conf={
        "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "8", "spark.driver.memory": "4g"})  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="bench-releases-"))
    try:
        a, b = release_pair(sentences_of(sorted(BOOKS.glob("[a-z]*-*.txt.gz"))), args.docs, seed=11)
        write_crawl(a, "a", work / "a")
        write_crawl(b, "b", work / "b")
        chars = sum(len(r["text"]) for r in a + b)
        docs_a, docs_b = spark.read.parquet(str(work / "a")), spark.read.parquet(str(work / "b"))

        def ctx(name, priority, releases=()):
            return StageContext(spark, 1, 8, work / name / "scratch", source_priority=priority, releases=releases)

        wall_a, cpu_a, _ = measure(lambda: dedup(spark, docs_a, ctx("run_a", ["a"]), work / "run_a"))

        def publish():
            c = ctx("publish", ["a"])
            a_sentence_in = docs_a
            a_minhash_in = spark.read.parquet(str(work / "run_a" / "sentence")).where("reason is null").drop("reason")
            clusters = spark.read.parquet(str(work / "run_a" / "minhash"))
            tables = {**DedupSentenceStage().release_tables(a_sentence_in, c),
                      **DedupMinhashStage().release_tables(a_minhash_in, clusters, c)}  # fmt: skip
            rows = write_tables(work / "release", tables, 8)
            write_manifest(work / "release", {"format_version": FORMAT_VERSION, "name": "A", "tables": rows,
                "parameters": {"minhash": DedupMinhashStage().release_parameters(),
                               "sentence": DedupSentenceStage().release_parameters()}})  # fmt: skip

        wall_pub, cpu_pub, _ = measure(publish)
        release = load_releases([str(work / "release")])
        times = {"joint": [], "incremental": []}
        kept = {}
        for repeat in range(args.repeats):
            for name in ("joint", "incremental"):
                out = work / f"{name}_{repeat}"
                if name == "joint":
                    run = lambda out=out: dedup(spark, docs_a.unionByName(docs_b), ctx(out.name, ["a", "b"]), out)  # noqa: E731
                else:
                    run = lambda out=out: dedup(spark, docs_b, ctx(out.name, ["b"], release), out)  # noqa: E731
                wall, cpu, _ = measure(run)
                times[name].append((wall, cpu))
                kept[name] = kept_b(spark, out)
                shutil.rmtree(out)
        assert kept["joint"] == kept["incremental"], "incremental and joint runs keep different B documents"
        load = os.getloadavg()
        print(f"documents: {args.docs:,} + {args.docs:,} ({chars / 1e6:.0f} MB of text); B kept by both: "
              f"{len(kept['joint']):,}; load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")  # fmt: skip
        print("| step | wall s (each repeat) | CPU s (each repeat) |\n|---|---|---|")
        print(f"| A alone: sentence + MinHash dedup | {wall_a:.0f} | {cpu_a:.0f} |")
        print(f"| publishing A's release tables | {wall_pub:.0f} | {cpu_pub:.0f} |")
        for name, label in (("joint", "joint rerun over A + B"), ("incremental", "B against A's release")):
            walls = ", ".join(f"{w:.0f}" for w, _ in times[name])
            cpus = ", ".join(f"{c:.0f}" for _, c in times[name])
            print(f"| {label} | {walls} | {cpus} |")
        ratio = [j[0] / i[0] for j, i in zip(times["joint"], times["incremental"])]
        print(f"\njoint / incremental wall-time ratio per repeat: {', '.join(f'{r:.2f}' for r in ratio)}")
        size = sum(f.stat().st_size for f in (work / "release").rglob("*.parquet"))
        print(f"release size on disk: {size / 1e6:.0f} MB (A's text: {sum(len(r['text']) for r in a) / 1e6:.0f} MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
