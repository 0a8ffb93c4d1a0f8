"""Run safety: the output-folder lock, resume hashes that cannot skip wrongly, atomic outputs."""

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.lock import LOCK_FILE, LockedError, folder_lock


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_lock(folder, **holder):
    (folder / LOCK_FILE).write_text(json.dumps({"user": "someone", "started": "2026-01-01T00:00:00+00:00", **holder}))


def test_lock_is_taken_released_and_reentrant_in_its_process(tmp_path):
    with folder_lock(tmp_path) as owner:
        assert json.loads((tmp_path / LOCK_FILE).read_text()) == owner
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with folder_lock(tmp_path):  # the CLI holds it, then the runner asks again
            pass
        assert (tmp_path / LOCK_FILE).exists()
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_live_owner_keeps_the_lock_and_is_named(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_lock(tmp_path, host=socket.gethostname(), pid=owner.pid)
        expected = rf"in use by another job \(user someone, host .*, pid {owner.pid},"
        with pytest.raises(LockedError, match=expected), folder_lock(tmp_path):
            pass
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == owner.pid
    finally:
        owner.kill()


def test_a_dead_owners_lock_is_taken_over_with_a_log_line(tmp_path, caplog):
    pid = dead_pid()
    write_lock(tmp_path, host=socket.gethostname(), pid=pid)
    with folder_lock(tmp_path) as owner:
        assert owner["pid"] == os.getpid()
    assert f"taking over the stale lock {tmp_path / LOCK_FILE} of process {pid}" in caplog.text


def test_a_lock_from_another_host_is_never_guessed_stale(tmp_path):
    write_lock(tmp_path, host="other-machine.example", pid=dead_pid())
    expected = "host other-machine.example.*remove .*corpus-lock and rerun"
    with pytest.raises(LockedError, match=expected), folder_lock(tmp_path):
        pass


def test_a_half_written_lock_counts_as_stale(tmp_path):
    (tmp_path / LOCK_FILE).write_text('{"user": "x", "ho')
    with folder_lock(tmp_path):
        pass
    assert not (tmp_path / LOCK_FILE).exists()


# ---------------------------------------------------------------------------------------------
# Resume that cannot skip wrongly
# ---------------------------------------------------------------------------------------------


def small_run(tmp_path, **run):
    from pipeline.config import parse_config
    from tests.reference_job import config_dict, write_corpus

    write_corpus(tmp_path / "in", n_docs=20)
    raw = config_dict(tmp_path / "in", tmp_path / "run")
    raw["run"].update(run)
    raw["stages"] = {"normalize": {"min_chars": 20}, "pii": {"entities": {"PERSON": {"mode": "hash"}}}}
    return raw, parse_config


def test_inspect_names_the_part_of_the_hash_that_changed(spark, tmp_path, monkeypatch):
    """A library upgrade, a rotated PII salt and a config key each rerun what they decide, and `corpus
    inspect` says which; the salt itself is never written."""
    from pipeline import resume
    from pipeline.runner import run_pipeline

    monkeypatch.setenv("PII_HASH_SALT", "first secret salt")
    raw, parse = small_run(tmp_path)
    run_dir = tmp_path / "run"
    run_pipeline(spark, parse(raw), stop_after="pii")
    assert all(why == "up to date: skipped" for _, why in resume.explain_reruns(run_dir, parse(raw))[:3])
    assert "first secret salt" not in "".join(p.read_text() for p in run_dir.rglob("*.json"))

    monkeypatch.setenv("PII_HASH_SALT", "rotated salt")
    assert dict(resume.explain_reruns(run_dir, parse(raw)))["pii"] == "reruns: changed environment"

    real_version = resume._version
    monkeypatch.setattr(resume, "_version", lambda name: "99.0" if name == "presidio-analyzer" else real_version(name))
    assert dict(resume.explain_reruns(run_dir, parse(raw)))["pii"] == "reruns: changed libraries, environment"

    monkeypatch.setattr(resume, "_version", real_version)
    monkeypatch.setenv("PII_HASH_SALT", "first secret salt")
    raw["stages"]["normalize"]["min_chars"] = 25
    explained = dict(resume.explain_reruns(run_dir, parse(raw)))
    assert explained["ingest"] == "up to date: skipped"
    assert explained["normalize"] == "reruns: changed config (min_chars)"
    assert explained["pii"] == "reruns: an earlier step changed"
    monkeypatch.setattr(resume, "_version", lambda name: "0.0" if name == "corpus-pipeline" else real_version(name))
    assert dict(resume.explain_reruns(run_dir, parse(raw)))["ingest"] == "reruns: changed libraries"


def test_content_fingerprint_sees_a_same_size_copy_with_preserved_times(spark, tmp_path):
    """stat mode cannot see a file replaced by one of the same size and modification time; content mode does,
    and checksums only what changed."""
    from pipeline.config import SourceConfig
    from pipeline.resume import input_files

    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "first version of the document"}\n')
    stat = os.stat(data)
    source = SourceConfig(name="web", format="jsonl", paths=[str(data)])
    cache = tmp_path / "checksums.json"
    before = {mode: input_files(spark, [source], mode, cache) for mode in ("stat", "content")}

    data.write_text('{"text": "other version of the document"}\n')  # same size
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = {mode: input_files(spark, [source], mode, cache) for mode in ("stat", "content")}
    assert after["stat"] == before["stat"]
    assert after["content"] != before["content"]
    assert json.loads(cache.read_text())[str(data)]["stat"][:2] == [stat.st_size, stat.st_mtime_ns]


# ---------------------------------------------------------------------------------------------
# Outputs that are all-or-nothing
# ---------------------------------------------------------------------------------------------


def test_a_step_is_flushed_to_disk_before_its_marker(tmp_path, monkeypatch):
    from core import durable
    from pipeline.resume import SUCCESS, finish

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "part-0.parquet").write_bytes(b"rows")
    flushed = []
    real_fsync = durable.fsync_path

    def recording(path):
        flushed.append((Path(path).name, (tmp_path / SUCCESS).exists()))
        real_fsync(path)

    monkeypatch.setattr(durable, "fsync_path", recording)
    finish(tmp_path, {"config_hash": "h"})
    assert ("part-0.parquet", False) in flushed and ("data", False) in flushed
    assert (tmp_path / SUCCESS).exists() and not list(tmp_path.glob(".*.tmp"))


# ---------------------------------------------------------------------------------------------
# Safe network defaults
# ---------------------------------------------------------------------------------------------


def test_an_embedded_session_listens_on_loopback_only(tmp_path):
    """The driver and its web UI of an embedded local session bind to 127.0.0.1 (Spark's UI would
    otherwise bind every interface); under spark-submit or on a cluster the UI is off unless configured."""
    from pipeline.spark import safe_network_conf

    probe = (
        "import psutil, os\n"
        "from pipeline.spark import get_spark\n"
        "s = get_spark('probe', 'local[1]', {'spark.ui.enabled': 'true', 'spark.ui.port': '0'})\n"
        "ports = {int(s.sparkContext.uiWebUrl.rsplit(':', 1)[1])}\n"
        "listening = [c.laddr for p in [psutil.Process(), *psutil.Process().children(recursive=True)]\n"
        "             for c in p.net_connections('tcp') if c.status == 'LISTEN']\n"
        "loopback = {'127.0.0.1', '::ffff:127.0.0.1', '::1'}\n"
        "print(bool(listening) and {a.ip for a in listening} <= loopback, ports <= {a.port for a in listening})\n"
        "s.stop()\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_LOCAL_IP", "PYSPARK_GATEWAY_PORT")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "True True"
    assert safe_network_conf("spark://head:7077", True, {}) == {"spark.ui.enabled": "false"}
    assert safe_network_conf(None, False, {"spark.ui.enabled": "true"}) == {}


def test_tokenizer_and_shards_are_installed_together(spark, tmp_path, monkeypatch):
    """A failed shards write leaves the old tokenizer and shards in place and marked; a good rerun installs
    the new pair, whose manifest names the tokenizer it was written with."""
    from pipeline import resume
    from pipeline.runner import OutputError, run_pipeline
    from trainer_output import shards

    raw, parse = small_run(tmp_path)
    raw["stages"] = {"normalize": {"min_chars": 20}}
    run_dir = tmp_path / "run"
    run_pipeline(spark, parse(raw))
    before = {p: p.read_bytes() for p in sorted(run_dir.glob("tokenizer/*")) + sorted(run_dir.glob("shards/**/*"))
              if p.is_file()}  # fmt: skip

    raw["tokenizer"]["vocab_size"] = 640

    def fails(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shards, "write_shards", fails)
    with pytest.raises(OutputError, match="cannot write the tokenizer and shards"):
        run_pipeline(spark, parse(raw))
    after = {p: p.read_bytes() for p in before}
    assert after == before and not list(run_dir.glob(".tmp-*"))
    assert all(why == "up to date: skipped" for _, why in resume.explain_reruns(run_dir, parse({**raw, "tokenizer":
               {**raw["tokenizer"], "vocab_size": 512}}))[-2:])  # fmt: skip

    monkeypatch.undo()
    run_pipeline(spark, parse(raw))
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    old_stats = json.loads(before[run_dir / "tokenizer" / "stats.json"])
    assert json.loads((run_dir / "tokenizer" / "stats.json").read_text())["config_hash"] != old_stats["config_hash"]
    assert manifest["tokenizer"]["path"] == "tokenizer/tokenizer.json"

    assert (
        manifest["tokenizer"]["sha256"]
        == hashlib.sha256((run_dir / "tokenizer/tokenizer.json").read_bytes()).hexdigest()
    )
