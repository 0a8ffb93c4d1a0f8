"""Benchmark: MinHash signatures against datasketch and datatrove; end-to-end Spark dedup.

    .venv-bench/bin/python bench/bench_minhash.py [--sig-docs 500] [--repeat 3] [--sizes 10000 20000 40000]
        [--parts signatures long e2e]

1. Signatures, one thread, the same web pages (``pages_wet_like``) for every row, num_perm 128,
   rows interleaved ``--repeat`` times (best CPU time kept):
   ours (``filters.minhash``: shingles + batched numpy signatures), ``datasketch.MinHash.update``
   per shingle and ``update_batch`` per document over the same shingles, datatrove's
   ``MinhashDedupSignature`` (16 buckets x 8 hashes = 128; its defaults: spaCy English word
   tokens, xxhash64) as a whole step (``run``, writing and sorting its signature files) and its
   core (``get_shingles`` + ``get_signature`` per document). Our signatures are checked equal to
   datasketch's. Speed-ups are by CPU seconds of this process (the machine is shared).
2. One long document (about 1M characters): peak traced memory (tracemalloc) of the signature.
3. End to end: the ``dedup_minhash`` stage on local[2] Spark over generated documents (real
   English and Chinese sentences, seeded) with planted near-duplicate families (copies of earlier
   documents, or of copies, with 0-20% of words/characters replaced, deleted or inserted).
   Input is read from Parquet; output is written to Parquet. Truth: pairs in the same family
   whose exact shingle Jaccard is >= 0.8. Predicted: pairs sharing ``minhash_cluster``.
   Precision against that truth, and against family membership (chained near-duplicates below
   0.8 are still planted copies); recall against the truth.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
PAGES = SHARED / "web" / "pages_wet_like.jsonl.gz"

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from bench.harness import TreeMonitor  # noqa: E402
from bench.measure import measure, versions_line  # noqa: E402
from filters.minhash import iter_shingles, jaccard, shingle_hashes, signatures  # noqa: E402

NUM_PERM = 128
MB = 1024 * 1024


def load_pages(limit: int) -> list[str]:
    with gzip.open(PAGES, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines][:limit]


# ---- 1. signature throughput ------------------------------------------------------------


def ours(texts):
    return signatures([shingle_hashes(t) for t in texts], NUM_PERM, 1)


def datasketch_update(texts):
    from datasketch import MinHash

    out = []
    for text in texts:
        m = MinHash(num_perm=NUM_PERM, seed=1)
        for shingle in iter_shingles(text):
            m.update(shingle)
        out.append(m.hashvalues)
    return np.array(out)


def datasketch_update_batch(texts):
    from datasketch import MinHash

    out = []
    for text in texts:
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch(list(iter_shingles(text)))
        out.append(m.hashvalues)
    return np.array(out)


def datatrove_step():
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    return MinhashDedupSignature, MinhashConfig(num_buckets=16, hashes_per_bucket=8, seed=1)


def datatrove_run(texts):
    from datatrove.data import Document

    step_cls, config = datatrove_step()
    with tempfile.TemporaryDirectory(prefix="bench-minhash-dt-") as folder:
        step = step_cls(output_folder=folder, config=config)
        step.run((Document(text=t, id=str(i)) for i, t in enumerate(texts)), rank=0, world_size=1)


def datatrove_core(texts):
    step_cls, config = datatrove_step()
    step = step_cls(output_folder=tempfile.gettempdir(), config=config)
    out = []
    for text in texts:
        shingles = step.get_shingles(text)
        if shingles.size:  # get_signature needs at least one shingle (run() skips such documents too)
            out.append(step.get_signature(shingles))
    return out


def signature_table(texts: list[str], repeat: int) -> list[str]:
    n_shingles = sum(len(shingle_hashes(t)) for t in texts)
    megabytes = sum(len(t.encode()) for t in texts) / MB
    np.testing.assert_array_equal(ours(texts), datasketch_update_batch(texts))
    rows = [
        ("ours: filters.minhash (shingles + batched numpy signatures)", ours),
        ("datasketch MinHash.update per shingle (same shingles)", datasketch_update),
        ("datasketch MinHash.update_batch per document (same shingles)", datasketch_update_batch),
        ("datatrove MinhashDedupSignature.run (16x8, spaCy en, xxhash64)", datatrove_run),
        ("datatrove core: get_shingles + get_signature", datatrove_core),
    ]
    datatrove_core(texts[:2])  # load spaCy once, outside the timings
    best = {label: (float("inf"), float("inf")) for label, _ in rows}
    for _ in range(repeat):
        for label, fn in rows:
            wall, cpu = time.perf_counter(), time.process_time()
            fn(texts)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[label] = min(best[label], (cpu, wall))
    ours_cpu = best[rows[0][0]][0]
    lines = [
        f"{len(texts)} web pages, {megabytes:.1f} MB, {n_shingles:,} word 5-gram shingles (ours), "
        f"num_perm {NUM_PERM}, best of {repeat}; signatures equal to datasketch's: yes",
        "",
        "| method | CPU s | wall s | docs/s (CPU) | MB/s (CPU) | ours is faster by (CPU) |",
        "|---|---|---|---|---|---|",
    ]
    for label, _ in rows:
        cpu, wall = best[label]
        lines.append(
            f"| {label} | {cpu:.2f} | {wall:.2f} | {len(texts) / cpu:,.0f} | {megabytes / cpu:.2f} | "
            f"{cpu / ours_cpu:.2f}x |"
        )
    return lines


# ---- 2. one long document ---------------------------------------------------------------


def long_document_table(chars: int) -> list[str]:
    books = sorted((SHARED / "reference" / "en").glob("*.txt.gz"))
    text = ""
    for book in itertools.cycle(books):
        text += gzip.open(book, "rt", encoding="utf-8", errors="replace").read()
        if len(text) >= chars:
            break
    text = text[:chars]
    step_cls, config = datatrove_step()
    step = step_cls(output_folder=tempfile.gettempdir(), config=config)
    shingles = list(iter_shingles(text))
    cases = [
        ("ours (blocks of 1024 shingles)", lambda: ours([text])),
        ("datasketch update_batch", lambda: datasketch_update_batch([text])),
        ("datatrove get_signature", lambda: step.get_signature(step.get_shingles(text))),
    ]
    lines = [
        f"One document of {len(text):,} characters, {len(shingles):,} shingles:",
        "",
        "| method | peak traced memory MB | wall s |",
        "|---|---|---|",
    ]
    for label, fn in cases:
        tracemalloc.start()
        started = time.perf_counter()
        fn()
        wall = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        lines.append(f"| {label} | {peak / MB:,.1f} | {wall:.2f} |")
    return lines


# ---- 3. end to end ----------------------------------------------------------------------


def sentence_pools() -> dict[str, list[str]]:
    """Real sentences: English books (Gutenberg), Chinese novels."""
    pools = {"en": [], "zh": []}
    for book in sorted((SHARED / "reference" / "en").glob("*.txt.gz")):
        text = re.sub(r"\s+", " ", gzip.open(book, "rt", encoding="utf-8", errors="replace").read())
        pools["en"] += [s for s in re.split(r"(?<=[.!?])\s+", text) if 40 <= len(s) <= 300]
    for book in ("三国演义", "水浒传", "红楼梦", "西游记"):
        text = re.sub(
            r"\s+", "", gzip.open(SHARED / "reference" / "zh" / f"{book}.txt.gz", "rt", encoding="utf-8").read()
        )
        pools["zh"] += [s for s in re.split(r"(?<=[。！？])", text) if 10 <= len(s) <= 150]
    return pools


def edit(text: str, lang: str, rate: float, rng: random.Random, vocabulary: list[str]) -> str:
    """Replace (60%), delete (20%) or insert after (20%) ``rate`` of the words (characters in zh)."""
    units = list(text) if lang == "zh" else text.split(" ")
    for i in rng.sample(range(len(units)), round(rate * len(units))):
        op = rng.random()
        if op < 0.6:
            units[i] = rng.choice(vocabulary)
        elif op < 0.8:
            units[i] = ""
        else:
            units[i] += ("" if lang == "zh" else " ") + rng.choice(vocabulary)
    joiner = "" if lang == "zh" else " "
    return joiner.join(u for u in units if u)


def generate(
    n_docs: int,
    seed: int,
    pools: dict[str, list[str]],
    dup_rate: float = 0.15,
    edit_rates=(0.0, 0.01, 0.02, 0.05, 0.1, 0.2),
) -> tuple[list[tuple], list[int]]:
    """Rows (id, source, text) and each row's family (index of the original it descends from)."""
    rng = random.Random(seed)
    vocab = {"en": [w for s in pools["en"][:5000] for w in s.split()], "zh": list("".join(pools["zh"][:2000]))}
    rows, family, langs = [], [], []
    for i in range(n_docs):
        source = "wiki" if rng.random() < 0.1 else "web"
        if rows and rng.random() < dup_rate:
            base = rng.randrange(max(0, i - 2000), i)
            lang = langs[base]
            text = edit(rows[base][2], lang, rng.choice(edit_rates), rng, vocab[lang])
            family.append(family[base])
        else:
            lang = "zh" if rng.random() < 0.2 else "en"
            sentences = [rng.choice(pools[lang]) for _ in range(rng.randint(6, 20))]
            text = ("" if lang == "zh" else " ").join(sentences)
            family.append(i)
        langs.append(lang)
        rows.append((f"doc{i:07d}", source, text))
    return rows, family


def pair_truth(rows, family, threshold=0.8):
    """Pairs (i, j), i < j, in the same family with exact shingle Jaccard >= threshold; all family pairs."""
    members = defaultdict(list)
    for i, f in enumerate(family):
        members[f].append(i)
    hashes = {}
    positives, same_family = set(), set()
    for group in members.values():
        for i, j in itertools.combinations(group, 2):
            same_family.add((i, j))
            for k in (i, j):
                if k not in hashes:
                    hashes[k] = shingle_hashes(rows[k][2])
            if jaccard(hashes[i], hashes[j]) >= threshold:
                positives.add((i, j))
    return positives, same_family


def end_to_end(spark, rows, family, workdir: Path) -> dict:
    from stages.base import StageContext
    from stages.dedup_minhash import DedupMinhashStage

    input_path = workdir / "input"
    input_path.mkdir(parents=True)
    files = 8  # like a previous stage's output: several Parquet parts, read in parallel
    for part in range(files):
        chunk = rows[part::files]
        pq.write_table(
            pa.table({"id": [r[0] for r in chunk], "source": [r[1] for r in chunk], "text": [r[2] for r in chunk]}),
            input_path / f"part-{part:05d}.parquet",
        )
    df = spark.read.parquet(str(input_path))
    ctx = StageContext(
        spark=spark, seed=1, partitions=8, scratch_dir=workdir / "scratch", source_priority=["wiki", "web"]
    )
    out_path = workdir / "output"

    def run():
        DedupMinhashStage().apply(df, ctx).write.mode("overwrite").parquet(str(out_path))

    with TreeMonitor() as monitor:
        wall, cpu, _ = measure(run)
    result = pq.read_table(out_path, columns=["id", "minhash_cluster", "reason"]).to_pydict()
    index = {r[0]: i for i, r in enumerate(rows)}
    clusters = defaultdict(list)
    for doc_id, cluster in zip(result["id"], result["minhash_cluster"]):
        clusters[cluster].append(index[doc_id])
    predicted = {tuple(sorted(p)) for group in clusters.values() for p in itertools.combinations(group, 2)}
    positives, same_family = pair_truth(rows, family)
    hits = len(predicted & positives)
    precision = hits / len(predicted) if predicted else 1.0
    family_precision = len(predicted & same_family) / len(predicted) if predicted else 1.0
    recall = hits / len(positives) if positives else 1.0

    def f1(p, r):
        return 2 * p * r / (p + r) if p + r else 0.0

    rejected = sum(r is not None for r in result["reason"])
    return {
        "docs": len(rows),
        "mb": sum(len(r[2].encode()) for r in rows) / MB,
        "wall": wall,
        "cpu": cpu,
        "peak": monitor.peak,
        "positives": len(positives),
        "predicted": len(predicted),
        "precision": precision,
        "family_precision": family_precision,
        "recall": recall,
        "f1": f1(precision, recall),
        "f1_family": f1(family_precision, recall),
        "rejected": rejected,
    }


def end_to_end_table(sizes: list[int], seed: int) -> list[str]:
    from pipeline.spark import get_spark

    spark = get_spark(
        "bench-minhash",
        master="local[2]",
        conf={
            "spark.sql.shuffle.partitions": "8",
            "spark.driver.memory": "2g",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
        },
    )
    pools = sentence_pools()
    lines = [
        "| docs | MB | wall s | CPU s (tree) | docs/s (wall) | rejected | truth pairs (J>=0.8) | predicted pairs | "
        "precision | precision (family) | recall | F1 | F1 (family) | peak RSS MB: JVM / Python workers (sum) | "
        "load avg before / after |",
        "|" + "---|" * 15,
    ]
    with tempfile.TemporaryDirectory(prefix="bench-minhash-") as tmp:
        warm_rows, warm_family = generate(500, seed + 1, pools)
        end_to_end(spark, warm_rows, warm_family, Path(tmp) / "warm")  # start the Python workers
        for size in sizes:
            rows, family = generate(size, seed, pools)
            load_before = os.getloadavg()[0]
            r = end_to_end(spark, rows, family, Path(tmp) / f"n{size}")
            shutil.rmtree(Path(tmp) / f"n{size}", ignore_errors=True)
            lines.append(
                f"| {r['docs']:,} | {r['mb']:.1f} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['docs'] / r['wall']:,.0f} | "
                f"{r['rejected']:,} | {r['positives']:,} | {r['predicted']:,} | {r['precision']:.4f} | "
                f"{r['family_precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['f1_family']:.4f} | "
                f"{r['peak']['driver_jvm'] / MB:,.0f} / {r['peak']['worker_sum'] / MB:,.0f} | "
                f"{load_before:.1f} / {os.getloadavg()[0]:.1f} |"
            )
            print(lines[-1], file=sys.stderr)
    spark.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sig-docs", type=int, default=500, help="web pages for the signature comparison")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions of each signature row")
    parser.add_argument("--long-doc-chars", type=int, default=1_000_000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 20_000, 40_000], help="end-to-end sizes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--parts",
        nargs="*",
        choices=["signatures", "long", "e2e"],
        default=["signatures", "long", "e2e"],
        help="which sections to run",
    )
    args = parser.parse_args()
    print(versions_line("datasketch", "numpy", "datatrove"))
    print(f"Load average at start: {os.getloadavg()[0]:.1f} (2 cores)\n")
    if "signatures" in args.parts:
        print("\n".join(signature_table(load_pages(args.sig_docs), args.repeat)) + "\n")
    if "long" in args.parts:
        print("\n".join(long_document_table(args.long_doc_chars)) + "\n")
    if "e2e" in args.parts:
        print("\n".join(end_to_end_table(args.sizes, args.seed)))


if __name__ == "__main__":
    main()
