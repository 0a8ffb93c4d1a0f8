"""The whole job against datatrove 0.10.1, side by side, on the same real documents and machine.

    .venv-bench/bin/python bench/bench_pipeline_vs_datatrove.py --docs 50000 [--workers 2] [--files 8]

Corpus: the real documents of ../shared/data (the web pages, the Debian handbook in 26 languages
and the English Project Gutenberg books cut into passages of 60 lines), repeated with light edits
until ``--docs`` (copy k > 0 of a document loses one line and has one word swapped for another of
its words, seeded by its id: a near duplicate of the original). Written once per size as
``--files`` JSONL.gz files under .cache/bench/.

Work, FineWeb's recipe on both sides, each with ``--workers`` worker processes:
- ours: ``jobs/build_corpus.py --master local[N]``: ingest, langid (English, 0.65), heuristics
  (``fineweb`` recipe), dedup_minhash, tokenizer training, Megatron shards, the card;
- datatrove: ``bench/datatrove_pipeline.py``: JsonlReader, LanguageFilter, the Gopher, C4 and FineWeb
  filters, MinHash stages 1-4, MegatronDocumentTokenizer with the tokenizer our run trained.

Each side runs as one process tree, polled every 0.2 s for CPU seconds (processes that ended
included) and peak RSS (sum over the tree). Decision agreement: the documents each side keeps after
the filters and after dedup; dedup quality from the known copies: groups of copies of one original
with more than one survivor (planted duplicates left), and groups with a copy kept by the filters but
none after dedup (every copy removed as a near duplicate of another group's document: the handbook's
partial translations are largely English, so some pages are near duplicates across languages). The markdown report goes to bench/results/pipeline_vs_datatrove.md.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / ".cache" / "bench"
RESULTS = ROOT / "bench" / "results" / "pipeline_vs_datatrove.md"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
BENCH_PYTHON = Path(sys.executable)  # this script runs in .venv-bench, beside datatrove
EOS = "<|endoftext|>"


def original_documents() -> list[tuple[str, str]]:
    """(id, text) of every real document: web pages, handbook pages, 60-line book passages."""
    docs = []
    with gzip.open(DATA / "web" / "pages_wet_like.jsonl.gz", "rt", encoding="utf-8") as lines:
        docs += [(f"web-{i}", json.loads(line)["text"]) for i, line in enumerate(lines)]
    for path in sorted((DATA / "handbook").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            docs += [(f"hb-{path.name.split('.')[0]}-{i}", json.loads(line)["text"]) for i, line in enumerate(lines)]
    for path in sorted((DATA / "reference" / "en").glob("*.txt*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
        for start in range(0, len(lines), 60):
            passage = "\n".join(lines[start : start + 60]).strip()
            if passage:
                docs.append((f"book-{path.name.split('.')[0]}-{start // 60}", passage))
    return docs


def light_edit(text: str, rng: random.Random) -> str:
    """One line dropped and one word replaced by another word of the text."""
    lines = text.split("\n")
    if len(lines) > 2:
        del lines[rng.randrange(len(lines))]
    words = "\n".join(lines).split(" ")
    if len(words) > 2:
        words[rng.randrange(len(words))] = rng.choice(words)
    return " ".join(words)


def build_corpus(docs: int, n_files: int) -> Path:
    """``docs`` records (originals, then edited copies round after round) in ``n_files`` JSONL.gz files."""
    folder = CACHE / f"realmix-{docs}-f{n_files}"
    if (folder / "_SUCCESS").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    originals = original_documents()
    handles = [
        gzip.open(folder / f"part-{i:03d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=1) for i in range(n_files)
    ]
    for n in range(docs):
        copy, (origin, text) = divmod(n, len(originals))[0], originals[n % len(originals)]
        if copy:
            text = light_edit(text, random.Random(f"{origin}:{copy}"))
        record = {"id": f"{origin}~{copy}", "text": text}
        handles[n % n_files].write(json.dumps(record, ensure_ascii=False) + "\n")
    for handle in handles:
        handle.close()
    (folder / "_SUCCESS").write_text(f"{docs} documents from {len(originals)} originals\n")
    return folder


class TreeUsage(threading.Thread):
    """CPU seconds (ended processes included) and peak RSS of a process tree, polled."""

    def __init__(self, root: psutil.Process, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.interval, self.stop_event = root, interval, threading.Event()
        self.cpu: dict[int, float] = {}
        self.peak_rss = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            rss = 0
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for process in processes:
                try:
                    times, memory = process.cpu_times(), process.memory_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.cpu[process.pid] = times.user + times.system
                rss += memory.rss
            self.peak_rss = max(self.peak_rss, rss)
            self.stop_event.wait(self.interval)


def timed(command: list[str], log: Path, env: dict | None = None) -> dict:
    """Run ``command``; wall and CPU seconds, peak RSS of its process tree."""
    started = time.perf_counter()
    before = os.times()
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        usage = TreeUsage(psutil.Process(process.pid))
        usage.start()
        code = process.wait()
    usage.stop_event.set()
    usage.join()
    after = os.times()
    reaped = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if code:
        raise SystemExit(f"error: {command[1]} failed with exit code {code}; see {log}")
    # the polled sum misses the last 0.2 s of short-lived processes; the reaped total misses those
    # not waited for by their parents: take the larger
    return {"wall": time.perf_counter() - started, "cpu": max(sum(usage.cpu.values()), reaped), "rss": usage.peak_rss}


def our_config(corpus: Path, out: Path, partitions: int, threshold: float) -> Path:
    config = {
        "run": {"output_dir": str(out), "seed": 1, "partitions": partitions},
        "spark": {"conf": {"spark.sql.shuffle.partitions": str(partitions), "spark.driver.memory": "4g"}},
        "sources": [{"name": "web", "format": "jsonl", "paths": [f"{corpus}/*.jsonl.gz"], "id_field": "id"}],
        # datatrove's pipeline keeps no rejected text; ours would scrub every reject's first 1,000 characters
        # with the pii engine (spaCy NER on English), several times the filters' own cost
        "privacy": {"rejects_text": "none"},
        "stages": {
            "langid": {"languages": ["en"], "threshold": 0.65},
            "heuristics": {},
            "dedup_minhash": {"threshold": threshold},
        },
        "tokenizer": {"vocab_size": 8192, "sample_chars": 3_000_000, "eos_token": EOS},
        "shards": {"shard_size": 5_000_000},
    }
    path = out.with_suffix(".yaml")
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def our_ids(run: Path, stage: str) -> set[str]:
    """Ids in a stage's data: pre-pii stages keep it in the run's raw work area."""
    (data,) = [*(run / "work" / "stages").glob(f"*_{stage}/data"), *(run / "stages").glob(f"*_{stage}/data")]
    return set(pq.read_table(data, columns=["id"]).column("id").to_pylist())


def datatrove_ids(folder: Path) -> set[str]:
    ids = set()
    for path in folder.glob("*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            ids.update(json.loads(line)["id"] for line in lines)
    return ids


def dedup_quality(filtered: set[str], final: set[str]) -> tuple[int, int]:
    """(groups of copies with more than one survivor, groups kept by the filters with no copy after dedup)."""
    group = lambda doc_id: doc_id.rsplit("~", 1)[0]  # noqa: E731
    survivors: dict[str, int] = {}
    for doc_id in final:
        survivors[group(doc_id)] = survivors.get(group(doc_id), 0) + 1
    lost = {group(doc_id) for doc_id in filtered} - set(survivors)
    return sum(1 for n in survivors.values() if n > 1), len(lost)


def close_copy_groups(corpus: Path, final: set[str], threshold: float) -> int:
    """Groups of copies with two survivors whose shingle Jaccard (the stage's definition: word 5-grams,
    character 5-grams for CJK text) reaches ``threshold``: near duplicates by the configured definition."""
    from filters.minhash import jaccard, shingle_hashes

    group = lambda doc_id: doc_id.rsplit("~", 1)[0]  # noqa: E731
    members: dict[str, list[str]] = {}
    for doc_id in final:
        members.setdefault(group(doc_id), []).append(doc_id)
    wanted = {doc_id for ids in members.values() if len(ids) > 1 for doc_id in ids}
    texts = {}
    for path in sorted(corpus.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            texts.update((r["id"], r["text"]) for r in map(json.loads, lines) if r["id"] in wanted)
    shingles = {doc_id: shingle_hashes(text) for doc_id, text in texts.items()}
    return sum(
        any(jaccard(shingles[a], shingles[b]) >= threshold for a, b in itertools.combinations(ids, 2))
        for ids in members.values()
        if len(ids) > 1
    )


def agreement(a: set[str], b: set[str], universe: int) -> str:
    both_drop = universe - len(a | b)
    return f"{(len(a & b) + both_drop) / universe:.2%} ({len(a & b):,} kept by both, {len(a - b):,} ours only, {len(b - a):,} datatrove only)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.7,
        help="our MinHash Jaccard threshold; datatrove's 14 bands x 8 rows detect half the pairs at 0.69, so the "
        "default is the same definition of a near duplicate, with the exact-Jaccard check ours adds",
    )
    parser.add_argument(
        "--reuse-peer",
        action="store_true",
        help="keep the datatrove side of the last run at this size (its outputs and datatrove.json) and rerun ours",
    )
    args = parser.parse_args(argv)

    corpus = build_corpus(args.docs, args.files)
    work = CACHE / f"vs-datatrove-{args.docs}"
    shutil.rmtree(work / "ours", ignore_errors=True)
    if not args.reuse_peer:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": str(PROJECT_PYTHON), "SPARK_LOCAL_IP": "127.0.0.1"}
    config = our_config(corpus, work / "ours", 4 * args.workers, args.threshold)
    ours = timed(
        [str(PROJECT_PYTHON), "jobs/build_corpus.py", "--config", str(config), "--master", f"local[{args.workers}]"],
        work / "ours.log",
        env,
    )
    tokenizer = work / "ours" / "tokenizer" / "tokenizer.json"
    if args.reuse_peer:
        peer = json.loads((work / "datatrove.json").read_text())
    else:
        peer = timed(
            [
                str(BENCH_PYTHON),
                "bench/datatrove_pipeline.py",
                str(corpus),
                str(work / "datatrove"),
                str(tokenizer),
                EOS,
            ]
            + ["--workers", str(args.workers), "--tasks", str(args.files)],
            work / "datatrove.log",
            env,
        )
        peer["measured"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        (work / "datatrove.json").write_text(json.dumps(peer))
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    report = render(args, corpus, work, ours, peer, uptime_before, uptime_after)
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a", encoding="utf-8") as handle:
        handle.write(report)
    print(report)
    return 0


def render(args, corpus: Path, work: Path, ours: dict, peer: dict, before: str, after: str) -> str:
    ours_filtered, ours_final = our_ids(work / "ours", "heuristics"), our_ids(work / "ours", "dedup_minhash")
    peer_filtered, peer_final = (
        datatrove_ids(work / "datatrove" / "filtered"),
        datatrove_ids(work / "datatrove" / "final"),
    )
    stats = {
        path.parent.name: json.loads(path.read_text()).get("elapsed_s")
        for path in sorted((work / "ours").glob("*/*/stats.json"))
    }
    for output in ("tokenizer", "shards"):
        path = work / "ours" / output / "stats.json"
        if path.exists():
            stats[output] = json.loads(path.read_text()).get("elapsed_s")
    from bench.measure import versions_line

    rows = []
    for name, result in (("ours (jobs/build_corpus.py)", ours), ("datatrove 0.10.1", peer)):
        per_core = args.docs / result["cpu"]
        rows.append(
            f"| {name} | {result['wall']:.1f} | {result['cpu']:.1f} | {args.docs / result['wall']:,.0f} "
            f"| {per_core:,.0f} | {result['rss'] / 2**20:,.0f} |"
        )
    ratio = (args.docs / ours["cpu"]) / (args.docs / peer["cpu"])
    reused = f" (datatrove's side as measured at {peer['measured']}, not rerun)" if args.reuse_peer else ""
    dup_ours, lost_ours = dedup_quality(ours_filtered, ours_final)
    dup_peer, lost_peer = dedup_quality(peer_filtered, peer_final)
    close_ours, close_peer = (close_copy_groups(corpus, final, 0.7) for final in (ours_final, peer_final))
    command = f".venv-bench/bin/python bench/bench_pipeline_vs_datatrove.py --docs {args.docs} --workers {args.workers} --files {args.files}"
    command += f" --threshold {args.threshold:g}" if args.threshold != 0.7 else ""
    command += " --reuse-peer" if args.reuse_peer else ""
    return "\n".join(
        [
            f"### {args.docs:,} documents, {args.workers} workers ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            "",
            f"Command: `{command}`{reused}; corpus `{corpus.relative_to(ROOT)}` ({(corpus / '_SUCCESS').read_text().strip()}).",
            f"`uptime` before: `{before}`; after: `{after}`.",
            versions_line("datatrove", "fasttext", "tokenizers", "datasketch", "spacy"),
            "",
            "| pipeline | wall s | CPU s (process tree) | docs/s | docs per CPU s (per core) | peak RSS MB (tree) |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Throughput per core, ours / datatrove: **{ratio:.2f}x** (by CPU seconds; wall: "
            f"{peer['wall'] / ours['wall']:.2f}x).",
            f"Our stage seconds: {', '.join(f'{k} {v:.1f}' for k, v in stats.items() if v is not None)}.",
            "",
            f"- kept after the filters (langid + heuristics): ours {len(ours_filtered):,}, datatrove {len(peer_filtered):,}; "
            f"agreement {agreement(ours_filtered, peer_filtered, args.docs)}",
            f"- kept after MinHash dedup: ours {len(ours_final):,}, datatrove {len(peer_final):,}; "
            f"agreement {agreement(ours_final, peer_final, args.docs)}",
            f"- dedup quality (known copies): groups with more than one survivor: ours {dup_ours:,}, datatrove {dup_peer:,} "
            f"(of them with two survivors at shingle Jaccard >= 0.7: ours {close_ours:,}, datatrove {close_peer:,}); "
            f"groups with every copy removed (near duplicates of another group): ours {lost_ours:,}, datatrove {lost_peer:,}",
            "",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
