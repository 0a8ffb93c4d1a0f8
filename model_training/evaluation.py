"""Model evaluation shared by the trainers: ROC AUC, and scoring on the hand-labelled
development set of real web pages (``data/quality/``), which no job ever trains on.

A held-out split of the training sources only says how well a model tells those sources
apart (books from spam); the development set says how well it ranks the pages the pipeline
will actually see, as people judged them (``docs/quality_labels.md``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from core.errors import CorpusError

LABELS = {"high": True, "low": False}


class DevsetError(CorpusError, ValueError):
    """The labelled development set is missing or malformed; the message names the file and line."""


class DevsetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: str = Field("data/quality/devset.jsonl.gz", description="JSONL(.gz) with id and text")
    labels: str = Field("data/quality/labels.tsv", description="TSV with id, lang and label (high/low)")


@dataclass(frozen=True)
class LabelledDocument:
    id: str
    lang: str
    high_quality: bool
    text: str


def roc_auc(positive_scores: list[float], negative_scores: list[float]) -> float | None:
    """P(a random positive scores above a random negative), ties counting half; None without
    both classes. Rank-based (Mann-Whitney U), so it is O(n log n)."""
    if not positive_scores or not negative_scores:
        return None
    scored = sorted([(s, True) for s in positive_scores] + [(s, False) for s in negative_scores])
    rank_sum, start = 0.0, 0
    while start < len(scored):
        end = start
        while end < len(scored) and scored[end][0] == scored[start][0]:
            end += 1
        mean_rank = (start + 1 + end) / 2  # ranks start at 1; tied scores share their mean rank
        rank_sum += mean_rank * sum(1 for _, positive in scored[start:end] if positive)
        start = end
    n_pos, n_neg = len(positive_scores), len(negative_scores)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def read_labels(labels_path: Path) -> dict[str, tuple[str, bool]]:
    """``id -> (lang, high_quality)`` from the tab-separated labels file."""
    if not labels_path.is_file():
        raise DevsetError(f"development-set labels not found: {labels_path}")
    labels = {}
    with labels_path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle, delimiter="\t"), 2):
            if row.get("label") not in LABELS or not row.get("id") or not row.get("lang"):
                raise DevsetError(f"{labels_path}:{number}: expected id, lang and label high or low, got {row}")
            if row["id"] in labels:
                raise DevsetError(f"{labels_path}:{number}: id {row['id']} is labelled twice")
            labels[row["id"]] = (row["lang"], LABELS[row["label"]])
    return labels


def load_devset(documents_path: str | Path, labels_path: str | Path) -> list[LabelledDocument]:
    """The labelled documents: texts from the JSONL(.gz) file, labels from the TSV file;
    every labelled id must have a text."""
    documents_path, labels_path = Path(documents_path), Path(labels_path)
    labels = read_labels(labels_path)
    if not documents_path.is_file():
        raise DevsetError(f"development-set documents not found: {documents_path}")
    texts = {}
    with gzip.open(documents_path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
                texts[record["id"]] = record["text"]
            except (ValueError, KeyError, TypeError) as err:
                raise DevsetError(f"{documents_path}:{number}: not a record with id and text ({err})") from err
    missing = sorted(set(labels) - set(texts))
    if missing:
        raise DevsetError(f"{labels_path}: {len(missing)} labelled ids have no text in {documents_path}: {missing[:3]}")
    return [LabelledDocument(i, lang, high, texts[i]) for i, (lang, high) in sorted(labels.items())]


def devset_half(doc_id: str) -> str:
    """``A`` or ``B``, fixed by a hash of the document id. Training recipes are compared on half A
    and reported on half B as well, a check that a recipe did not merely fit the pages it was
    chosen on (183 English pages are few: a recipe tuned on all of them would fit them)."""
    return "AB"[hashlib.blake2b(doc_id.encode(), digest_size=8).digest()[0] % 2]


def _rounded_auc(scores: list[tuple[bool, float]]) -> float | None:
    auc = roc_auc([s for high, s in scores if high], [s for high, s in scores if not high])
    return round(auc, 4) if auc is not None else None


def devset_figures(documents: list[LabelledDocument], lang: str, score: Callable[[str], float | None]) -> dict:
    """ROC AUC of ``score`` (higher = better quality) on the language's labelled documents, all
    of them and half B. A document the model cannot score (None) ranks lowest, so it is never
    silently left out."""
    selected = [d for d in documents if d.lang == lang]
    raw = [score(d.text) for d in selected]
    floor = min((s for s in raw if s is not None), default=0.0) - 1.0
    scores = [(d.high_quality, s if s is not None else floor) for d, s in zip(selected, raw)]
    half_b = [pair for d, pair in zip(selected, scores) if devset_half(d.id) == "B"]
    return {
        "roc_auc": _rounded_auc(scores),
        "roc_auc_half_b": _rounded_auc(half_b),
        "high": sum(high for high, _ in scores),
        "low": sum(not high for high, _ in scores),
        "unscored": sum(s is None for s in raw),
    }


def load_configured_devset(config: DevsetConfig | None) -> list[LabelledDocument] | None:
    """The configured development set, or None when the config turns it off."""
    return None if config is None else load_devset(config.documents, config.labels)


def devset_entry(
    devset: list[LabelledDocument] | None, lang: str, config: DevsetConfig | None, score: Callable[[str], float | None]
) -> dict | None:
    """The model-card entry ``out_of_distribution``: ROC AUC of ``score`` on the development
    set's documents of ``lang``; None when there are none (the card then says so)."""
    if devset is None or config is None or not any(d.lang == lang for d in devset):
        return None
    return {"devset": config.labels, **devset_figures(devset, lang, score)}


def ood_auc_cell(entry: dict | None) -> str:
    """The development-set figure for a model-card table."""
    if entry is None:
        return "none (no labelled pages)"
    auc = "n/a (one class)" if entry["roc_auc"] is None else entry["roc_auc"]
    half_b = entry.get("roc_auc_half_b")
    return f"{auc} ({entry['high']}/{entry['low']})" + ("" if half_b is None else f"; half B {half_b}")
