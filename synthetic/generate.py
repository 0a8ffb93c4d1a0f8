"""Deterministic synthetic corpora for tests and benchmarks.

``generate_corpus`` writes a realistic corpus as JSONL.gz shards, one folder per source
(web, wiki, books, email), in English, Chinese, German, French, Japanese, Russian and Spanish,
built from real sentences (``../shared/data`` when present, else a small built-in word list).
It plants exact and near duplicates, boilerplate lines, spam, PII and malformed records, and
writes their ground truth to ``truth.jsonl``. It streams (constant memory) and its bytes depend
only on the seed, the parameters and the vocabulary source.

``generate_hostile_corpus`` writes every kind of bad input (invalid UTF-8, NUL bytes, an
oversized document, wrong-typed and deeply nested JSON, truncated archives, zero-byte files,
binary junk, corrupt Parquet and WARC files, ...) and returns what the readers should make of each record.

    python -m synthetic.generate corpus OUT --docs 10000 --seed 1
    python -m synthetic.generate hostile OUT
    python -m synthetic.generate releases OUT --docs 2000   # two crawls with planted cross-release duplicates
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from synthetic.corpus import generate_corpus
from synthetic.hostile import generate_hostile_corpus
from synthetic.releases import sentences_of, write_release_pair

# the bundled sample's English books (real text, public domain): the default text of `releases`
SAMPLE_BOOKS = Path(__file__).resolve().parents[1] / "data" / "sample" / "books"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m synthetic.generate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    corpus = commands.add_parser("corpus", help="a realistic synthetic corpus with planted truth")
    corpus.add_argument("out")
    corpus.add_argument("--docs", type=int, required=True)
    corpus.add_argument("--seed", type=int, default=0)
    corpus.add_argument("--docs-per-shard", type=int, default=10_000)
    corpus.add_argument("--malformed-rate", type=float, default=0.001)
    corpus.add_argument("--shared-dir", default=None, help="default: ../shared/data, else a built-in word list")
    hostile = commands.add_parser("hostile", help="every kind of bad record, with the expected outcome")
    hostile.add_argument("out")
    hostile.add_argument("--seed", type=int, default=0)
    hostile.add_argument("--big-doc-bytes", type=int, default=50_000_000)
    hostile.add_argument("--max-doc-bytes", type=int, default=10_000_000, help="ingest.max_doc_bytes used to read it")
    releases = commands.add_parser("releases", help="crawls a/ and b/ with planted duplicates across them")
    releases.add_argument("out")
    releases.add_argument("--docs", type=int, required=True, help="documents per crawl")
    releases.add_argument("--seed", type=int, default=0)
    releases.add_argument(
        "--text", nargs="+", default=None, help="plain-text files (.gz allowed); default: the sample's English books"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``corpus synth`` command: write a corpus, print its summary."""
    args = _parser().parse_args(argv)
    if args.command == "corpus":
        summary = generate_corpus(
            args.out,
            args.docs,
            args.seed,
            docs_per_shard=args.docs_per_shard,
            malformed_rate=args.malformed_rate,
            shared_dir=args.shared_dir,
        )
        shown = {k: v for k, v in summary.items() if k not in ("files", "sources")}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    elif args.command == "releases":
        texts = [Path(t) for t in args.text] if args.text else sorted(SAMPLE_BOOKS.glob("[am]*.txt"))
        for path in write_release_pair(Path(args.out), sentences_of(texts), args.docs, args.seed):
            print(path)
    else:
        summary = generate_hostile_corpus(
            args.out, args.seed, big_doc_bytes=args.big_doc_bytes, max_doc_bytes=args.max_doc_bytes
        )
        (Path(args.out) / "expected.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps({k: summary[k] for k in ("documents", "quarantined", "empty_documents")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
