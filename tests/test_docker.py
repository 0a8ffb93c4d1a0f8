"""No Docker engine runs here: lint the image and compose files instead."""

import re

import yaml

from tests.conftest import ROOT


def test_dockerfile_installs_pinned_project_and_kenlm():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert text.startswith("#") and re.search(r"^FROM python:3\.11", text, re.M)
    assert "openjdk-17-jre-headless" in text and "requirements.txt" in text
    assert "scripts/build_kenlm.sh" in text
    assert re.search(r'^ENTRYPOINT \["spark-submit", "jobs/build_corpus.py"\]', text, re.M)
    for copied in re.findall(r"^COPY (\S+) ", text, re.M):
        for name in copied.split():
            assert name == "." or (ROOT / name).exists(), name


def test_compose_has_master_two_workers_and_a_submitter():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"spark-master", "spark-worker-1", "spark-worker-2", "submit"}
    assert "org.apache.spark.deploy.master.Master" in services["spark-master"]["entrypoint"]
    for worker in ("spark-worker-1", "spark-worker-2"):
        assert "spark://spark-master:7077" in services[worker]["entrypoint"]
    submit = services["submit"]
    assert submit["entrypoint"][:3] == ["spark-submit", "--master", "spark://spark-master:7077"]
    assert "corpus-data" in compose["volumes"]
    assert all("corpus-data:/data" in service["volumes"] for service in services.values())


def test_image_runs_as_an_unprivileged_user():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert text.rindex("USER ") < text.index("ENTRYPOINT")


def test_compose_authenticates_and_publishes_the_ui_on_loopback_only():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    environment = compose["x-corpus"]["environment"]
    assert environment["SPARK_AUTH_SECRET"].startswith("${SPARK_AUTH_SECRET:?")  # no default secret
    for opts in ("SPARK_MASTER_OPTS", "SPARK_WORKER_OPTS"):
        assert "-Dspark.authenticate=true" in environment[opts]
    submit = compose["services"]["submit"]["entrypoint"]
    assert "spark.authenticate=true" in submit and "spark.authenticate.secret=${SPARK_AUTH_SECRET}" in submit
    for service in compose["services"].values():
        assert all(str(port).startswith("127.0.0.1:") for port in service.get("ports", []))
