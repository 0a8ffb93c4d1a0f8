"""Book-level near-duplicate detection (``dedup_minhash.unit: parent``) against piece-level only and against
the bare library, interleaved in one process on real books.

.venv/bin/python bench/bench_book_dedup.py   (results: bench/results/recipes.md)

Input: the 13 English Gutenberg books and 4 Chinese novels of ../shared/data/reference/ cut at 20,000
characters, plus a copy of each English book with another first line (its preface) and every "the" of one
paragraph in twenty changed, cut at 15,000 (other cut places), in a lower-priority source. Per round, in
turn: the stage with ``unit: parent`` (books, then pieces), the stage with ``unit: document`` (pieces only),
and datasketch 1.6.5 over the whole books (``MinHash.update_batch`` over the same shingles, ``MinHashLSH``
insert and query at the same threshold: what book-level dedup is, without Spark or pieces). Wall and CPU
seconds of the process tree (bench/measure.py); best of the rounds.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import measure  # noqa: E402
from filters.minhash import iter_shingles  # noqa: E402
from pipeline.config import SourceConfig  # noqa: E402
from pipeline.readers.prepare import prepare  # noqa: E402
from pipeline.readers.records import Record, meta_json  # noqa: E402
from stages.base import StageContext  # noqa: E402
from stages.dedup_minhash import BOOK_REASON, DedupMinhashConfig, DedupMinhashStage  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "reference"
ROUNDS = 2


def books() -> dict[str, str]:
    paths = sorted((SHARED / "en").glob("*.txt.gz")) + sorted((SHARED / "zh").glob("*.txt.gz"))
    found = {}
    for path in paths:
        if "debian" in path.name or "fortunes" in path.name:
            continue
        text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read().replace("\r\n", "\n")
        found[path.name.split(".")[0]] = text
    return found


def edited(text: str) -> str:
    """Another first line, and "the" -> "thee" in one paragraph in twenty: a light edit."""
    paragraphs = ("An edition prepared from a second printing.\n" + text.split("\n", 1)[1]).split("\n\n")
    return "\n\n".join(p.replace(" the ", " thee ") if i % 20 == 0 else p for i, p in enumerate(paragraphs))


def rows(library: dict[str, str]) -> list[tuple]:
    def cut(source: str, parent: str, text: str, size: int) -> list[tuple]:
        config = SourceConfig(name=source, format="text", paths=["x"], split_chars=size)
        return [(r.doc_id, source, r.text, meta_json(r.meta)) for r in prepare(Record(0, text=text), config, parent)]

    out = []
    for name, text in library.items():
        out += cut("books", name, text, 20_000)
        if name.isascii():  # the English books
            out += cut("copies", f"{name}-copy", edited(text), 15_000)
    return out


def bare_datasketch(library: dict[str, str], threshold: float) -> int:
    """Whole books (originals and copies) hashed and queried with datasketch: the pairs it finds."""
    from datasketch import MinHash, MinHashLSH

    lsh, found = MinHashLSH(threshold=threshold, num_perm=128), 0
    documents = {**library, **{f"{n}-copy": edited(t) for n, t in library.items() if n.isascii()}}
    for name, text in documents.items():
        signature = MinHash(num_perm=128, seed=1)
        signature.update_batch(list(iter_shingles(text)))
        found += len(lsh.query(signature))
        lsh.insert(name, signature)
    return found


def main() -> int:
    from pipeline.spark import get_spark

    library = books()
    data = rows(library)
    conf = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", "spark.sql.shuffle.partitions": "4"}
    spark = get_spark("bench-book-dedup", master="local[2]", conf={**conf, "spark.driver.memory": "3g"})
    print(f"load average at start: {os.getloadavg()}; {len(library)} books, {len(data)} pieces")
    results: dict[str, list[tuple[float, float]]] = {"parent": [], "document": [], "datasketch": []}
    with tempfile.TemporaryDirectory() as scratch:
        source = str(Path(scratch) / "input")
        spark.createDataFrame(data, "id string, source string, text string, meta string").repartition(4).write.parquet(
            source
        )
        df = spark.read.parquet(source)
        ctx = StageContext(spark=spark, seed=0, partitions=4, scratch_dir=Path(scratch) / "scratch")
        ctx = dataclasses.replace(ctx, source_priority=["books", "copies"])
        for round_number in range(ROUNDS):
            for unit in ("parent", "document"):
                stage = DedupMinhashStage(DedupMinhashConfig(unit=unit))
                wall, cpu, out = measure(
                    lambda stage=stage: stage.apply(df, ctx).where("reason is not null").select("reason").collect()
                )
                books_found = sum(1 for row in out if row["reason"].startswith(BOOK_REASON))
                print(f"round {round_number} unit={unit}: {wall:.1f}s wall {cpu:.1f}s CPU, rejected {len(out)} "
                      f"pieces ({books_found} as book copies)")  # fmt: skip
                results[unit].append((wall, cpu))
            wall, cpu, pairs = measure(lambda: bare_datasketch(library, 0.8))
            print(f"round {round_number} datasketch whole books: {wall:.1f}s wall {cpu:.1f}s CPU, {pairs} pairs")
            results["datasketch"].append((wall, cpu))
    spark.stop()
    best = {name: min(times, key=lambda t: t[1]) for name, times in results.items()}
    for name, (wall, cpu) in best.items():
        print(
            f"best {name}: {wall:.1f}s wall, {cpu:.1f}s CPU, CPU ratio to datasketch {cpu / best['datasketch'][1]:.2f}"
        )
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
