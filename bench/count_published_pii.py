"""Count e-mail-shaped strings and dotted quads in the files of run directories outside their work area.

A coarse check of what a run publishes (the leak test, tests/test_privacy.py, is the exact one):

    python bench/count_published_pii.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pyarrow.parquet as pq

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DOTTED_QUAD = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
SKIPPED = (".bin", ".idx", ".png")


def counts(run: Path) -> dict[str, list[int]]:
    """Per folder (``rejects/NN_x``, ``stages/NN_x``, or the top-level name): [e-mails, dotted quads]."""
    found: dict[str, list[int]] = {}
    for path in sorted(run.rglob("*")):
        parts = path.relative_to(run).parts
        if not path.is_file() or parts[0] == "work" or path.suffix in SKIPPED:
            continue
        if path.suffix == ".parquet":
            text = json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False, default=str)
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        key = "/".join(parts[:2]) if parts[0] in ("stages", "rejects") else parts[0]
        emails, quads = len(EMAIL.findall(text)), len(DOTTED_QUAD.findall(text))
        if emails or quads:
            total = found.setdefault(key, [0, 0])
            total[0] += emails
            total[1] += quads
    return found


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(Path(name).name, json.dumps(counts(Path(name)), sort_keys=True))
