"""The small corpus and job runner shared by the end-to-end tests (reference run, faults, clusters)."""

import copy
import hashlib
import json
import os
import random
import re
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


def settings_for(reference: dict, out: Path) -> dict:
    """A reference run's settings, writing to ``out`` instead."""
    settings = copy.deepcopy(reference["settings"])
    settings["run"]["output_dir"] = str(out)
    return settings


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


def write_scale_corpus(folder: Path, n_docs: int = 20_000, seed: int = 0) -> None:
    """``n_docs`` English documents of 1-3 real sentences (the bundled Gutenberg sample) in 4 files, one in
    20 a near-copy of an earlier one: enough documents that anything depending on how the input is split
    (approximate quantiles, merges in arrival order) would show in the shards."""
    from model_training.inputs import read_texts

    text = " ".join(read_texts(ROOT / "data/train/en/gutenberg.txt.gz"))
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 40 <= len(s.strip()) <= 300]
    rng = random.Random(seed)
    docs: list[str] = []
    for _ in range(n_docs):
        if docs and rng.random() < 0.05:
            words = rng.choice(docs).split()
            del words[rng.randrange(len(words))]
            docs.append(" ".join(words))
        else:
            docs.append(" ".join(rng.sample(sentences, rng.randint(1, 3))))
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(4):
        with open(folder / f"web-{part}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps({"text": doc}) + "\n" for doc in docs[part::4])


def scale_config_dict(inputs: Path, out: Path, kenlm_model: Path) -> dict:
    """The reference job at scale: perplexity buckets from exact corpus percentiles (tail rejected) and
    MinHash dedup, the two steps whose results a partition-dependent computation would change.

    The tail starts at the 95th percentile, not cc_net's 60th: each reject's text is scrubbed with NER before
    it is published, twice here (cluster and local run), and from the 60th on 7,781 documents were rejected
    (from the 95th: 972). Both cut-offs are still exact percentiles of the corpus that decide rows: the 60th
    puts each kept document in head or middle (``pp_bucket``), the 95th rejects."""
    settings = config_dict(inputs, out)
    settings["sources"] = [{"name": "web", "format": "jsonl", "paths": [str(inputs / "web-*.jsonl")]}]
    settings["stages"] = {
        "normalize": {},
        "langid": {},
        "perplexity": {
            "models": {"en": str(kenlm_model)},
            "percentiles": [60.0, 95.0],
            "keep_buckets": ["head", "middle"],
        },
        "dedup_minhash": {},
    }
    settings["shards"] = {"shard_size": 100_000, "valid_fraction": 0.05}
    return settings


def train_kenlm(folder: Path) -> Path:
    """A 3-gram English KenLM model on the bundled Gutenberg sample, through the training job."""
    from jobs.train_kenlm import main as train_kenlm_main

    kenlm = {"languages": {"en": [str(ROOT / "data/train/en/gutenberg.txt.gz")]}, "output_dir": str(folder)}
    config = {"train": {"kenlm": {**kenlm, "order": 3, "memory": "64M", "devset": None}}}
    (folder / "kenlm.yaml").parent.mkdir(parents=True, exist_ok=True)
    (folder / "kenlm.yaml").write_text(json.dumps(config), encoding="utf-8")
    assert train_kenlm_main(["--config", str(folder / "kenlm.yaml")]) == 0
    return folder / "en.binary"
