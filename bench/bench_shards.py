"""Benchmark: token-shard writing (trainer_output.shards.write_shards) vs bare tokenizers encode_batch.

Same text, same cores, same run: bare ``encode_batch`` and ``encode_batch_fast`` (each in a
subprocess, alternating with write_shards; best of ``--repeats`` runs) over the texts of the
same Parquet files that write_shards reads with local[2] Spark. Two corpus sizes (``--mb`` and a
third of it) show whether peak memory depends on the corpus size. Text: /work/shared/data
(handbook in 26 languages, web pages, books cut into ~8 KB pieces), stored as ~4 MB Parquet files
(one Spark partition each). One untimed write_shards first warms the JVM and the Python workers
(as the row stages do in a real run). Prints a markdown table.

    .venv-bench/bin/python bench/bench_shards.py --mb 36 --repeats 3
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from bench.measure import versions_line  # noqa: E402
from pipeline.spark import get_spark  # noqa: E402
from tokenizer_train.train import TokenizerConfig, train_tokenizer  # noqa: E402
from trainer_output.mixture import MixtureConfig  # noqa: E402
from trainer_output.shards import ShardsConfig, write_shards  # noqa: E402

PIECE_CHARS = 8000


def pieces(text: str) -> list[str]:
    """Cut a book into ~PIECE_CHARS pieces at line breaks."""
    out, current, size = [], [], 0
    for line in text.splitlines(keepends=True):
        current.append(line)
        size += len(line)
        if size >= PIECE_CHARS:
            out.append("".join(current))
            current, size = [], 0
    if current:
        out.append("".join(current))
    return out


def load_documents() -> list[dict]:
    docs = []
    for path in sorted((DATA / "handbook").glob("*.jsonl.gz")):
        for line in gzip.open(path, "rt", encoding="utf-8"):
            row = json.loads(line)
            docs.append({"id": f"hb-{row['id']}", "source": "handbook", "lang": row["lang"][:2], "text": row["text"]})
    for line in gzip.open(DATA / "web" / "pages_wet_like.jsonl.gz", "rt", encoding="utf-8"):
        row = json.loads(line)
        docs.append({"id": f"web-{row['id']}", "source": "web", "lang": "und", "text": row["text"]})
    for lang in ("en", "zh"):
        for path in sorted((DATA / "reference" / lang).glob("*.txt.gz")):
            text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
            docs += [
                {"id": f"book-{path.name}-{i}", "source": "books", "lang": lang, "text": piece}
                for i, piece in enumerate(pieces(text))
            ]
    docs.sort(key=lambda d: hashlib.sha1(d["id"].encode()).hexdigest())
    return docs


def take_mb(docs: list[dict], mb: float) -> list[dict]:
    out, size = [], 0
    for doc in docs:
        if size >= mb * 1e6:
            break
        out.append(doc)
        size += len(doc["text"].encode("utf-8"))
    return out


def prepare(paths: dict[float, Path], file_mb: float = 4.0) -> None:
    """Write the first ``mb`` MB of the shuffled documents under each path, as Parquet files of ~``file_mb`` MB
    (a corpus of many files: Spark partitions, and so Arrow batches, have the same size at every corpus size;
    PySpark costs ~0.2 s of Python CPU per task here, so partitions much smaller than this would measure that)."""
    all_docs = load_documents()
    for mb, path in paths.items():
        path.mkdir(parents=True)
        files, current, size = 0, [], 0
        for doc in take_mb(all_docs, mb):
            current.append(doc)
            size += len(doc["text"].encode("utf-8"))
            if size >= file_mb * 1e6:
                pq.write_table(pa.Table.from_pylist(current), path / f"part-{files:05d}.parquet")
                files, current, size = files + 1, [], 0
        if current:
            pq.write_table(pa.Table.from_pylist(current), path / f"part-{files:05d}.parquet")


def tree_cpu_seconds() -> float:
    """User + system CPU seconds of this process and its live descendants (JVM, Python workers)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            continue
    return total


class PeakMemory:
    """Sample RSS of this process, the JVM and the Python workers every 0.1 s; keep the peaks (MB)."""

    def __init__(self):
        self.peaks = {"driver_python": 0.0, "jvm": 0.0, "python_workers_total": 0.0, "python_worker_max": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            sample = {
                "driver_python": me.memory_info().rss,
                "jvm": 0,
                "python_workers_total": 0,
                "python_worker_max": 0,
            }
            for child in me.children(recursive=True):
                try:
                    rss, name = child.memory_info().rss, child.name()
                except psutil.Error:
                    continue
                if "java" in name:
                    sample["jvm"] += rss
                elif "python" in name:
                    sample["python_workers_total"] += rss
                    sample["python_worker_max"] = max(sample["python_worker_max"], rss)
            for key, value in sample.items():
                self.peaks[key] = max(self.peaks[key], value / 1e6)
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bare_encode(tokenizer_path: str, parquet_dir: str, method: str) -> dict:
    """Seconds for bare ``tokenizer.<method>`` over the texts, in batches of 1000 (all cores)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(tokenizer_path)
    texts = pq.read_table(parquet_dir, columns=["text"]).column("text").to_pylist()
    encode = getattr(tokenizer, method)
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), 1000):
        encode(texts[i : i + 1000], add_special_tokens=False)
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu_start,
        "bytes": sum(len(t.encode("utf-8")) for t in texts),
    }


def bare_in_subprocess(tokenizer_path: Path, parquet_dir: Path, method: str) -> dict:
    """Run ``bare_encode`` in a fresh process, so its text lists do not inflate this process's memory."""
    out = subprocess.run(
        [sys.executable, __file__, "--bare", str(tokenizer_path), str(parquet_dir), method],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--bare"]:
        print(json.dumps(bare_encode(*sys.argv[2:5])))
        return
    if sys.argv[1:2] == ["--prepare"]:
        prepare({float(mb): Path(path) for mb, path in (arg.split("=", 1) for arg in sys.argv[2:])})
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=30.0, help="larger corpus size in MB of UTF-8 text")
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each method per size; the best counts")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_shards_"))
    spark = get_spark(
        "bench-shards",
        master="local[2]",
        conf={
            "spark.sql.shuffle.partitions": "8",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "2g",
            "spark.sql.files.maxPartitionBytes": str(6 << 20),
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
        },
    )
    sizes = [args.mb / 3, args.mb]
    paths = {mb: work / f"docs_{mb:g}mb" for mb in sizes}
    subprocess.run([sys.executable, __file__, "--prepare", *(f"{mb}={path}" for mb, path in paths.items())], check=True)

    start = time.perf_counter()
    tok_stats = train_tokenizer(
        spark.read.parquet(str(paths[args.mb])),
        TokenizerConfig(vocab_size=args.vocab, sample_chars=1_000_000),
        work / "tokenizer",
        seed=1,
    )
    train_seconds = time.perf_counter() - start
    tokenizer_path = work / "tokenizer" / "tokenizer.json"

    # untimed warm-up (JVM code paths, Python workers, tokenizer cached per worker), as after the row stages of a run
    write_shards(
        spark.read.parquet(str(paths[sizes[0]])),
        tokenizer_path,
        work / "warmup",
        ShardsConfig(),
        MixtureConfig(),
        seed=1,
        config_hash="bench",
    )
    load_start = psutil.getloadavg()[0]
    measured = {
        mb: measure_size(spark, tokenizer_path, paths[mb], work / f"shards_{mb:g}mb", args.repeats) for mb in sizes
    }
    print(
        f"tokenizer: vocab {tok_stats['vocab_size']}, trained on {tok_stats['sample']['chars']:,} chars "
        f"in {train_seconds:.1f} s (Spark sample + stream + held-out evaluation)\n"
    )
    print(versions_line("tokenizers", "numpy"))
    print_table(measured)
    print(
        f"\nmachine: {psutil.cpu_count()} cores (shared with other jobs), 1-min load average "
        f"{load_start:.1f} at the first measurement, {psutil.getloadavg()[0]:.1f} at the end"
    )
    spark.stop()
    shutil.rmtree(work)


def measure_size(spark, tokenizer_path: Path, docs_path: Path, out_dir: Path, repeats: int) -> dict:
    """Bare and ours alternate; the best of ``repeats`` runs of each counts (the machine is shared)."""
    runs = {"encode_batch": [], "encode_batch_fast": [], "ours": []}
    cpu = {"encode_batch": [], "ours": []}
    peaks: dict[str, float] = {}
    for _ in range(repeats):
        bare = bare_in_subprocess(tokenizer_path, docs_path, "encode_batch")
        runs["encode_batch"].append(bare["seconds"])
        cpu["encode_batch"].append(bare["cpu"])
        with PeakMemory() as memory:
            start, cpu_start = time.perf_counter(), tree_cpu_seconds()
            manifest = write_shards(
                spark.read.parquet(str(docs_path)),
                tokenizer_path,
                out_dir,
                ShardsConfig(shard_size=2_000_000),
                MixtureConfig(),
                seed=1,
                config_hash="bench",
            )
            runs["ours"].append(time.perf_counter() - start)
            cpu["ours"].append(tree_cpu_seconds() - cpu_start)
        peaks = {k: max(v, peaks.get(k, 0.0)) for k, v in memory.peaks.items()}
        runs["encode_batch_fast"].append(bare_in_subprocess(tokenizer_path, docs_path, "encode_batch_fast")["seconds"])
    return {"manifest": manifest, "bytes": bare["bytes"], "peaks": peaks, "runs": runs, "cpu": cpu}


def print_table(measured: dict) -> None:
    """One Markdown row per corpus size: throughput and CPU against the bare tokenizer calls, peak memory."""
    sizes = list(measured)
    print(
        "| corpus | docs | tokens | shards | bare encode_batch MB/s | bare encode_batch_fast MB/s "
        "| write_shards MB/s | ratio vs encode_batch | ratio vs encode_batch_fast "
        "| CPU s: encode_batch / write_shards (ratio) | peak RSS driver / JVM / py workers (sum, max one) MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mb in sizes:
        m = measured[mb]
        manifest, mbytes, peaks = m["manifest"], m["bytes"] / 1e6, m["peaks"]
        bare, bare_fast, ours = (min(m["runs"][k]) for k in ("encode_batch", "encode_batch_fast", "ours"))
        docs = sum(s["documents"] for s in manifest["shards"])
        tokens = sum(s["tokens"] for s in manifest["shards"])
        print(
            f"| {mbytes:.1f} MB | {docs:,} | {tokens:,} | {len(manifest['shards'])} "
            f"| {mbytes / bare:.2f} | {mbytes / bare_fast:.2f} | {mbytes / ours:.2f} "
            f"| {bare / ours:.2f} | {bare_fast / ours:.2f} "
            f"| {min(m['cpu']['encode_batch']):.1f} / {min(m['cpu']['ours']):.1f} "
            f"({min(m['cpu']['encode_batch']) / min(m['cpu']['ours']):.2f}) "
            f"| {peaks['driver_python']:.0f} / {peaks['jvm']:.0f} / {peaks['python_workers_total']:.0f}, "
            f"{peaks['python_worker_max']:.0f} |"
        )
    print("\nall runs, wall seconds: " + json.dumps({f"{mb:g}MB": measured[mb]["runs"] for mb in sizes}))
    print("all runs, CPU seconds: " + json.dumps({f"{mb:g}MB": measured[mb]["cpu"] for mb in sizes}))


if __name__ == "__main__":
    main()
