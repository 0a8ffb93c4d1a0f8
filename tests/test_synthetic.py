"""The synthetic corpus generators: deterministic bytes, exact counts, planted truth that holds."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from core.ids import doc_id
from filters.normalize import normalize_text
from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers import read_file
from synthetic.corpus import generate_corpus
from synthetic.documents import SOURCE_SPECS, shingle_jaccard
from synthetic.generate import main
from synthetic.hostile import generate_hostile_corpus
from synthetic.material import BOILERPLATE
from synthetic.truth import exact_duplicate_clusters, read_truth
from synthetic.vocabulary import LANGS, load_vocabulary

NO_SHARED = "/nonexistent/shared/data"  # forces the built-in vocabulary: fast and machine-independent
SMALL = {"docs_per_shard": 150, "shared_dir": NO_SHARED, "malformed_rate": 0.01}


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _records(folder: Path, summary: dict) -> dict[tuple[str, int], bytes]:
    """Every raw record line by (file, line)."""
    lines = {}
    for file in summary["files"]:
        with gzip.open(folder / file, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                lines[(file, number)] = raw
    return lines


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    summary = generate_corpus(out, 1200, seed=11, **SMALL)
    records = _records(out, summary)
    malformed = {(e["file"], e["line"]) for e in read_truth(out, "malformed")}
    docs = {}
    for position, raw in records.items():
        if position not in malformed:
            record = json.loads(raw)
            docs[record["doc_id"]] = record
    return out, summary, records, docs


def test_same_seed_gives_identical_bytes(tmp_path):
    first = generate_corpus(tmp_path / "a", 400, seed=5, **SMALL)
    second = generate_corpus(tmp_path / "b", 400, seed=5, **SMALL)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert first["files"] == second["files"]
    generate_corpus(tmp_path / "c", 400, seed=6, **SMALL)
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")


def test_counts_shards_and_summary(corpus):
    out, summary, records, docs = corpus
    assert summary["records"] == len(records) == 1200
    assert summary["documents"] + summary["planted"]["malformed"] == 1200
    assert summary["documents"] == sum(summary["documents_by_source"].values())
    assert set(summary["documents_by_source"]) == set(SOURCE_SPECS)
    per_file = Counter(file for file, _ in records)
    assert max(per_file.values()) == 150 and len(per_file) == len(summary["files"])
    assert summary["text_bytes"] == sum(len(d["text"].encode("utf-8")) for d in docs.values())
    assert summary["jsonl_bytes"] == sum(len(raw) for raw in records.values())
    assert {d["lang"] for d in docs.values()} == set(LANGS)
    assert json.loads((out / "manifest.json").read_text())["planted"] == summary["planted"]


def test_truth_names_the_right_file_line_and_pipeline_id(corpus):
    out, summary, records, docs = corpus
    for entry in read_truth(out):
        raw = records[(entry["file"], entry["line"])]
        assert entry["doc"].encode() in raw
        assert entry["id"] == doc_id(entry["source"], Path(entry["file"]).name, entry["line"])


def test_exact_duplicates_are_identical(corpus):
    out, summary, _, docs = corpus
    clusters = exact_duplicate_clusters(out)
    assert summary["planted"]["exact_duplicate"] >= 20 and clusters
    for cluster in clusters:
        assert len({docs[name]["text"] for name in cluster}) == 1
    texts = Counter(d["text"] for d in docs.values())
    duplicated = sum(count - 1 for count in texts.values() if count > 1)
    assert duplicated == summary["planted"]["exact_duplicate"], "no duplicate text happens by accident"


def test_near_duplicates_have_the_recorded_jaccard(corpus):
    out, summary, _, docs = corpus
    entries = read_truth(out, "near_duplicate")
    assert len(entries) == summary["planted"]["near_duplicate"] >= 20
    for entry in entries:
        base, variant = docs[entry["of"]], docs[entry["doc"]]
        assert base["text"] != variant["text"]
        assert entry["jaccard"] == round(shingle_jaccard(base["text"], variant["text"], base["lang"]), 4)
        assert 0 < entry["jaccard"] < 1
    by_rate = {}
    for entry in entries:
        by_rate.setdefault(entry["edit_rate"], []).append(entry["jaccard"])
    means = [sum(v) / len(v) for _, v in sorted(by_rate.items())]
    assert means == sorted(means, reverse=True), "more edits, lower similarity"


def test_shingle_jaccard_definition():
    assert shingle_jaccard("a b c d e f", "a b c d e f", "en") == 1.0
    assert shingle_jaccard("a b c d e f", "a b c d e g", "en") == pytest.approx(1 / 3)  # {abcde} of 3 shingles
    assert shingle_jaccard("一二三四五六", "一二三四五七", "zh") == pytest.approx(1 / 3)  # characters for zh
    assert shingle_jaccard("a b", "a b", "en") == 1.0 and shingle_jaccard("a b", "a c", "en") == 0.0


def test_pii_spans_point_at_their_values(corpus):
    out, summary, _, docs = corpus
    entries = read_truth(out, "pii")
    kinds = Counter(span["type"] for entry in entries for span in entry["spans"])
    assert set(kinds) == {"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD"}
    for entry in entries:
        text = docs[entry["doc"]]["text"]
        for span in entry["spans"]:
            assert text[span["start"] : span["end"]] == span["value"]
    email_docs = {d["doc_id"] for d in docs.values() if d["text"].startswith("From: ")}
    assert email_docs <= {e["doc"] for e in entries}


def test_boilerplate_and_spam(corpus):
    out, _, _, docs = corpus
    boilerplate = read_truth(out, "boilerplate")
    assert boilerplate
    for entry in boilerplate:
        lines = docs[entry["doc"]]["text"].split("\n")
        assert [lines[i] for i in entry["lines"]] == entry["text"]
        assert set(entry["text"]) <= set(BOILERPLATE[docs[entry["doc"]]["lang"]])
    spam = read_truth(out, "spam")
    assert spam and all("!!!" in docs[e["doc"]]["text"] or "特价" in docs[e["doc"]]["text"] for e in spam)


def test_texts_are_already_normalized(corpus):
    """So PII offsets and boilerplate lines stay valid after the normalize stage."""
    _, _, _, docs = corpus
    assert all(normalize_text(d["text"]) == d["text"] for d in docs.values())


def test_malformed_records_are_quarantined_by_the_reader(corpus):
    out, summary, _, _ = corpus
    malformed = read_truth(out, "malformed")
    assert len(malformed) == summary["planted"]["malformed"] >= 5
    assert {e["malformed"] for e in malformed} == {
        "invalid_json",
        "invalid_utf8",
        "text_not_string",
        "missing_text",
        "nul_bytes",
    }
    quarantined = {}
    for file in {e["file"] for e in malformed}:
        source = SourceConfig(name="s", format="jsonl", paths=[str(out / file)])
        for record in read_file(source, str(out / file), IngestConfig()):
            if record.reason:
                quarantined[(file, record.line)] = record.reason
    assert quarantined == {(e["file"], e["line"]): e["reason"] for e in malformed}


def test_builtin_and_shared_vocabularies():
    from conftest import shared_data

    builtin = load_vocabulary(NO_SHARED)
    assert builtin.origin == "builtin" and set(builtin.sentences) == set(LANGS)
    shared = load_vocabulary(str(shared_data()))
    assert shared.origin == "shared"
    assert all(len(shared.sentences[lang]) >= 1000 for lang in LANGS)
    assert sum("的" in s for s in shared.sentences["zh"]) > 1000
    assert not any("@" in s or "://" in s for pool in shared.sentences.values() for s in pool)


def test_shared_vocabulary_corpus_is_normalized_with_valid_spans(tmp_path):
    from conftest import shared_data

    summary = generate_corpus(tmp_path, 300, seed=4, shared_dir=str(shared_data()))
    docs = {
        d["doc_id"]: d
        for raw in _records(tmp_path, summary).values()
        if isinstance((d := json.loads(raw)).get("text"), str) and "\x00" not in d["text"]
    }
    assert summary["vocabulary"] == "shared"
    assert all(normalize_text(d["text"]) == d["text"] for d in docs.values())
    for entry in read_truth(tmp_path, "pii"):
        text = docs[entry["doc"]]["text"]
        assert all(text[s["start"] : s["end"]] == s["value"] for s in entry["spans"])


def _luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()][::-1]
    return sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0


def test_credit_cards_pass_the_luhn_check(corpus):
    out, _, _, _ = corpus
    cards = [s["value"] for e in read_truth(out, "pii") for s in e["spans"] if s["type"] == "CREDIT_CARD"]
    assert cards and all(_luhn_valid(card) for card in cards)
    assert not _luhn_valid("4111 1111 1111 1112")


def test_hostile_corpus_is_deterministic_and_complete(tmp_path):
    options = {"big_doc_bytes": 300_000, "max_doc_bytes": 200_000, "long_line_chars": 20_000}
    first = generate_hostile_corpus(tmp_path / "a", 3, **options)
    generate_hostile_corpus(tmp_path / "b", 3, **options)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    reasons = set(first["quarantined"])
    assert reasons == {
        "ingest:invalid_json",
        "ingest:invalid_utf8",
        "ingest:nul_bytes",
        "ingest:text_not_string",
        "ingest:missing_text",
        "ingest:not_an_object",
        "ingest:too_large",
        "ingest:truncated_archive",
        "ingest:empty_file",
        "ingest:unreadable_file",
        "ingest:corrupt_record",
        "ingest:corrupt_archive",
        "ingest:truncated_record",
    }
    assert set(first["skipped"]) == {
        "skipped:warc_warcinfo",
        "skipped:warc_request",
        "skipped:warc_metadata",
        "skipped:non_text_response",
    }
    assert first["documents"] + sum(first["quarantined"].values()) + sum(first["skipped"].values()) == len(
        first["records"]
    )
    assert (tmp_path / "a" / "jsonl" / "big.jsonl").stat().st_size > 300_000
    with pytest.raises(ValueError):
        generate_hostile_corpus(tmp_path / "c", 3, big_doc_bytes=100, max_doc_bytes=200)


def test_cli_writes_a_corpus(tmp_path, capsys):
    assert main(["corpus", str(tmp_path / "c"), "--docs", "30", "--seed", "2", "--shared-dir", NO_SHARED]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 30
    assert (tmp_path / "c" / "truth.jsonl").exists()
