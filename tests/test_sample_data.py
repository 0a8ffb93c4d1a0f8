"""The bundled sample holds what every stage needs to show its effect (issue 17, item 5)."""

import gzip
import json
import re

from conftest import ROOT

from filters.dedup_text import window_hashes
from filters.minhash import iter_shingles
from filters.split import split_document
from pipeline.config import load_config

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
    """MinHash (Jaccard of word 5-grams, threshold 0.8) must find them among the pieces the books recipe
    cuts the books into; 3-sentence spans must not, or sentence dedup would have gutted the copy before
    MinHash sees it."""
    mirrored = [r for r in _mirror_rows() if "/books/" in r["url"]]
    assert len(mirrored) == 2
    books = next(s for s in load_config(ROOT / "configs" / "sample.yaml").sources if s.name == "books")
    for row in mirrored:
        name, number = row["url"].rsplit("/books/", 1)[1].split("/")
        pieces = split_document((SAMPLE / "books" / f"{name}.txt").read_text(encoding="utf-8"), books.split_chars)
        copy = set(iter_shingles(row["text"]))
        original = max(pieces, key=lambda piece: len(set(iter_shingles(piece)) & copy))
        a, b = set(iter_shingles(original)), copy
        assert len(a & b) / len(a | b) >= 0.9
        shared = set(window_hashes(original, "sentences", 3)) & set(window_hashes(row["text"], "sentences", 3))
        assert len(shared) <= 0.1 * len(set(window_hashes(row["text"], "sentences", 3)))


def test_eval_passages_occur_in_the_sample_books_and_emails_carry_pii():
    passages = [json.loads(line) for line in (SAMPLE / "eval" / "passages.jsonl").read_text().splitlines()]
    books = " ".join(
        " ".join(p.read_text(encoding="utf-8", errors="replace").split()) for p in (SAMPLE / "books").glob("*.txt")
    )
    in_sample = [p for p in passages if p["in_sample"]]
    assert in_sample and all(" ".join(p["text"].split()) in books for p in in_sample)
    assert not any(" ".join(p["text"].split()) in books for p in passages if not p["in_sample"])
    with gzip.open(SAMPLE / "email" / "emails.jsonl.gz", "rt", encoding="utf-8") as handle:
        emails = [json.loads(line)["text"] for line in handle]
    assert sum(bool(re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)) for text in emails) >= 10


def test_the_sample_books_need_the_books_recipe():
    """Whole books over the piece size (cut, not rejected), and a chapter with real invalid bytes (decoded
    with replacements, not quarantined)."""
    from filters.text_decode import decode_text

    books = next(s for s in load_config(ROOT / "configs" / "sample.yaml").sources if s.name == "books")
    assert books.recipe == "books"
    sizes = {p.name: len(p.read_text(encoding="utf-8", errors="replace")) for p in (SAMPLE / "books").glob("*.txt")}
    assert sum(size > books.split_chars for size in sizes.values()) >= 4
    raw = (SAMPLE / "books" / "chesterton-ball-X.txt").read_bytes()
    decoded = decode_text(raw)
    assert decoded.text is not None and decoded.replaced > 0 and decode_text(raw, "strict").text is None


def test_web_pages_share_boilerplate_within_a_site():
    with gzip.open(SAMPLE / "web" / "pages.jsonl.gz", "rt", encoding="utf-8") as handle:
        pages = [json.loads(line)["text"] for line in handle]
    seen: dict[int, int] = {}
    for page in pages:
        for window in set(window_hashes(page, "sentences", 3)):
            seen[window] = seen.get(window, 0) + 1
    assert sum(count > 1 for count in seen.values()) >= 200  # repeated menus, footers, notices
