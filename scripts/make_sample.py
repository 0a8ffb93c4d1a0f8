"""Build the bundled sample corpus in data/sample/ from ../shared/data (run once, output committed).

Deterministic: fixed selections, no randomness. See data/sample/README.md for sources and licences.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "data" / "sample"
MIRRORED_CHAPTERS = [("austen-emma", 5), ("melville-moby_dick", 2)]
# Pages of sites that already have a page in the sample (every 5th page): the same menus, cookie notices
# and footers in several documents (sentence dedup's work), and a near-identical pair (562, 563: MinHash's).
SAME_SITE_PAGES = [117, 604, 736, 109, 454, 523, 996, 479, 562, 563]


def read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as raw:
        for row in rows:
            raw.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))


def paragraphs(text: str, low: int, high: int) -> list[str]:
    """Blank-line separated paragraphs of ``low``..``high`` characters, whitespace collapsed."""
    found = (" ".join(p.split()) for p in re.split(r"\n\s*\n", text))
    return [p for p in found if low <= len(p) <= high]


def write_eval_set(path: Path) -> None:
    """A small reading-passage eval set for the decontaminate stage: half of the passages come
    from book chapters bundled in the sample (contamination to find), half from chapters that
    are not (must not match)."""
    rows = []
    for name in ("austen-emma", "melville-moby_dick"):
        text = gzip.open(SHARED / "reference" / "en" / f"{name}.txt.gz", "rt", encoding="utf-8").read()
        chapters = re.split(r"\n\s*(?=CHAPTER [IVXLC\d]+)", text)
        for number in (1, 2, 3, 30, 31, 32):
            candidates = paragraphs(chapters[number].strip()[:12000], 250, 700)
            rows.append(
                {"id": f"{name}-{number:02d}", "text": candidates[len(candidates) // 2], "in_sample": number <= 8}
            )
    novel = (
        gzip.open(SHARED / "reference" / "zh" / "西游记.txt.gz", "rt", encoding="utf-8").read().replace("\r\n", "\n")
    )
    chapters = re.split(r"\n(?=第[一二三四五六七八九十百]+回)", novel)
    for number in (1, 2, 3, 40, 41, 42):
        candidates = paragraphs(chapters[number].strip()[:6000], 60, 400)
        rows.append(
            {"id": f"xiyouji-{number:02d}", "text": candidates[len(candidates) // 2], "in_sample": number <= 10}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def write_invalid_byte_chapter(folder: Path) -> None:
    """The chapter of Chesterton's *The Ball and the Cross* that holds the book's invalid bytes, as Project
    Gutenberg has it (UTF-8 with a few Latin-1 bytes: "Bruneti\\xe8re"): the text reader decodes it with
    replacements, counted, rather than quarantining the whole file."""
    raw = gzip.open(SHARED / "reference" / "en" / "chesterton-ball.txt.gz").read()
    try:
        raw.decode("utf-8")
        raise SystemExit("chesterton-ball.txt.gz is valid UTF-8 now: choose another file with invalid bytes")
    except UnicodeDecodeError as error:
        bad = error.start
    heading = re.compile(rb"\n([IVXLC]+)\. [A-Z]")
    start = list(heading.finditer(raw, 0, bad))[-1].start() + 1
    end = heading.search(raw, bad).start() + 1
    number = heading.match(raw, start - 1).group(1).decode()
    (folder / f"chesterton-ball-{number}.txt").write_bytes(raw[start:end])


def main() -> None:
    for part in OUT.iterdir() if OUT.exists() else ():  # README.md (sources, licences) stays
        if part.is_dir():
            shutil.rmtree(part)
    pages = read_jsonl(SHARED / "web" / "pages_wet_like.jsonl.gz")
    web = [
        {"text": p["text"], "url": "https://" + p["file"].removesuffix(".html"), "title": p["title"]}
        for p in pages[::5] + [pages[i] for i in SAME_SITE_PAGES]
    ]
    write_jsonl(OUT / "web" / "pages.jsonl.gz", web)

    emails = read_jsonl(SHARED / "web" / "spamassassin_emails.jsonl.gz")
    write_jsonl(OUT / "email" / "emails.jsonl.gz", [{"text": e["text"], "label": e["label"]} for e in emails[::40]])

    wiki = []
    for lang in ("en-US", "zh-CN", "zh-TW", "de-DE", "fr-FR", "ja-JP"):
        rows = read_jsonl(SHARED / "handbook" / f"{lang}.jsonl.gz")
        wiki += [{"text": r["text"], "url": f"debian-handbook/{lang}/{r['page']}", "lang": lang} for r in rows[::6]]
    write_jsonl(OUT / "wiki" / "handbook.jsonl.gz", wiki)

    books = OUT / "books"
    books.mkdir(parents=True)
    chapters_of = {}  # whole books are cut into pieces by the books recipe (split_chars), not here
    for name in ("austen-emma", "melville-moby_dick", "chesterton-brown"):
        text = gzip.open(SHARED / "reference" / "en" / f"{name}.txt.gz", "rt", encoding="utf-8").read()
        chapters_of[name] = [
            c.strip()[:12000] for c in re.split(r"\n\s*(?=CHAPTER [IVXLC\d]+|[IVXLC]+\. [A-Z])", text)[1:9]
        ]
        (books / f"{name}.txt").write_text("\n\n\n".join(chapters_of[name]) + "\n", encoding="utf-8")
    novel = (
        gzip.open(SHARED / "reference" / "zh" / "西游记.txt.gz", "rt", encoding="utf-8").read().replace("\r\n", "\n")
    )
    chapters = re.split(r"\n(?=第[一二三四五六七八九十百]+回)", novel)
    (books / "xiyouji.txt").write_text("\n\n".join(c.strip()[:6000] for c in chapters[1:11]) + "\n", encoding="utf-8")
    write_invalid_byte_chapter(books)

    # Real-world debris: cross-source copies (two handbook pages verbatim; two book chapters as
    # a mirror reposts them, hard line breaks re-flowed: every sentence now ends elsewhere, so
    # sentence dedup misses them and MinHash must find them) and
    # malformed records.
    mirrored = [{"text": row["text"], "url": "https://mirror.example/" + row["url"]} for row in wiki[:2]]
    for name, number in MIRRORED_CHAPTERS:
        chapter = chapters_of[name][number - 1]
        reflowed = "\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", chapter) if p.strip())
        mirrored.append({"text": reflowed, "url": f"https://mirror.example/books/{name}/{number}"})
    with open(OUT / "web" / "mirror.jsonl", "wb") as f:
        for row in mirrored:
            f.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        f.write(b'{"text": "broken json, no closing brace"\n')
        f.write(b'{"text": "invalid utf-8 \xff\xfe here"}\n')
        f.write(b'{"text": 42}\n')
        f.write(b'["not", "an", "object"]\n')

    write_eval_set(OUT / "eval" / "passages.jsonl")

    (OUT / "crawl").mkdir()
    shutil.copy(SHARED / "warc" / "sample-0000.warc.gz", OUT / "crawl" / "sample-0000.warc.gz")
    print(f"sample written to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
