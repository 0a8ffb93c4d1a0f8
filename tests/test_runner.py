"""The frame end to end: run directory, accounting, resume, kill-and-rerun, separate executors."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.config import parse_config
from pipeline.runner import AccountingError, run_pipeline, run_stage
from stages.base import Stage
from tests.conftest import ROOT

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


def test_run_directory_accounting_and_resume(spark, tmp_path):
    write_corpus(tmp_path / "in")
    out = tmp_path / "run"
    config = parse_config(config_dict(tmp_path / "in", out))
    first = run_pipeline(spark, config)
    assert [o.name for o in first] == ["ingest", "normalize", "dedup_minhash"] and not any(o.skipped for o in first)
    for name in ("config.resolved.yaml", "config.hash", "summary.json", "tokenizer/tokenizer.json", "shards/manifest.json", "stages/00_ingest/_SUCCESS",
                 "stages/01_normalize/stats.json", "quarantine", "rejects/01_normalize"):
        assert (out / name).exists(), name
    ingest, normalize, _ = (o.stats for o in first)
    assert ingest["rows_in"] == 63 and ingest["rows_kept"] == 62 and ingest["reasons"] == {"ingest:invalid_json": 1}
    assert normalize["rows_in"] == 62 and normalize["reasons"] == {"normalize:too_short": 1}
    assert normalize["rows_kept"] + normalize["rows_rejected"] == normalize["rows_in"]
    quarantine = read_rows(out / "quarantine")
    assert [(q["file"].endswith("web.jsonl"), q["line"], q["reason"]) for q in quarantine] == [
        (True, 61, "ingest:invalid_json")]
    rejected = read_rows(out / "rejects" / "01_normalize")
    assert [r["reason"] for r in rejected] == ["normalize:too_short"]

    again = run_pipeline(spark, config)
    assert all(o.skipped for o in again)

    changed = parse_config(config_dict(tmp_path / "in", out, min_chars=300))
    third = run_pipeline(spark, changed)
    assert [o.skipped for o in third] == [True, False, False]
    assert third[1].stats["rows_kept"] < normalize["rows_kept"]


class LosesRows(Stage):
    name = "loses_rows"

    def apply(self, df, ctx):
        from pyspark.sql import functions as F

        return df.where("length(text) > 100").withColumn("reason", F.lit(None).cast("string"))


def test_accounting_error_when_a_stage_drops_rows_silently(spark, stage_ctx, tmp_path):
    df = spark.createDataFrame([("a", "x" * 10), ("b", "y" * 200)], "id string, text string")
    with pytest.raises(AccountingError, match="rows_in 2 != kept 1 \\+ rejected 0"):
        run_stage(LosesRows(), df, stage_ctx, tmp_path / "s", tmp_path / "r", "h", 100, "[test]")
    assert not (tmp_path / "s" / "_SUCCESS").exists()


def run_job(config_path: Path, *extra: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    return subprocess.Popen([sys.executable, str(ROOT / "jobs" / "build_corpus.py"), "--config", str(config_path), *extra],
                            cwd=ROOT, env=env, start_new_session=True, **popen)


def stage_outputs(run: Path) -> dict[str, object]:
    """Every stage's rows, and the exact bytes (sha256) of every token shard."""
    outputs: dict[str, object] = {path.parent.name if path.name == "data" else path.name: read_rows(path)
                                  for path in sorted(list(run.glob("stages/*/data")) + list(run.glob("rejects/*")))}
    outputs["shards"] = {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
                         for p in sorted(run.glob("shards/*/*")) if p.suffix in (".bin", ".idx")}
    assert outputs["shards"], f"no shards written in {run}"
    return outputs


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """One uninterrupted local[2] run that the fault and cluster tests compare against."""
    root = tmp_path_factory.mktemp("reference")
    write_corpus(root / "in", n_docs=200)
    (root / "reference.yaml").write_text(yaml.safe_dump(config_dict(root / "in", root / "run")))
    assert run_job(root / "reference.yaml", "--master", "local[2]").wait(timeout=400) == 0
    return {"inputs": root / "in", "outputs": stage_outputs(root / "run")}


def write_config_for(reference_run: dict, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config_dict(reference_run["inputs"], tmp_path / name)))
    return path


@pytest.mark.slow
def test_killed_job_resumes_to_identical_output(reference_run, tmp_path):
    killed = tmp_path / "killed"
    config = write_config_for(reference_run, tmp_path, "killed")

    job = run_job(config, "--master", "local[2]", stderr=subprocess.PIPE, text=True)
    for line in job.stderr:
        if "normalize] start" in line:
            os.killpg(job.pid, signal.SIGKILL)
            break
    job.wait(timeout=60)
    assert job.returncode == -signal.SIGKILL
    assert (killed / "stages/00_ingest/_SUCCESS").exists()
    assert not (killed / "stages/01_normalize/_SUCCESS").exists()

    rerun = run_job(config, "--master", "local[2]", stderr=subprocess.PIPE, text=True)
    log = rerun.communicate(timeout=300)[1]
    assert rerun.returncode == 0, log[-3000:]
    assert "[ingest] complete already" in log
    assert stage_outputs(killed) == reference_run["outputs"]


@pytest.mark.slow
def test_separate_executor_processes_give_identical_output(reference_run, tmp_path):
    config = write_config_for(reference_run, tmp_path, "cluster")
    assert run_job(config, "--master", "local-cluster[2,1,1024]").wait(timeout=400) == 0
    assert stage_outputs(tmp_path / "cluster") == reference_run["outputs"]
    assert reference_run["outputs"]["01_normalize"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_standalone_cluster_output_equals_local_run(reference_run, tmp_path):
    """The same job on a real Spark standalone cluster (master + 2 workers on loopback)."""
    config = write_config_for(reference_run, tmp_path, "standalone")
    script = ROOT / "scripts" / "spark-standalone.sh"
    started = subprocess.run(["bash", str(script), "start", str(free_port()), "2"], capture_output=True, text=True,
                             timeout=120)
    assert started.returncode == 0, started.stderr
    master = started.stdout.strip().splitlines()[-1]
    try:
        assert run_job(config, "--master", master).wait(timeout=400) == 0
    finally:
        subprocess.run(["bash", str(script), "stop"], timeout=60)
    assert stage_outputs(tmp_path / "standalone") == reference_run["outputs"]
