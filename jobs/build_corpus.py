"""The whole run: `spark-submit jobs/build_corpus.py --config configs/sample.yaml` (or `python ...`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # spark-submit runs the file, not the package

from pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
