"""Inputs on an object store: a real S3 API (moto in server mode on 127.0.0.1) holding JSONL.gz, Parquet and
WARC files (a real crawl WARC with hostile records appended). The whole job reads the bucket directly and its
output equals the output of the same files read from a local folder; the credentials reach no file or log."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.config import parse_config
from pipeline.runner import run_pipeline
from synthetic.hostile import generate_hostile_corpus
from tests.reference_job import ROOT, run_job, stage_outputs

SECRET = "moto-secret-key-that-must-not-leak-0123456789"
BUCKET = "corpus-input"


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on a free loopback port, stopped at the end."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("moto server did not start")
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def _write_inputs(folder: Path) -> None:
    """JSONL.gz, Parquet and WARC files under ``folder``, with a broken JSON line and hostile crawl records."""
    (folder / "email").mkdir(parents=True)
    lines = gzip.decompress((ROOT / "data" / "sample" / "email" / "emails.jsonl.gz").read_bytes()).splitlines()[:60]
    (folder / "email" / "part-0.jsonl.gz").write_bytes(
        gzip.compress(b"\n".join([*lines, b'{"text": "broken']), mtime=0)
    )
    (folder / "wiki").mkdir()
    with gzip.open(ROOT / "data" / "sample" / "wiki" / "handbook.jsonl.gz", "rt", encoding="utf-8") as handle:
        wiki = [json.loads(line) for line in handle][:30]
    table = pa.table({"page_id": [f"wiki-{i}" for i in range(len(wiki))], "text": [row["text"] for row in wiki]})
    pq.write_table(table, folder / "wiki" / "handbook.parquet")
    hostile = generate_hostile_corpus(
        folder.parent / "hostile", seed=3, big_doc_bytes=300_000, max_doc_bytes=200_000, long_line_chars=20_000
    )
    hostile_warc = Path(hostile["out_dir"]) / "warc"
    (folder / "crawl").mkdir()
    real = (ROOT / "data" / "sample" / "crawl" / "sample-0000.warc.gz").read_bytes()
    (folder / "crawl" / "real-with-hostile.warc.gz").write_bytes(real + (hostile_warc / "hostile.warc.gz").read_bytes())
    shutil.copy(hostile_warc / "truncated.warc.gz", folder / "crawl" / "truncated.warc.gz")


def _config(root: str, run_dir: Path, storage: dict) -> dict:
    return {
        "run": {"output_dir": str(run_dir), "partitions": 2, "seed": 5},
        "ingest": {"max_doc_bytes": 200_000, "extract_max_bytes": 100_000},
        "sources": [
            {"name": "email", "format": "jsonl", "paths": [f"{root}/email/*.jsonl.gz"], "storage_options": storage},
            {
                "name": "wiki",
                "format": "parquet",
                "paths": [f"{root}/wiki"],
                "id_field": "page_id",
                "storage_options": storage,
            },
            {"name": "crawl", "format": "warc", "paths": [f"{root}/crawl/"], "storage_options": storage},
        ],
        "stages": {"normalize": {"min_chars": 50}},
        "tokenizer": {"vocab_size": 512, "sample_chars": 100_000},
        "shards": {"shard_size": 20_000, "valid_fraction": 0.1},
    }


def _upload(endpoint: str, folder: Path) -> None:
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key=SECRET
    )
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"inputs/{path.relative_to(folder)}")


def _without_file(rows: list[dict]) -> list[dict]:
    """Rows with the provenance path left out: a local path there, an s3:// URL here."""
    return [{key: value for key, value in row.items() if key != "file"} for row in rows]


@pytest.mark.slow
def test_whole_job_reads_s3_like_a_local_folder(spark, s3_endpoint, tmp_path):
    local = tmp_path / "inputs"
    _write_inputs(local)
    _upload(s3_endpoint, local)

    local_run = tmp_path / "local-run"
    run_pipeline(spark, parse_config(_config(str(local), local_run, {})))

    s3_run = tmp_path / "s3-run"
    config_path = tmp_path / "s3.yaml"
    config = _config(f"s3://{BUCKET}/inputs", s3_run, {"endpoint_url": s3_endpoint})
    config_path.write_text(yaml.safe_dump(config))
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(env)  # for run_job's environment only; removed below
    try:
        job = run_job(config_path, "--master", "local[2]", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log, _ = job.communicate(timeout=900)
    finally:
        for key in env:
            os.environ.pop(key)
    assert job.returncode == 0, log[-3000:]

    local_out, s3_out = stage_outputs(local_run), stage_outputs(s3_run)
    assert local_out["shards"] == s3_out["shards"]  # byte-identical token shards
    for name in ("00_ingest", "01_normalize"):
        assert _without_file(local_out[name]) == _without_file(s3_out[name]), name
    assert any(row["file"].startswith(f"s3://{BUCKET}/inputs/") for row in s3_out["00_ingest"])
    assert {row["id"] for row in s3_out["00_ingest"] if row["source"] == "wiki"} == {f"wiki-{i}" for i in range(30)}

    local_stats = json.loads((local_run / "stages" / "00_ingest" / "stats.json").read_text())
    s3_stats = json.loads((s3_run / "stages" / "00_ingest" / "stats.json").read_text())
    assert s3_stats["reasons"] == local_stats["reasons"]
    assert s3_stats["extra"]["skipped"] == local_stats["extra"]["skipped"]
    read, skipped = s3_stats["extra"]["records_read"], sum(s3_stats["extra"]["skipped"].values())
    assert read == s3_stats["rows_kept"] + s3_stats["rows_rejected"] + skipped
    assert {"ingest:invalid_json", "ingest:corrupt_record", "ingest:truncated_archive", "ingest:too_large"} <= set(
        s3_stats["reasons"]
    )
    quarantine = pq.read_table(s3_run / "quarantine").to_pylist()
    assert {row["file"].rsplit("/", 1)[-1] for row in quarantine} >= {"part-0.jsonl.gz", "truncated.warc.gz"}

    assert SECRET not in log
    for path in s3_run.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
