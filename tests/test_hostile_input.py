"""Hostile input: every kind of bad record is quarantined with its reason, file and line, the job
finishes, and the counts reconcile (records = documents + quarantined; per stage in = kept + rejected)."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

import pytest

from pipeline.config import IngestConfig, SourceConfig, parse_config
from pipeline.readers import read_file
from pipeline.runner import run_pipeline
from synthetic.hostile import generate_hostile_corpus
from tests.conftest import ROOT

MAX_DOC_BYTES = 300_000
LONG_LINE_CHARS = 60_000


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return generate_hostile_corpus(
        tmp_path_factory.mktemp("hostile"),
        seed=7,
        big_doc_bytes=3 * MAX_DOC_BYTES,
        max_doc_bytes=MAX_DOC_BYTES,
        long_line_chars=LONG_LINE_CHARS,
    )


def _config(hostile: dict, run_dir: Path):
    """Ingest + normalize over every file of the hostile corpus."""
    return parse_config(
        {
            "run": {"output_dir": str(run_dir), "partitions": 2},
            "ingest": {"max_doc_bytes": hostile["max_doc_bytes"], "extract_max_bytes": hostile["extract_max_bytes"]},
            "sources": hostile["sources"],
            "stages": {  # every stage that needs no trained model, the heuristics relaxed so documents get through
                "normalize": {"min_chars": 1, "max_chars": 2 * MAX_DOC_BYTES},
                "langid": {"threshold": 0.0},
                "heuristics": {"c4": {"min_sentences": 1}, "gopher_quality": {"min_words": 1, "min_stop_words": None}},
                "dedup_sentence": {},
                "dedup_minhash": {},
                "decontaminate": {"eval_sets": {"passages": str(ROOT / "data" / "sample" / "eval" / "passages.jsonl")}},
                "pii": {},
            },
            "tokenizer": {"vocab_size": 1024},
        }
    )


@pytest.fixture(scope="module")
def hostile_run(spark, hostile, tmp_path_factory):
    """One run over the whole hostile corpus, with the `corpus` log captured."""
    run_dir = tmp_path_factory.mktemp("hostile-run") / "run"
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("corpus")
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        outcomes = run_pipeline(spark, _config(hostile, run_dir))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    return {"run_dir": run_dir, "outcomes": outcomes, "log": "\n".join(messages)}


def test_whole_hostile_corpus_reconciles(spark, hostile, hostile_run):
    """records = documents + quarantined; per stage in = kept + rejected; quarantine names file and line."""
    out = Path(hostile["out_dir"])
    run_dir, records = hostile_run["run_dir"], hostile["records"]
    documents = [r for r in records if r["expect"] == "document"]
    quarantined = [r for r in records if r["expect"].startswith("ingest:")]
    skipped = [r for r in records if r["expect"].startswith("skipped:")]

    ingest, normalize = (o.stats for o in hostile_run["outcomes"][:2])
    assert ingest["rows_kept"] == len(documents)
    assert ingest["reasons"] == dict(Counter(r["expect"] for r in quarantined))
    assert ingest["rows_in"] == len(documents) + len(quarantined)
    assert ingest["extra"]["skipped"] == dict(Counter(r["expect"] for r in skipped)) == hostile["skipped"]
    assert ingest["extra"]["records_read"] == len(documents) + len(quarantined) + len(skipped) == len(records)
    assert not any(reason.endswith(("_failed", "extract_timeout")) for reason in ingest["reasons"])

    rows = spark.read.parquet(str(run_dir / "quarantine")).collect()
    got = {(os.path.relpath(r["file"], out), r["line"], r["reason"]) for r in rows}
    assert got == {(r["file"], r["line"], r["expect"]) for r in quarantined}
    assert all(r["detail"] for r in rows), "every quarantine entry explains itself"

    empty = sum(r["kind"].startswith("empty_") for r in documents)
    assert normalize["rows_in"] == ingest["rows_kept"]
    assert normalize["rows_in"] == normalize["rows_kept"] + normalize["rows_rejected"]
    assert normalize["reasons"] == ({"normalize:empty": empty} if empty else {})

    stages = [o.stats for o in hostile_run["outcomes"]][1:]
    assert [s["stage"] for s in stages] == [
        "normalize",
        "langid",
        "heuristics",
        "dedup_sentence",
        "dedup_minhash",
        "decontaminate",
        "pii",
    ]
    for before, after in zip(stages, stages[1:]):
        assert after["rows_in"] == before["rows_kept"]
        assert (
            after["rows_in"]
            == after["rows_kept"] + after["rows_rejected"]
            == after["rows_kept"] + sum(after["reasons"].values())
        )
    assert stages[-1]["rows_kept"] > 100, "documents reach the last stage (its sentences repeat: dedup_sentence cuts)"
    assert (run_dir / "shards" / "manifest.json").exists()

    kept = spark.read.parquet(str(run_dir / "stages" / "01_normalize" / "data"))
    kept_positions = {(os.path.relpath(r["file"], out), r["line"]) for r in kept.select("file", "line").collect()}
    assert kept_positions == {(r["file"], r["line"]) for r in documents if not r["kind"].startswith("empty_")}


def test_hostile_texts_survive_normalize_intact(spark, hostile_run):
    kept = spark.read.parquet(str(hostile_run["run_dir"] / "stages" / "01_normalize" / "data"))
    by_kind = {}
    for row in kept.select("meta", "text").collect():
        kind = json.loads(row["meta"])["kind"] if row["meta"] else None
        by_kind.setdefault(kind, []).append(row["text"])
    assert "👨\u200d👩\u200d👧\u200d👦" in by_kind["emoji"][0] and "🇨🇳" in by_kind["emoji"][0]
    assert by_kind["escaped_surrogate_pair"][0].count("😀") == 1
    assert by_kind["combining"][0].startswith("Café résumé naïve Zoë")  # NFC composed
    assert "זהו טקסט בעברית" in by_kind["rtl_hebrew"][0] and "هذا نص عربي" in by_kind["rtl_arabic"][0]
    assert "\u202b" in by_kind["bidi_controls"][0]  # bidi controls are format characters, kept
    assert len(by_kind["long_line"][0]) == LONG_LINE_CHARS
    assert len(by_kind["at_size_limit"][0]) > MAX_DOC_BYTES - 100


@pytest.mark.parametrize("breaker", ["deep_nesting", "huge_integer", "lone_surrogate"])
def test_reader_quarantines_parser_breakers(hostile, breaker):
    path = Path(hostile["out_dir"]) / "jsonl" / f"{breaker}.jsonl"
    source = SourceConfig(name="hostile", format="jsonl", paths=[str(path)], meta_fields=["kind"])
    records = list(read_file(source, str(path), IngestConfig(max_doc_bytes=MAX_DOC_BYTES)))
    expected = [(r["line"], r["expect"]) for r in hostile["records"] if r["file"] == f"jsonl/{breaker}.jsonl"]
    assert [(r.line, r.reason or "document") for r in records] == expected
    for record in records:  # what read_sources hands to Arrow must be encodable
        for value in (record.text, record.url, json.dumps(record.meta, ensure_ascii=False)):
            if value is not None:
                value.encode("utf-8")


def test_ingest_log_names_file_and_line_of_quarantined_records(hostile, hostile_run):
    out = Path(hostile["out_dir"])
    quarantined = [r for r in hostile["records"] if r["expect"].startswith("ingest:")]
    for reason in {r["expect"] for r in quarantined}:
        examples = [f"{out / r['file']}:{r['line']}" for r in quarantined if r["expect"] == reason]
        assert any(example in hostile_run["log"] for example in examples), f"no log line names a {reason} record"
