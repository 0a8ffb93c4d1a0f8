"""The same job on a real Spark standalone cluster (master + 2 workers on loopback) gives the local output."""
import socket
import subprocess

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_runner import config_dict, run_job, stage_outputs, write_corpus


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_standalone_cluster_output_equals_local_run(tmp_path):
    write_corpus(tmp_path / "in", n_docs=150)
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    for run in (local, cluster):
        (tmp_path / f"{run.name}.yaml").write_text(yaml.safe_dump(config_dict(tmp_path / "in", run)))
    script = ROOT / "scripts" / "spark-standalone.sh"
    started = subprocess.run(["bash", str(script), "start", str(free_port()), "2"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    master = started.stdout.strip().splitlines()[-1]
    try:
        assert run_job(tmp_path / "cluster.yaml", "--master", master).wait(timeout=400) == 0
    finally:
        subprocess.run(["bash", str(script), "stop"], timeout=60)
    assert run_job(tmp_path / "local.yaml", "--master", "local[2]").wait(timeout=400) == 0
    assert stage_outputs(cluster) == stage_outputs(local)
