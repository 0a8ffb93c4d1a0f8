#!/usr/bin/env bash
# A real Spark standalone cluster on loopback, from the pip-installed pyspark:
#   scripts/spark-standalone.sh start [PORT] [WORKERS]   master on 127.0.0.1:PORT (default 7077), 2 workers
#   scripts/spark-standalone.sh stop                     stops exactly the processes it started (by PID)
# State (PIDs, logs) lives in .cache/standalone/. Prints the master URL on start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.cache/standalone"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
SPARK_HOME="$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 SPARK_NO_DAEMONIZE=1
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$PYTHON}"

start() {
    local port="${1:-7077}" workers="${2:-2}"
    mkdir -p "$STATE"
    if ls "$STATE"/*.pid >/dev/null 2>&1; then
        echo "a cluster started from here is still running; run: $0 stop" >&2
        exit 1
    fi
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
        --host 127.0.0.1 --port "$port" --webui-port 0 >"$STATE/master.log" 2>&1 &
    echo $! >"$STATE/master.pid"
    for ((i = 1; i <= workers; i++)); do
        "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
            --host 127.0.0.1 --cores 1 --memory 1536m --webui-port 0 --work-dir "$STATE/work-$i" \
            "spark://127.0.0.1:$port" >"$STATE/worker-$i.log" 2>&1 &
        echo $! >"$STATE/worker-$i.pid"
    done
    for _ in $(seq 1 120); do  # wait until every worker has registered with the master
        if [[ "$(grep -c "Registering worker" "$STATE/master.log" 2>/dev/null)" -ge "$workers" ]]; then
            echo "spark://127.0.0.1:$port"
            return 0
        fi
        sleep 0.5
    done
    echo "workers did not register within 60 s; logs in $STATE" >&2
    stop
    exit 1
}

stop() {
    shopt -s nullglob
    for pidfile in "$STATE"/*.pid; do
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    *) echo "usage: $0 start [PORT] [WORKERS] | stop" >&2; exit 2 ;;
esac
