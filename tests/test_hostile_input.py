"""Hostile input: every kind of bad record is quarantined with its reason, file and line, the job
finishes, and the counts reconcile (records = documents + quarantined; per stage in = kept + rejected)."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

    kept = spark.read.parquet(str(run_dir / "work" / "stages" / "01_normalize" / "data"))
    kept_positions = {(os.path.relpath(r["file"], out), r["line"]) for r in kept.select("file", "line").collect()}
    assert kept_positions == {(r["file"], r["line"]) for r in documents if not r["kind"].startswith("empty_")}


def test_hostile_texts_survive_normalize_intact(spark, hostile_run):
    kept = spark.read.parquet(str(hostile_run["run_dir"] / "work" / "stages" / "01_normalize" / "data"))
    by_kind = {}
    for row in kept.select("meta", "text").collect():
        meta = json.loads(row["meta"]) if row["meta"] else {}
        kind = meta.get("kind") or meta.get("decoded_as")  # a text file not in UTF-8: its detected charset
        by_kind.setdefault(kind, []).append(row["text"])
    assert by_kind["cp1252"] == ["latin-1 text: café crème"]
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


# ---------------------------------------------------------------------------------------------
# Property-based: random bytes and random JSON, Parquet, WARC and HTML shapes never make a reader raise,
# and every record ends up a document, a quarantine entry or a counted skip.
# ---------------------------------------------------------------------------------------------

KNOWN_OUTCOMES = {
    "ingest:" + reason
    for reason in (
        "invalid_json invalid_utf8 not_an_object text_not_string missing_text nul_bytes too_large truncated_archive "
        "unreadable_file empty_file corrupt_record corrupt_archive truncated_record missing_id invalid_id "
        "unreadable_value"
    ).split()
}
PROPERTY = settings(  # the same examples on every run (HYPOTHESIS_EXAMPLES=1000 for a longer search)
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
json_records = st.dictionaries(st.sampled_from(["text", "id", "url", "meta", "x"]), json_values, max_size=5)


def _outcomes(fmt: str, path: Path, **source) -> list:
    """read_file's records for one file, each checked: a known outcome, and values Arrow can take."""
    ingest = IngestConfig(max_doc_bytes=4000, extract_max_bytes=3000)
    records = list(read_file(SourceConfig(name="p", format=fmt, paths=[str(path)], **source), str(path), ingest))
    for record in records:
        assert record.reason is None or record.reason in KNOWN_OUTCOMES or record.reason.startswith("skipped:"), record
        assert record.reason is not None or isinstance(record.text, str)
        for value in (record.text, record.url, record.detail, record.doc_id):
            if value is not None:
                value.encode("utf-8")
    return records


@PROPERTY
@given(lines=st.lists(st.one_of(json_records.map(json.dumps).map(str.encode), st.binary(max_size=60)), max_size=12))
def test_jsonl_reader_accounts_for_every_line(tmp_path_factory, lines):
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    path = tmp_path_factory.mktemp("jsonl") / "random.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    got = _outcomes("jsonl", path, id_field="id")
    expected = [n for n, line in enumerate(lines, start=1) if line.removeprefix(b"\xef\xbb\xbf" * (n == 1)).strip()]
    if path.stat().st_size == 0:
        assert [r.reason for r in got] == ["ingest:empty_file"]
    else:
        assert [r.line for r in got] == expected


@PROPERTY
@given(
    texts=st.lists(st.one_of(st.none(), st.binary(max_size=80), st.text(max_size=80).map(str.encode)), max_size=10),
    ids=st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=5)), min_size=10, max_size=10),
)
def test_parquet_reader_accounts_for_every_row(tmp_path_factory, texts, ids):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path_factory.mktemp("parquet") / "random.parquet"
    column = pa.array(texts, pa.binary()).view(pa.string())  # any bytes, valid UTF-8 or not
    pq.write_table(pa.table({"text": column, "id": pa.array([str(i) for i in ids[: len(texts)]])}), path)
    got = _outcomes("parquet", path, id_field="id")
    assert [r.line for r in got] == list(range(1, len(texts) + 1))


def _warc_bytes(kind: str, content_type: str, body: bytes, declared_delta: int) -> bytes:
    block = body if kind != "response" else f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n".encode() + body
    length = max(0, len(block) + declared_delta)
    head = f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: http://x/\r\nContent-Length: {length}\r\n\r\n"
    return head.encode() + block + b"\r\n\r\n"


html_bodies = st.lists(
    st.sampled_from(
        ["<p>", "</p>", "<div>", "<a ", "<script>", "</script>", "<!--", "-->", "<![CDATA[", "&amp;", "&#", "<"]
    )
    | st.text(max_size=20),
    max_size=40,
).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass"))
warc_records = st.tuples(
    st.sampled_from(["response", "request", "metadata", "warcinfo", "conversion", "revisit", "resource"]),
    st.sampled_from(
        [
            "text/html",
            "Text/HTML; charset=base64",
            "text/plain; charset=rot13",
            "image/png",
            "text/html; charset=utf-16",
            "application/xhtml+xml",
            "",
            "text/html; charset=unicode_escape",
        ]
    ),
    st.one_of(html_bodies, st.binary(max_size=200)),
)


@PROPERTY
@given(records=st.lists(warc_records, max_size=6), damage=st.sampled_from(["none", "length", "cut", "gzip_cut"]))
def test_warc_reader_accounts_for_every_record(tmp_path_factory, records, damage):
    import gzip

    raws = [_warc_bytes(kind, ctype, body, 0) for kind, ctype, body in records]
    if damage == "length" and raws:
        kind, ctype, body = records[-1]
        raws[-1] = _warc_bytes(kind, ctype, body, -7)
    data = b"".join(raws)
    folder = tmp_path_factory.mktemp("warc")
    if damage == "gzip_cut":
        path = folder / "random.warc.gz"
        packed = b"".join(gzip.compress(raw, mtime=0) for raw in raws)
        path.write_bytes(packed[: len(packed) * 2 // 3])
    else:
        path = folder / "random.warc"
        path.write_bytes(data[: len(data) * 2 // 3] if damage == "cut" else data)
    got = _outcomes("warc", path)
    if damage == "none" and raws:
        starts = [sum(len(raw) for raw in raws[:i]) for i in range(len(raws))]
        assert [r.line for r in got] == starts  # one outcome per record, at its offset
        assert all(
            r.reason is None or r.reason.startswith("skipped:") or r.reason == "ingest:missing_text" for r in got
        )


@PROPERTY
@given(data=st.binary(max_size=400), fmt=st.sampled_from(["jsonl", "parquet", "text", "warc"]))
def test_random_bytes_never_stop_a_reader(tmp_path_factory, data, fmt):
    suffix = {"jsonl": ".jsonl.gz", "parquet": ".parquet", "text": ".txt", "warc": ".warc.gz"}[fmt]
    path = tmp_path_factory.mktemp("bytes") / f"random{suffix}"
    path.write_bytes(data)
    _outcomes(fmt, path)


@PROPERTY
@given(markup=html_bodies, content_type=st.text(max_size=40), extractor=st.sampled_from(["resiliparse", "trafilatura"]))
def test_page_text_never_raises(markup, content_type, extractor):
    from filters.html_text import page_text

    text = page_text(markup, "text/html; " + content_type, extractor)
    assert isinstance(text, str)
    text.encode("utf-8")
