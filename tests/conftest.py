"""Shared fixtures: one Spark session for the whole test run, and a stage context."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # transformers must load local files only
# Every JVM the tests start (this session's, each job's and `spark-submit`'s driver, the standalone cluster's
# master and workers) lives seconds to minutes: C1-compiled code and the serial collector spend about a third
# less CPU there than the default C2 compiler and parallel G1 threads, with the same results.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
os.environ.setdefault("SPARK_SUBMIT_OPTS", TEST_JVM_OPTIONS)
os.environ.setdefault("SPARK_DAEMON_JAVA_OPTS", TEST_JVM_OPTIONS)


@pytest.fixture(scope="session")
def spark():
    from pipeline.spark import get_spark

    session = get_spark(
        "corpus-tests",
        master="local[2]",
        conf={
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": "2g",
        },
    )
    yield session
    session.stop()


@pytest.fixture
def stage_ctx(spark, tmp_path):
    from stages.base import StageContext

    return StageContext(spark=spark, seed=1234, partitions=2, scratch_dir=tmp_path / "scratch")


def shared_data(*parts: str) -> Path:
    """Path into ../shared/data; the test is skipped with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def _reference(root: Path, settings: dict) -> dict:
    """Run the job once on local[2]; the outputs and the settings (to rerun elsewhere) for comparisons."""
    import yaml

    from tests.reference_job import run_job, stage_outputs

    (root / "reference.yaml").write_text(yaml.safe_dump(settings))
    assert run_job(root / "reference.yaml", "--master", "local[2]").wait(timeout=900) == 0
    return {"inputs": root / "in", "settings": settings, "outputs": stage_outputs(root / "run")}


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """One uninterrupted local[2] run of the small job that the fault and resume tests compare against."""
    from tests.reference_job import config_dict, write_corpus

    root = tmp_path_factory.mktemp("reference")
    write_corpus(root / "in", n_docs=200)
    return _reference(root, config_dict(root / "in", root / "run"))
