"""Faults: an executor killed mid-stage on a cluster, an unwritable output directory, a full disk."""

import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import yaml
from pyspark.sql import functions as F

from pipeline.cli import main
from pipeline.resume import StepHash
from pipeline.runner import OutputError, run_stage, writing
from stages.base import Stage
from tests.conftest import ROOT, TEST_JVM_OPTIONS
from tests.reference_job import (
    config_dict,
    run_job,
    scale_config_dict,
    settings_for,
    stage_outputs,
    train_kenlm,
    write_corpus,
    write_scale_corpus,
)

PROGRESS = re.compile(r"\[Stage \d+:[=> ]*\(\d+ \+ (\d+)\) / \d+\]")  # Spark's console bar: (done + running) / all
STANDALONE = ROOT / "scripts" / "spark-standalone.sh"
RERUN_ADVICE = (
    "then rerun the same command (complete stages are kept and skipped; nothing unfinished is marked complete)."
)


def executor_jvms(parents: list[int]) -> list[psutil.Process]:
    """The executor JVMs under the processes ``parents`` (a standalone cluster: children of the worker JVMs)."""
    found = []
    for parent in parents:
        for child in psutil.Process(parent).children(recursive=True):
            try:
                if "org.apache.spark.executor.CoarseGrainedExecutorBackend" in child.cmdline():
                    found.append(child)
            except psutil.Error:  # gone meanwhile
                pass
    return found


def lost_tasks(event_logs: Path) -> list[dict]:
    """The task ends in Spark event logs whose reason is a lost executor."""
    events = [json.loads(line) for path in event_logs.glob("app-*") for line in path.read_text().splitlines()]
    return [
        e
        for e in events
        if e["Event"] == "SparkListenerTaskEnd" and e["Task End Reason"]["Reason"] == "ExecutorLostFailure"
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def standalone_cluster(workers: int):
    """A Spark standalone cluster on loopback (scripts/spark-standalone.sh): its master URL and worker PIDs."""
    try:  # stopped also when the start fails or times out: its processes and PID files would block the next start
        started = subprocess.run(
            ["bash", str(STANDALONE), "start", str(free_port()), str(workers)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, started.stderr
        pids = [int(path.read_text()) for path in sorted((ROOT / ".cache" / "standalone").glob("worker-*.pid"))]
        yield started.stdout.strip().splitlines()[-1], pids
    finally:
        subprocess.run(["bash", str(STANDALONE), "stop"], timeout=60)


def wait_until_both_executors_read(job: subprocess.Popen, chunks: list[str]) -> threading.Thread:
    """Follow the job's stderr into ``chunks``; returns the reader thread, whose ``busy`` event is set once a task
    runs on each executor during ingest (or when the output ends)."""
    busy = threading.Event()

    def follow() -> None:
        # Raw reads: a progress update ends in "\r", which line-based reading holds back until the next one.
        for chunk in iter(lambda: os.read(job.stderr.fileno(), 1 << 16), b""):
            chunks.append(chunk.decode(errors="replace"))
            updates = [u for u in chunks[-1].split("\r") if u.strip()]
            if "[ingest] reading" in "".join(chunks) and updates and sum(map(int, PROGRESS.findall(updates[-1]))) == 2:
                busy.set()
        busy.set()

    reader = threading.Thread(target=follow, daemon=True)
    reader.busy = busy
    reader.start()
    return reader


def event_logged(settings: dict, events: Path) -> dict:
    """``settings`` with Spark's event log written (uncompressed, one file) to ``events``."""
    events.mkdir()
    conf = {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": str(events),
        "spark.eventLog.compress": "false",
        "spark.eventLog.rolling.enabled": "false",
    }
    return {**settings, "spark": {"conf": conf}}


def start_job(settings: dict, config: Path, *args: str, **popen) -> subprocess.Popen:
    config.write_text(yaml.safe_dump(settings))
    return run_job(config, *args, **popen)


@pytest.mark.slow
def test_cluster_run_with_an_executor_killed_mid_stage_equals_the_local_run(tmp_path):
    """The 20,000-document job (perplexity buckets from exact percentiles, MinHash dedup) on a real Spark
    standalone cluster (master + 2 workers on loopback), one executor JVM killed while both run ingest tasks:
    Spark reruns its task on a new executor, and every stage's rows and the sha256 of every shard equal those of
    the same job on local[2], run at the same time (one comparison checks both: cluster and fault)."""
    write_scale_corpus(tmp_path / "in")
    settings = scale_config_dict(tmp_path / "in", tmp_path / "local", train_kenlm(tmp_path / "kenlm"))
    local_log = tmp_path / "local.log"
    lost = event_logged(settings_for({"settings": settings}, tmp_path / "lost"), tmp_path / "events")
    lost["spark"]["conf"]["spark.executor.extraJavaOptions"] = TEST_JVM_OPTIONS  # as every other JVM of the tests
    with standalone_cluster(2) as (master, workers):  # first: its JVMs start faster on an idle machine
        with open(local_log, "w") as log:
            local = start_job(settings, tmp_path / "local.yaml", "--master", "local[2]", stdout=log, stderr=log)
        job = start_job(lost, tmp_path / "lost.yaml", "--master", master, stderr=subprocess.PIPE)
        chunks: list[str] = []
        reader = wait_until_both_executors_read(job, chunks)
        try:
            reader.busy.wait(timeout=400)
            assert job.poll() is None, "".join(chunks)[-3000:]
            executor_jvms(workers)[0].kill()
            assert job.wait(timeout=600) == 0, "".join(chunks)[-3000:]
            assert local.wait(timeout=600) == 0, local_log.read_text()[-3000:]
        finally:
            for process in (job, local):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
        reader.join(timeout=60)
    # Counted as a task failure or not (a task still being launched is not), a lost task is run again.
    assert lost_tasks(tmp_path / "events"), "no task was lost with the executor"
    assert stage_outputs(tmp_path / "lost") == stage_outputs(tmp_path / "local")


@contextmanager
def unwritable(path: Path):
    """``path`` cannot be written, even by root (``chattr +i``; for other users ``chmod a-w`` suffices)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip(f"cannot make {path} immutable with chattr +i")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_unwritable_output_dir_is_reported_before_spark_starts(tmp_path):
    """`corpus run` into a directory nobody may write: one error line, exit code 2, nothing written."""
    write_corpus(tmp_path / "in", n_docs=5)
    run = tmp_path / "run"
    run.mkdir()
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(config_dict(tmp_path / "in", run)))
    with unwritable(run):
        job = run_job(config, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err = job.communicate(timeout=120)[1]
    assert job.returncode == 2, err
    [message] = err.splitlines()
    assert message.startswith(f"error: cannot write the run directory: {run}: ")
    assert "writable for the user running the job" in message and message.endswith(RERUN_ADVICE)
    assert list(run.iterdir()) == []


class KeepsAll(Stage):
    """Keeps every row."""

    name = "keeps_all"

    def apply(self, df, ctx):
        return df.withColumn("reason", F.lit(None).cast("string"))


@pytest.mark.parametrize("target", ["data", "stats.json"])
def test_disk_full_while_moving_a_stage_output_into_place(spark, stage_ctx, tmp_path, monkeypatch, target):
    """ENOSPC injected at the rename of the stage's data or stats: OutputError, stage unmarked, rerun completes."""
    df = spark.createDataFrame([("a", "x" * 10), ("b", "y" * 200)], "id string, text string")
    out, rejects = tmp_path / "stages" / "01_keeps_all", tmp_path / "rejects" / "01_keeps_all"
    replace = os.replace

    def full_disk(src, dst):
        if Path(dst).name == target:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src), None, str(dst))
        replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OutputError) as failed, writing(tmp_path, "stage keeps_all"):
        run_stage(KeepsAll(), df, stage_ctx, out, rejects, StepHash("h", {}), 100, "[test]")
    assert str(failed.value).startswith(f"cannot write stage keeps_all: {tmp_path}/stages/")
    assert "No space left on device. Free space on that disk" in str(failed.value)
    assert not (out / "_SUCCESS").exists() and not (out / "stats.json").exists()
    assert [p.name for p in tmp_path.glob("stages/*")] == ["01_keeps_all"]  # the temporary output is gone
    assert not list(out.glob(".*"))

    monkeypatch.undo()
    outcome = run_stage(KeepsAll(), df, stage_ctx, out, rejects, StepHash("h", {}), 100, "[test]")
    assert not outcome.skipped and outcome.stats["rows_kept"] == 2 and (out / "_SUCCESS").exists()


@contextmanager
def small_disk(path: Path, size: str = "64m"):
    """A tmpfs of ``size`` mounted at ``path`` (needs root)."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: Path) -> Path:
    """Write zeros on ``disk`` until it is full; the filler file."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(bytes(1 << 20))
        except OSError as full:
            assert full.errno == errno.ENOSPC
    return filler


@pytest.fixture
def corpus_run(spark, capfd):
    """`corpus run --config C --master local[2] ...` in this process, on the test session: (exit code, stderr)."""
    partitions = spark.conf.get("spark.sql.shuffle.partitions")

    def run(config: Path, *extra: str) -> tuple[int, str]:
        code = main(["run", "--config", str(config), "--master", "local[2]", *extra])
        return code, capfd.readouterr().err

    yield run
    spark.conf.set("spark.sql.shuffle.partitions", partitions)


def failed_dedup(code: int, err: str, run: Path, what: str = "stage dedup_minhash") -> str:
    """The CLI's one error paragraph, after checking that ``what`` could not be written and dedup_minhash
    was left with nothing marked."""
    assert code == 2, err[-3000:]
    assert "Traceback" not in err and "Py4JJavaError" not in err
    [message] = [line for line in err.splitlines() if line.startswith("error:")]
    assert message.startswith(f"error: cannot write {what}: {run}") and message.endswith(RERUN_ADVICE)
    dedup = run / "stages" / "07_dedup_minhash"
    assert not any((dedup / name).exists() for name in ("_SUCCESS", "stats.json", "data"))
    assert all((run / "stages" / name / "_SUCCESS").exists() for name in ("00_ingest", "01_normalize"))
    assert not list(run.glob("**/.tmp-*"))
    return message


@pytest.mark.slow
def test_full_disk_then_unwritable_stages_fail_clearly_and_the_rerun_resumes(reference_run, tmp_path, corpus_run):
    """A real full disk (tmpfs) and then an immutable stage folder under dedup_minhash; then the run resumes."""
    with small_disk(tmp_path / "disk") as disk:
        run = disk / "run"
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump(settings_for(reference_run, run)))
        assert corpus_run(config, "--stop-after", "normalize")[0] == 0
        before = {name: (run / "stages" / name / "stats.json").read_text() for name in ("00_ingest", "01_normalize")}

        filler = fill(disk)  # not even the run lock fits: the job stops before any work
        message = failed_dedup(*corpus_run(config), run, what="the run lock")
        assert "No space left on device. Free space on that disk" in message
        filler.unlink()

        dedup = run / "stages" / "07_dedup_minhash"  # its stats and marker; its data goes to the work area
        dedup.mkdir(exist_ok=True)
        with unwritable(dedup):
            message = failed_dedup(*corpus_run(config), run)
        assert f"{dedup}/" in message and "Make that directory" in message

        code, err = corpus_run(config)
        assert code == 0, err[-3000:]
        assert {name: (run / "stages" / name / "stats.json").read_text() for name in before} == before  # skipped
        assert stage_outputs(run) == reference_run["outputs"]
