"""The bundled sample holds what every stage needs to show its effect (issue 17, item 5)."""

import gzip
import json
import re

from conftest import ROOT

from filters.dedup_text import window_hashes
from filters.minhash import iter_shingles

SAMPLE = ROOT / "data" / "sample"


def _mirror_rows():
    rows = []
    for line in (SAMPLE / "web" / "mirror.jsonl").read_bytes().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # the malformed records are there on purpose
        if isinstance(row, dict) and isinstance(row.get("text"), str):
            rows.append(row)
    return rows


def test_mirrored_book_chapters_are_near_duplicates_that_sentence_dedup_misses():
    """MinHash (Jaccard of word 5-grams, threshold 0.8) must find them; 3-sentence spans must
    not, or sentence dedup would have gutted the copy before MinHash sees it."""
    mirrored = [r for r in _mirror_rows() if "/books/" in r["url"]]
    assert len(mirrored) == 2
    for row in mirrored:
        name, number = row["url"].rsplit("/books/", 1)[1].split("/")
        original = (SAMPLE / "books" / f"{name}-{int(number):02d}.txt").read_text(encoding="utf-8")
        a, b = set(iter_shingles(original)), set(iter_shingles(row["text"]))
        assert len(a & b) / len(a | b) >= 0.9
        shared = set(window_hashes(original, "sentences", 3)) & set(window_hashes(row["text"], "sentences", 3))
        assert len(shared) <= 0.1 * len(set(window_hashes(row["text"], "sentences", 3)))


def test_eval_passages_occur_in_the_sample_books_and_emails_carry_pii():
    passages = [json.loads(line) for line in (SAMPLE / "eval" / "passages.jsonl").read_text().splitlines()]
    books = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in (SAMPLE / "books").glob("*.txt"))
    in_sample = [p for p in passages if p["in_sample"]]
    assert in_sample and all(" ".join(p["text"].split()) in books for p in in_sample)
    assert not any(" ".join(p["text"].split()) in books for p in passages if not p["in_sample"])
    with gzip.open(SAMPLE / "email" / "emails.jsonl.gz", "rt", encoding="utf-8") as handle:
        emails = [json.loads(line)["text"] for line in handle]
    assert sum(bool(re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)) for text in emails) >= 10
