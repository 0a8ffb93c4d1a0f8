"""Two monthly crawls from real text, with planted duplicates across them: for the incremental-dedup test,
the two-release demo and the benchmark (``corpus synth releases``).

Every document is a run of consecutive sentences of the given real text with a few words replaced (so
that two documents drawn from nearby sentences are not near-duplicates by accident). Planted in the
second crawl (B), with the first (A) published as a release before it:

- ``near_a``: a copy of an A document with 1% of its words replaced (a near-duplicate of the release);
- ``chain``: a copy of such a copy, edited again (often below the threshold against the A document itself:
  linked to A through another B document);
- ``near_a_dup``: a copy of an A document that A itself rejected as a near-duplicate (the release must
  keep every document that entered its dedup, not only the kept ones);
- ``spans``: a fresh document with a run of sentences copied from an A document (sentence dedup);
- ``near_b``: a near-duplicate of another fresh B document (dedup within the new crawl).

A has its own near-duplicates (``near_a_dup``'s originals). Each record says what it is in ``planted``.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences_of(paths: list[Path]) -> list[str]:
    """The sentences (at least 5 words) of plain-text files (``.gz`` allowed), in file order."""
    found = []
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            text = " ".join(handle.read().split())
        found += [s for s in _SENTENCE.split(text) if len(s.split()) >= 5]
    return found


def _edit(text: str, rate: float, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(max(1, int(len(words) * rate))):
        words[rng.randrange(len(words))] = f"x{rng.randrange(10**6)}"
    return " ".join(words)


def _fresh(sentences: list[str], rng: random.Random, length: int = 12) -> str:
    start = rng.randrange(len(sentences) - length)
    return _edit(" ".join(sentences[start : start + length]), 0.2, rng)


def release_pair(sentences: list[str], docs: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Crawls A and B of ``docs`` documents each (``id``, ``text``, ``planted``)."""
    rng = random.Random(seed)
    a = [{"id": f"a{i}", "text": _fresh(sentences, rng), "planted": "fresh"} for i in range(docs)]
    for i in range(0, docs // 10):  # A's own near-duplicates: a[docs - 1 - i] copies a[i]
        a[docs - 1 - i] = {"id": f"a{docs - 1 - i}", "text": _edit(a[i]["text"], 0.01, rng), "planted": "near_a_own"}
    b: list[dict] = []
    linked: list[dict] = []  # B's copies of A documents and their copies: what a chain copies
    for i in range(docs):
        kind = rng.choices(["fresh", "near_a", "chain", "near_a_dup", "spans", "near_b"], [50, 12, 8, 8, 12, 10])[0]
        if kind == "near_a":
            text = _edit(a[rng.randrange(docs // 10, docs - docs // 10)]["text"], 0.01, rng)
        elif kind == "chain" and linked:
            text = _edit(rng.choice(linked)["text"], 0.015, rng)
        elif kind == "near_a_dup":
            text = _edit(a[docs - 1 - rng.randrange(docs // 10)]["text"], 0.01, rng)
        elif kind == "spans":
            copied = re.split(r"(?<=[.!?]) ", a[rng.randrange(docs)]["text"])[2:6]
            text = _fresh(sentences, rng, 6) + " " + " ".join(copied)
        elif kind == "near_b" and b:
            text = _edit(rng.choice(b)["text"], 0.01, rng)
        else:
            kind, text = "fresh", _fresh(sentences, rng)
        b.append({"id": f"b{i}", "text": text, "planted": kind})
        if kind in ("near_a", "chain"):
            linked.append(b[-1])
    return a, b


def write_release_pair(out: Path, sentences: list[str], docs: int, seed: int = 0) -> tuple[Path, Path]:
    """``out/a/crawl.jsonl`` and ``out/b/crawl.jsonl``."""
    paths = []
    for name, records in zip(("a", "b"), release_pair(sentences, docs, seed)):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "crawl.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        paths.append(folder / "crawl.jsonl")
    return paths[0], paths[1]
