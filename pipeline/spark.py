"""The Spark session factory: honours spark-submit, falls back to embedded local Spark."""

from __future__ import annotations

import os
import shutil
import sys

from pyspark.sql import SparkSession

from core.errors import CorpusError

DEFAULT_CONF = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "1000",
    # ... or fewer when they are long: a batch's strings must stay below Arrow's 2 GB limit (and memory low)
    "spark.sql.execution.arrow.maxBytesPerBatch": str(256 * 1024 * 1024),
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "true",
    "spark.sql.adaptive.enabled": "false",
    # A lost executor (killed, out of memory, node gone) fails the tasks it was running; on a cluster
    # (standalone, local-cluster, YARN, k8s) they are rerun on the other executors or a replacement, and
    # its lost shuffle output is recomputed, as long as no task fails this many times. A loss counts as
    # one failure of each task that had started on it, so a fail-fast 1 would abort the job: pinned at
    # Spark's default 4. Retries cannot change the output: stage outputs are renamed into place only after
    # the whole Spark write succeeded, and files written by tasks are named per attempt. (local[N] never
    # retries a task, but there the only executor is the driver itself.)
    "spark.task.maxFailures": "4",
}


class JavaMissingError(CorpusError, RuntimeError):
    """No Java runtime: Spark cannot start."""


def check_java() -> None:
    """Fail early with the fix when no Java runtime is available."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    raise JavaMissingError(
        "Java was not found: Spark needs a Java 17 runtime. Install it with "
        "`apt-get install openjdk-17-jre-headless` (Debian/Ubuntu) or set JAVA_HOME."
    )


def safe_network_conf(master: str | None, launched_here: bool, conf: dict[str, str]) -> dict[str, str]:
    """Nothing listens beyond this machine unless configured. An embedded local session binds the driver
    and its UI to loopback (the UI binds where SPARK_LOCAL_IP says, else on every interface). Elsewhere
    (spark-submit, a cluster) the driver must be reachable, so the UI, which has no authentication, is
    off unless ``spark.ui.enabled`` is set."""
    if master and master.startswith("local") and launched_here:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        return {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    return {} if "spark.ui.enabled" in conf else {"spark.ui.enabled": "false"}


def get_spark(app_name: str = "corpus", master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """Return the active or a new SparkSession.

    ``master`` from the config wins; otherwise what spark-submit set (``spark.master``) is
    used; with neither, embedded ``local[*]``. Arrow is enabled and adaptive execution is
    off, so partitioning (and therefore output bytes) does not depend on runtime statistics.
    """
    check_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    launched_here = "PYSPARK_GATEWAY_PORT" not in os.environ  # not by spark-submit: this process starts the JVM
    master = master or (None if not launched_here else "local[*]")
    builder = SparkSession.builder.appName(app_name)
    for key, value in {**DEFAULT_CONF, **safe_network_conf(master, launched_here, conf or {}), **(conf or {})}.items():
        builder = builder.config(key, value)
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
