"""The small corpus and job runner shared by the end-to-end tests (reference run, faults, clusters)."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]

WORDS = "the quick brown fox jumps over lazy dogs while seven wizards quietly judge boxing matches".split()


def write_corpus(folder: Path, n_docs: int = 60) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "web.jsonl", "w", encoding="utf-8") as f:
        for i in range(n_docs):
            words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(20 + i % 40)]
            f.write(json.dumps({"text": f"Document {i}: " + " ".join(words) + "."}) + "\n")
        f.write('{"text": "broken\n')
        f.write(json.dumps({"text": "short"}) + "\n")
    (folder / "books").mkdir(exist_ok=True)
    (folder / "books" / "zh.txt").write_text("这是一本中文书。" * 20, encoding="utf-8")


def config_dict(inputs: Path, out: Path, min_chars: int = 20) -> dict:
    return {
        "run": {"output_dir": str(out), "partitions": 3, "seed": 7},
        "sources": [
            {"name": "web", "format": "jsonl", "paths": [str(inputs / "web.jsonl")]},
            {"name": "books", "format": "text", "paths": [str(inputs / "books")]},
        ],
        "stages": {"normalize": {"min_chars": min_chars}, "dedup_minhash": {}},
        "tokenizer": {"vocab_size": 512, "sample_chars": 200000},
        "shards": {"shard_size": 2000, "valid_fraction": 0.1},
    }


def read_rows(path: Path) -> list[dict]:
    table = pq.read_table(path)
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def run_job(config_path: Path, *extra: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "jobs" / "build_corpus.py"), "--config", str(config_path), *extra],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        **popen,
    )


def stage_outputs(run: Path) -> dict[str, object]:
    """Every stage's rows, and the exact bytes (sha256) of every token shard."""
    outputs: dict[str, object] = {
        path.parent.name if path.name == "data" else path.name: read_rows(path)
        for path in sorted([*run.glob("stages/*/data"), *run.glob("work/stages/*/data"), *run.glob("rejects/*")])
    }
    outputs["shards"] = {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.glob("shards/*/*"))
        if p.suffix in (".bin", ".idx")
    }
    assert outputs["shards"], f"no shards written in {run}"
    return outputs
