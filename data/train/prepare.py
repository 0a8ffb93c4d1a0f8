"""Rebuild the bundled training excerpts in data/train/ from ../shared/data (see README.md).

    .venv/bin/python data/train/prepare.py [--shared /work/shared/data]

Deterministic: fixed files, fixed offsets, no sampling. No web page of the hand-labelled
development set (data/quality/) is used: models are evaluated there, never trained.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

GUTENBERG_BOOKS = ["austen-emma", "austen-persuasion", "chesterton-brown", "chesterton-thursday", "melville-moby_dick"]
CHINESE_NOVELS = ["三国演义", "水浒传", "红楼梦", "西游记"]
BOOK_CHARS = {"en": 60_000, "zh": 30_000}
DEBIAN_REFERENCE_CHARS = {"en": 150_000, "zh": 60_000}
LEIPZIG_SENTENCES_PER_PARAGRAPH = 5
SPAM_EMAILS = 450
SPAM_MAX_CHARS = 3_000
MIXED_PAGE_MAX_CHINESE_SHARE = 0.3
MIXED_PAGE_MAX_CHARS = 3_000

_TAG = re.compile(r"<[^>]+>")
_BLANK_RUNS = re.compile(r"\n\s*\n\s*(\n\s*)+")
_SPACE_RUNS = re.compile(r"[ \t\u00a0]+")


def read_paragraphs(path: Path) -> list[str]:
    """Blank-line separated blocks of a text file, stripped, non-empty."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        text = handle.read().replace("\r\n", "\n")
    return [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]


def excerpt(paragraphs: list[str], max_chars: int) -> list[str]:
    """Consecutive paragraphs from 10% into the text (past front matter), up to ``max_chars``."""
    picked, total = [], 0
    for paragraph in paragraphs[len(paragraphs) // 10 :]:
        if total + len(paragraph) > max_chars:
            break
        picked.append(paragraph)
        total += len(paragraph)
    return picked


def write_text(path: Path, paragraphs: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        handle.write(("\n\n".join(paragraphs) + "\n").encode("utf-8"))


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        for record in records:
            handle.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))


def leipzig_paragraphs(path: Path) -> list[str]:
    """The English Leipzig sentences (news and web text, one per line) in consecutive groups of
    ``LEIPZIG_SENTENCES_PER_PARAGRAPH``, one sentence per line: paragraph-sized running text."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        sentences = [line.strip() for line in handle if line.strip()]
    step = LEIPZIG_SENTENCES_PER_PARAGRAPH
    return ["\n".join(sentences[i : i + step]) for i in range(0, len(sentences), step)]


def email_body(raw: str) -> str:
    """The body of a raw email with HTML tags and entities removed and whitespace tidied."""
    body = raw.split("\n\n", 1)[1] if "\n\n" in raw else raw
    body = html.unescape(_TAG.sub(" ", body))
    body = _SPACE_RUNS.sub(" ", body)
    return _BLANK_RUNS.sub("\n\n", body).strip()


def spam_records(shared: Path) -> list[dict]:
    records = []
    with gzip.open(shared / "web/spamassassin_emails.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            email = json.loads(line)
            body = email_body(email["text"]) if email["label"] == "spam" else ""
            if len(body) >= 200:
                records.append({"id": email["id"], "source": "spamassassin", "text": body[:SPAM_MAX_CHARS]})
    step = max(1, len(records) // SPAM_EMAILS)
    return records[::step][:SPAM_EMAILS]


def partial_translation_records(shared: Path) -> list[dict]:
    """Chinese handbook pages that are mostly untranslated English (under 30% Chinese
    characters): real mixed-language pages, low quality as Chinese text. The development set
    (data/quality/) takes only pages at or above 30%, so the two never share a page."""
    records = []
    for variant in ("zh-CN", "zh-TW"):
        with gzip.open(shared / f"handbook/{variant}.jsonl.gz", "rt", encoding="utf-8") as handle:
            for line in handle:
                page = json.loads(line)
                chinese = sum("\u4e00" <= c <= "\u9fff" for c in page["text"])
                if chinese < MIXED_PAGE_MAX_CHINESE_SHARE * len(page["text"]):
                    records.append(
                        {"id": page["id"], "source": f"handbook/{variant}", "text": page["text"][:MIXED_PAGE_MAX_CHARS]}
                    )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=HERE.parents[2] / "shared" / "data")
    shared = parser.parse_args().shared
    reference = shared / "reference"

    books = [
        p
        for name in GUTENBERG_BOOKS
        for p in excerpt(read_paragraphs(reference / f"en/{name}.txt.gz"), BOOK_CHARS["en"])
    ]
    write_text(HERE / "en/gutenberg.txt.gz", books)
    write_text(HERE / "en/leipzig.txt.gz", leipzig_paragraphs(shared / "lid/lingua-sentences/en.txt.gz"))
    write_text(
        HERE / "en/debian-reference.txt.gz",
        excerpt(read_paragraphs(reference / "en/debian-reference.en.txt.gz"), DEBIAN_REFERENCE_CHARS["en"]),
    )
    write_jsonl(HERE / "en/spam.jsonl.gz", spam_records(shared))

    novels = [
        p
        for name in CHINESE_NOVELS
        for p in excerpt(read_paragraphs(reference / f"zh/{name}.txt.gz"), BOOK_CHARS["zh"])
    ]
    write_text(HERE / "zh/novels.txt.gz", novels)
    write_text(
        HERE / "zh/debian-reference.txt.gz",
        excerpt(read_paragraphs(reference / "zh/debian-reference.zh-cn.txt.gz"), DEBIAN_REFERENCE_CHARS["zh"]),
    )
    write_jsonl(HERE / "zh/handbook-partial.jsonl.gz", partial_translation_records(shared))

    for path in sorted(HERE.glob("*/*.gz")):
        print(f"{path.relative_to(HERE)}\t{path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
