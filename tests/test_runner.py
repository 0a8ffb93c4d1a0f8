"""The frame end to end: run directory, accounting, resume, kill-and-rerun, separate executors."""

import os
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main
from pipeline.config import parse_config
from pipeline.resume import StepHash
from pipeline.runner import AccountingError, OutputError, prepare_output_dir, run_pipeline, run_stage
from stages.base import Stage
from tests.reference_job import config_dict, read_rows, run_job, settings_for, stage_outputs, write_corpus


def test_run_directory_accounting_and_resume(spark, tmp_path, caplog):
    write_corpus(tmp_path / "in")
    out = tmp_path / "run"
    config = parse_config(config_dict(tmp_path / "in", out))
    first = run_pipeline(spark, config)
    assert [o.name for o in first] == ["ingest", "normalize", "dedup_minhash"] and not any(o.skipped for o in first)
    for name in (
        "config.resolved.yaml",
        "config.hash",
        "summary.json",
        "tokenizer/tokenizer.json",
        "shards/manifest.json",
        "stages/00_ingest/_SUCCESS",
        "stages/01_normalize/stats.json",
        "quarantine",
        "rejects/01_normalize",
    ):
        assert (out / name).exists(), name
    ingest, normalize, _ = (o.stats for o in first)
    assert ingest["rows_in"] == 63 and ingest["rows_kept"] == 62 and ingest["reasons"] == {"ingest:invalid_json": 1}
    assert normalize["rows_in"] == 62 and normalize["reasons"] == {"normalize:too_short": 1}
    assert normalize["rows_kept"] + normalize["rows_rejected"] == normalize["rows_in"]
    quarantine = read_rows(out / "quarantine")
    assert [(q["file"].endswith("web.jsonl"), q["line"], q["reason"]) for q in quarantine] == [
        (True, 61, "ingest:invalid_json")
    ]
    assert f"[ingest] quarantined 1 x ingest:invalid_json, first at {tmp_path / 'in' / 'web.jsonl'}:61 (" in caplog.text
    rejected = read_rows(out / "rejects" / "01_normalize")
    assert [r["reason"] for r in rejected] == ["normalize:too_short"]

    again = run_pipeline(spark, config)
    assert all(o.skipped for o in again)

    changed = parse_config(config_dict(tmp_path / "in", out, min_chars=300))
    third = run_pipeline(spark, changed)
    assert [o.skipped for o in third] == [True, False, False]
    assert third[1].stats["rows_kept"] < normalize["rows_kept"]

    reseeded = config_dict(tmp_path / "in", out, min_chars=300)
    reseeded["run"]["seed"] = 8  # sampling and tie-breaking change: every stage after ingest reruns
    assert [o.skipped for o in run_pipeline(spark, parse_config(reseeded), stop_after="normalize")] == [True, False]
    (tmp_path / "in" / "books" / "extra.txt").write_text("A book added after the first run. " * 5)
    added = run_pipeline(spark, parse_config(reseeded), stop_after="normalize")
    assert [o.skipped for o in added] == [False, False] and added[0].stats["rows_kept"] == ingest["rows_kept"] + 1

    eval_set = tmp_path / "eval.txt"  # a stage's own input file: an edited eval set reruns decontaminate
    eval_set.write_text("an evaluation example that shares nothing with the generated documents\n")
    reseeded["stages"]["decontaminate"] = {"eval_sets": {"held_out": str(eval_set)}}
    first_eval = run_pipeline(spark, parse_config(reseeded), stop_after="decontaminate")
    assert [o.name for o in first_eval][-1] == "decontaminate" and not first_eval[-1].skipped
    eval_set.write_text("another evaluation example, longer than the first one, again unrelated\n")
    assert [o.skipped for o in run_pipeline(spark, parse_config(reseeded), stop_after="decontaminate")] == [
        True,
        True,
        True,
        False,
    ]


def test_an_output_folder_of_something_else_is_refused(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("not a run")
    with pytest.raises(OutputError, match="is not empty and was not written by this tool"):
        prepare_output_dir(project, "the run directory")
    assert sorted(p.name for p in project.iterdir()) == ["README.md"]
    prepare_output_dir(tmp_path / "new", "the run directory")
    (tmp_path / "new" / "data").mkdir()
    prepare_output_dir(tmp_path / "new", "the run directory")  # written by this tool: taken again
    assert (tmp_path / "new" / ".corpus-output").exists()


def test_missing_model_and_bad_stop_after_fail_before_any_work(spark, tmp_path):
    from core.errors import ConfigError
    from filters.model_files import ModelFileError

    write_corpus(tmp_path / "in", n_docs=5)
    out = tmp_path / "run"
    raw = config_dict(tmp_path / "in", out)
    raw["stages"]["perplexity"] = {"models": {"en": str(tmp_path / "missing.arpa")}}
    with pytest.raises(ModelFileError, match="missing.arpa"):
        run_pipeline(spark, parse_config(raw))
    assert not out.exists(), "nothing was read or written"
    with pytest.raises(
        ConfigError,
        match="--stop-after 'dedup' is not a stage of this run; choose one of: ingest, "
        "normalize, perplexity, dedup_minhash",
    ):
        run_pipeline(spark, parse_config(raw), stop_after="dedup")
    ingest_only = run_pipeline(spark, parse_config(raw), stop_after="ingest")  # the model is not needed yet
    assert [o.name for o in ingest_only] == ["ingest"] and not (out / "stages" / "01_normalize").exists()


def test_no_documents_left_is_one_clear_error_naming_the_stage(spark, tmp_path, capsys):
    write_corpus(tmp_path / "in", n_docs=10)
    out = tmp_path / "run"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(config_dict(tmp_path / "in", out, min_chars=100_000)))
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no documents left after the last stage") and err.count("\n") == 1
    assert "normalize 12 (normalize:too_short 12)" in err and "ingest 1 (ingest:invalid_json 1)" in err
    assert (out / "summary.json").exists() and (out / "stages" / "01_normalize" / "_SUCCESS").exists()
    assert not (out / "tokenizer").exists() and not (out / "shards").exists()


class LosesRows(Stage):
    name = "loses_rows"

    def apply(self, df, ctx):
        from pyspark.sql import functions as F

        return df.where("length(text) > 100").withColumn("reason", F.lit(None).cast("string"))


def test_accounting_error_when_a_stage_drops_rows_silently(spark, stage_ctx, tmp_path):
    df = spark.createDataFrame([("a", "x" * 10), ("b", "y" * 200)], "id string, text string")
    with pytest.raises(AccountingError, match="rows_in 2 != kept 1 \\+ rejected 0"):
        run_stage(LosesRows(), df, stage_ctx, tmp_path / "s", tmp_path / "r", StepHash("h", {}), 100, "[test]")
    assert not (tmp_path / "s" / "_SUCCESS").exists()


def write_config_for(reference_run: dict, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings_for(reference_run, tmp_path / name)))
    return path


@pytest.mark.slow
def test_killed_job_resumes_to_identical_output(reference_run, tmp_path):
    """A second job on a busy run directory stops at once naming the owner; after the owner is killed,
    its stale lock is taken over and the rerun resumes to the reference output."""
    killed = tmp_path / "killed"
    config = write_config_for(reference_run, tmp_path, "killed")

    job = run_job(config, "--master", "local[2]", stderr=subprocess.PIPE, text=True)
    for line in job.stderr:
        if "normalize] start" in line:
            os.killpg(job.pid, signal.SIGSTOP)  # frozen inside normalize, still holding its lock (no race)
            second = run_job(config, "--master", "local[2]", stderr=subprocess.PIPE, text=True)
            refused = second.communicate(timeout=120)[1]
            os.killpg(job.pid, signal.SIGKILL)
            break
    job.wait(timeout=60)
    assert job.returncode == -signal.SIGKILL
    assert second.returncode == 2, refused[-3000:]
    assert "is in use by another job (user " in refused and f"pid {job.pid}," in refused
    assert "Traceback" not in refused
    assert (killed / "stages/00_ingest/_SUCCESS").exists()
    assert not (killed / "stages/01_normalize/_SUCCESS").exists()

    rerun = run_job(config, "--master", "local[2]", stderr=subprocess.PIPE, text=True)
    log = rerun.communicate(timeout=300)[1]
    assert rerun.returncode == 0, log[-3000:]
    assert "taking over the stale lock" in log
    assert "complete up to ingest with its data" in log
    assert stage_outputs(killed) == reference_run["outputs"]
    assert not (killed / ".corpus-lock").exists()
