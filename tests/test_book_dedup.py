"""Book-level near-duplicate detection (``dedup_minhash.unit: parent``, the books recipe) on real Gutenberg
books: two copies of a book cut at different boundaries are found as one book, different books are not."""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import pytest

from filters.minhash import jaccard, shingle_hashes, shingle_set_bytes, union_jaccard
from filters.split import split_document
from pipeline.config import SourceConfig, parse_config
from pipeline.readers.prepare import prepare
from pipeline.readers.records import Record, meta_json
from stages.dedup_minhash import BOOK_REASON, DedupMinhashStage
from stages.per_source import build_stage
from tests.conftest import shared_data

SCHEMA = "id string, source string, text string, meta string"
PREFACE = (
    "Macbeth, from the First Folio of 1623, transcribed for readers of the old spelling.\n\n"
    "This copy was checked against a second printing; a few words are given in modern spelling.\n"
)


def book(name: str) -> str:
    return gzip.open(shared_data("reference", "en", name), "rt", encoding="utf-8", errors="replace").read()


@pytest.fixture(scope="module")
def books() -> dict[str, str]:
    macbeth = book("shakespeare-macbeth.txt.gz")
    # the copy: another preface instead of the title line, and two words in modern spelling throughout
    copy = PREFACE + macbeth.split("\n", 1)[1].replace("Vpon", "Upon").replace("againe", "again")
    return {"macbeth": macbeth, "copy": copy, "caesar": book("shakespeare-caesar.txt.gz")}


def pieces(source: str, parent_id: str, text: str, split_chars: int) -> list[tuple]:
    """The rows ingest makes of one book cut at ``split_chars`` (ids and meta as prepare gives them)."""
    config = SourceConfig(name=source, format="text", paths=["x"], split_chars=split_chars)
    return [(r.doc_id, source, r.text, meta_json(r.meta)) for r in prepare(Record(0, text=text), config, parent_id)]


def run_config(unit: str | None) -> dict:
    """Sources books and mirror (the copy, lower priority) on the books recipe; ``unit`` overrides its unit."""
    own = {"stages": {"dedup_minhash": {"unit": unit}}} if unit else {}
    return {
        "run": {"output_dir": "/tmp/unused"},
        "sources": [
            {"name": "books", "format": "text", "paths": ["b"], "recipe": "books"},
            {"name": "mirror", "format": "text", "paths": ["m"], "recipe": "books", **own},
            {"name": "web", "format": "jsonl", "paths": ["w"]},
        ],
        "stages": {"dedup_minhash": {}},
    }


def deduplicate(spark, ctx, unit: str | None, rows: list[tuple], partitions: int):
    config = parse_config(run_config(unit))
    stage = build_stage(DedupMinhashStage, config.stages.dedup_minhash, config.source_sections("dedup_minhash"))
    ctx = dataclasses.replace(ctx, source_priority=config.source_priority)
    out = stage.apply(spark.createDataFrame(rows, SCHEMA).repartition(partitions), ctx).cache()
    return stage, out


def test_book_signature_is_the_minimum_of_its_pieces_and_loses_only_the_shingles_at_the_cuts(books):
    from filters.minhash import signatures

    text = books["macbeth"]
    cut = split_document(text, 10_000)
    piece_hashes = [shingle_hashes(p) for p in cut]
    union = np.concatenate(piece_hashes)
    assert (signatures(piece_hashes).min(axis=0) == signatures([union])[0]).all()  # MinHash of the union
    whole = shingle_hashes(text)
    missing = np.setdiff1d(whole, union)  # the shingles spanning a cut are in no piece: 4 per cut at most
    assert 0 < len(missing) <= 4 * (len(cut) - 1) and not len(np.setdiff1d(union, whole))
    assert jaccard(whole, union) > 0.995
    copy_sets = [shingle_set_bytes(shingle_hashes(p)) for p in split_document(books["copy"], 7_000)]
    assert union_jaccard([shingle_set_bytes(h) for h in piece_hashes], copy_sets) > 0.95


def test_a_copy_cut_at_other_boundaries_is_rejected_as_a_whole_book(spark, stage_ctx, books):
    rows = (
        pieces("books", "macbeth", books["macbeth"], 10_000)
        + pieces("books", "caesar", books["caesar"], 10_000)
        + pieces("mirror", "macbeth-copy", books["copy"], 7_000)  # other cuts: no piece matches a piece
    )
    copy_ids = {row[0] for row in rows if row[1] == "mirror"}
    stage, out = deduplicate(spark, stage_ctx, None, rows, partitions=3)
    reasons = {row["id"]: row["reason"] for row in out.collect()}
    assert {reasons[i] for i in copy_ids} == {f"{BOOK_REASON}macbeth"}  # every piece of the copy, naming the kept book
    assert all(reasons[row[0]] is None for row in rows if row[1] == "books")  # Caesar is another book
    kept, rejected = out.where("reason is null"), out.where("reason is not null")
    summary = stage.summarize(kept, rejected)
    assert summary["book_duplicates"] == {"pieces_rejected": len(copy_ids), "books_kept_over_a_copy": 1}
    assert summary["per_source"]["mirror"]["changes"] == {"unit": "parent"}  # the books recipe's
    assert summary["per_source"]["web"]["changes"] == {} and summary["per_source"]["mirror"]["rejected"] == len(
        copy_ids
    )

    _, again = deduplicate(spark, stage_ctx, None, list(reversed(rows)), partitions=1)
    assert {row["id"]: row["reason"] for row in again.collect()} == reasons  # any partitioning, any order

    _, by_piece = deduplicate(spark, stage_ctx, "document", rows, partitions=3)
    piece_reasons = {row["id"]: row["reason"] for row in by_piece.collect()}
    assert sum(piece_reasons[i] is not None for i in copy_ids) <= len(copy_ids) // 4  # piece by piece: missed
