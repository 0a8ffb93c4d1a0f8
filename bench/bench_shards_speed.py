"""Benchmark: the shards step in documents/s per core, this tree against an earlier commit, in one run.

The same corpus (real text from /work/shared/data cut into ~2 KB documents, about the size of the
documents that reach the shards in the harness runs, as Parquet files of ``--file-docs`` documents), the
same tokenizer (byte-level BPE, 8,192 entries, as configs/sample.yaml) and the same shards config as the
sample (200,000-token shards, 5% validation, wiki and books 2 epochs) go through ``write_shards`` of both
trees, each in its own process with local[2] Spark, after one untimed warm-up call, alternating; between
them the bare libraries over the same texts: ``tokenizers``' ``encode_batch_fast`` (its own rayon threads,
both cores) and tiktoken with the same ids (``trainer_output/encoder.py``, one thread). Both trees'
``.bin``/``.idx`` files must be byte-identical.

    .venv/bin/python bench/bench_shards_speed.py --base a0066be --docs 60000 --repeats 2
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DOC_CHARS = 2000
SOURCES = {"handbook": "wiki", "web": "web", "books": "books", "email": "email"}


def cut(text: str, size: int = DOC_CHARS) -> list[str]:
    """``text`` in pieces of about ``size`` characters, cut at line breaks."""
    out, current, length = [], [], 0
    for line in text.splitlines(keepends=True):
        current.append(line)
        length += len(line)
        if length >= size:
            out.append("".join(current).strip())
            current, length = [], 0
    if current:
        out.append("".join(current).strip())
    return [piece for piece in out if len(piece) >= 200]


def real_texts() -> list[tuple[str, str]]:
    """(source, text) of every ~2 KB piece of the shared handbook, web pages, e-mails and books."""
    texts = []
    for path in sorted((DATA / "handbook").glob("*.jsonl.gz")):
        texts += [
            ("wiki", p) for line in gzip.open(path, "rt", encoding="utf-8") for p in cut(json.loads(line)["text"])
        ]
    for name, source in (("pages_wet_like.jsonl.gz", "web"), ("spamassassin_emails.jsonl.gz", "email")):
        for line in gzip.open(DATA / "web" / name, "rt", encoding="utf-8"):
            texts += [(source, p) for p in cut(json.loads(line)["text"])]
    for lang in ("en", "zh"):
        for path in sorted((DATA / "reference" / lang).glob("*.txt.gz")):
            texts += [("books", p) for p in cut(gzip.open(path, "rt", encoding="utf-8", errors="replace").read())]
    return texts


def prepare(folder: Path, docs: int, file_docs: int) -> list[str]:
    """Write ``docs`` documents (the real pieces, repeated with a marker line when there are fewer, shuffled
    by hashed id) as Parquet files with the columns the shards read; return a sample of texts."""
    texts = real_texts()
    random.Random(0).shuffle(texts)  # every source in every size of corpus
    rows = []
    for i in range(docs):
        source, text = texts[i % len(texts)]
        if i >= len(texts):
            text = f"{text}\n(copy {i // len(texts)})"
        rows.append({"id": f"d{i:08d}", "source": source, "text": text, "file": f"/in/{source}.jsonl", "line": i})
    rows.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
    folder.mkdir(parents=True)
    for part, start in enumerate(range(0, docs, file_docs)):
        pq.write_table(pa.Table.from_pylist(rows[start : start + file_docs]), folder / f"part-{part:05d}.parquet")
    return [r["text"] for r in rows[:: max(1, docs // 5000)]]


def train_bench_tokenizer(texts: list[str], path: Path) -> None:
    from tokenizer_train.train import TokenizerConfig, bpe_trainer, build_tokenizer

    cfg = TokenizerConfig(vocab_size=8192)
    tokenizer = build_tokenizer(cfg)
    trainer = bpe_trainer(cfg)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.save(str(path))


def run_worker(tree: str, corpus: str, tokenizer: str, out: str) -> dict:
    """In this process: ``write_shards`` of ``tree`` on the corpus, once on a tenth to warm up, then timed."""
    sys.path.insert(0, tree)
    from bench.measure import measure
    from pipeline.spark import get_spark
    from trainer_output.mixture import MixtureConfig, SourceTarget
    from trainer_output.shards import ShardsConfig, write_shards

    spark = get_spark(
        "bench-shards",
        master="local[2]",
        conf={"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g", "spark.ui.enabled": "false"},
    )
    cfg = ShardsConfig(shard_size=200_000, valid_fraction=0.05)
    mixture = MixtureConfig(sources={"wiki": SourceTarget(epochs=2.0), "books": SourceTarget(epochs=2.0)})
    docs = spark.read.parquet(corpus)
    warm = docs.limit(2000)  # its sources may not cover the mixture's: the default mixture
    write_shards(warm, Path(tokenizer), Path(out) / "warm" / "shards", cfg, MixtureConfig(), 1234, "bench")
    wall, cpu, manifest = measure(
        lambda: write_shards(docs, Path(tokenizer), Path(out) / "run" / "shards", cfg, mixture, 1234, "bench")
    )
    hashes = {s["path"]: [s["sha256"]["bin"], s["sha256"]["idx"]] for s in manifest["shards"]}
    documents = docs.count()
    spark.stop()
    return {"wall": wall, "cpu": cpu, "documents": documents, "shards": len(hashes), "hashes": hashes}


def run_bare(corpus: str, tokenizer: str, library: str) -> dict:
    """The corpus's texts encoded in batches of 1,000 by the bare library: ``tokenizers``' ``encode_batch_fast``
    (rayon threads: every core) or tiktoken through ``DocumentEncoder`` (one thread)."""
    from bench.measure import measure
    from trainer_output.encoder import DocumentEncoder

    encoder = DocumentEncoder(tokenizer, use_tiktoken=library == "tiktoken")
    texts = pq.read_table(corpus, columns=["text"]).column("text").to_pylist()

    def encode():
        return sum(len(ids) for i in range(0, len(texts), 1000) for ids in encoder.encode_batch(texts[i : i + 1000]))

    wall, cpu, tokens = measure(encode)
    return {"wall": wall, "cpu": cpu, "documents": len(texts), "tokens": tokens}


def in_subprocess(*args: str, tree: Path = ROOT) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_shards_speed.py"), *args],
        env=env,
        cwd=tree,  # Spark's Python workers (python -m pyspark.daemon) import from their working directory first
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(
            f"{' '.join(args[:2])} failed:\n"
            + "\n".join(line for line in done.stderr.splitlines() if "Error" in line)[-3000:]
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="a0066be", help="the earlier commit to compare with")
    parser.add_argument("--docs", type=int, default=60_000)
    parser.add_argument("--file-docs", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--worker", nargs=4, metavar=("TREE", "CORPUS", "TOKENIZER", "OUT"))
    parser.add_argument("--bare", nargs=3, metavar=("CORPUS", "TOKENIZER", "LIBRARY"))
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(*args.worker)))
        return
    if args.bare:
        print(json.dumps(run_bare(*args.bare)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        work = Path(tmp)
        base_tree = work / "base"
        base_tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(base_tree)], input=archive.stdout, check=True)
        corpus, tokenizer = work / "corpus", work / "tokenizer.json"
        train_bench_tokenizer(prepare(corpus, args.docs, args.file_docs), tokenizer)
        runs: dict[str, list[dict]] = {"bare": [], "tiktoken": [], "base": [], "this": []}
        loads = [os.getloadavg()[0]]
        for repeat in range(args.repeats):
            runs["bare"].append(in_subprocess("--bare", str(corpus), str(tokenizer), "tokenizers"))
            runs["tiktoken"].append(in_subprocess("--bare", str(corpus), str(tokenizer), "tiktoken"))
            for name, tree in (("base", base_tree), ("this", ROOT)):
                out = work / f"{name}-{repeat}"
                runs[name].append(
                    in_subprocess("--worker", str(tree), str(corpus), str(tokenizer), str(out), tree=tree)
                )
            loads.append(os.getloadavg()[0])
        print(report(runs, args, loads))


def report(runs: dict[str, list[dict]], args: argparse.Namespace, loads: list[float]) -> str:
    identical = all(r["hashes"] == runs["base"][0]["hashes"] for r in runs["base"] + runs["this"])
    documents = runs["bare"][0]["documents"]
    best = {name: min(r["wall"] for r in rs) for name, rs in runs.items()}
    lines = [
        f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}` ({time.strftime('%Y-%m-%d %H:%M')}, "
        f"1-min load average {', '.join(f'{x:.1f}' for x in loads)} before and after each round; 2 cores)",
        "",
        f"{documents:,} documents, {runs['bare'][0]['tokens']:,} tokens, {runs['this'][0]['shards']} shards; "
        f"base and this tree's .bin/.idx byte-identical: {'yes' if identical else 'NO'}",
        "",
        "| run | wall s (each round) | best wall s | docs/s | docs/s per core | CPU s (best round) | vs base |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("bare", "bare tokenizers encode_batch_fast"),
        ("tiktoken", "bare tiktoken (one thread)"),
        ("base", f"write_shards at {args.base}"),
        ("this", "write_shards, this tree"),
    ):
        walls = " / ".join(f"{r['wall']:.1f}" for r in runs[name])
        best_run = min(runs[name], key=lambda r: r["wall"])
        rate = documents / best[name]
        lines.append(
            f"| {label} | {walls} | {best[name]:.1f} | {rate:,.0f} | {rate / 2:,.0f} | {best_run['cpu']:.1f} "
            f"| {best['base'] / best[name]:.2f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
