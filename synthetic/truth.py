"""``truth.jsonl``: what a generated corpus planted, one line per fact, for tests and benchmarks to check."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import IO, Any, NamedTuple

from core.ids import doc_id


class Place(NamedTuple):
    """Where a record went: its generator name, source, shard file and line (from 1)."""

    doc: str
    source: str
    file: str
    line: int


class TruthWriter:
    """Writes the facts and counts them per kind for the corpus summary."""

    def __init__(self, handle: IO[str]):
        self.handle = handle
        self.planted: Counter[str] = Counter()

    def note(self, kind: str, place: Place, **facts: Any) -> None:
        """One fact about the record at ``place``, with the id the pipeline will give it."""
        self.planted[kind] += 1
        entry = {
            "kind": kind,
            "doc": place.doc,
            "source": place.source,
            "file": f"{place.source}/{place.file}",
            "line": place.line,
            "id": doc_id(place.source, place.file, place.line),
            **facts,
        }
        self.handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def read_truth(out_dir: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The truth entries of a generated corpus, optionally of one kind."""
    with open(Path(out_dir) / "truth.jsonl", encoding="utf-8") as handle:
        entries = [json.loads(line) for line in handle]
    return [e for e in entries if kind is None or e["kind"] == kind]


def exact_duplicate_clusters(out_dir: str | Path) -> list[set[str]]:
    """Groups of doc names with identical text (each original with all its exact copies)."""
    clusters: dict[str, set[str]] = {}
    for entry in read_truth(out_dir, "exact_duplicate"):
        clusters.setdefault(entry["of"], {entry["of"]}).add(entry["doc"])
    return sorted(clusters.values(), key=min)
