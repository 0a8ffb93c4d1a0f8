import gzip
import io
import json
from collections import Counter

import pytest
import zstandard

from core.errors import InputError
from core.ids import doc_id
from filters.html_text import html_to_text
from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers import expand_paths, read_file, read_sources
from tests.conftest import shared_data

INGEST = IngestConfig(max_doc_bytes=1000)


def jsonl_source(path, **kw):
    return SourceConfig(name="web", format="jsonl", paths=[str(path)], **kw)


def records(source, path, ingest=INGEST):
    return list(read_file(source, str(path), ingest))


def test_jsonl_good_and_malformed_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [
        json.dumps({"text": "good one", "url": "http://x", "title": "T"}).encode(),
        b'{"text": "unterminated',
        b'{"text": "bad \xff utf8"}',
        b"[1, 2]",
        json.dumps({"text": 5}).encode(),
        json.dumps({"body": "no text"}).encode(),
        json.dumps({"text": "nul \u0000 inside"}).encode(),
        b"",
        json.dumps({"text": "x" * 2000}).encode(),
        json.dumps({"text": "last"}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    got = [(r.line, r.reason) for r in records(jsonl_source(path, meta_fields=["title"]), path)]
    assert got == [
        (1, None),
        (2, "ingest:invalid_json"),
        (3, "ingest:invalid_utf8"),
        (4, "ingest:not_an_object"),
        (5, "ingest:text_not_string"),
        (6, "ingest:missing_text"),
        (7, "ingest:nul_bytes"),
        (9, "ingest:too_large"),
        (10, None),
    ]
    first = records(jsonl_source(path, meta_fields=["title"]), path)[0]
    assert (first.text, first.url, first.meta) == ("good one", "http://x", {"title": "T"})


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_jsonl_and_truncation(tmp_path, suffix):
    payload = b"".join(
        json.dumps({"text": " ".join(str(i * j) for j in range(300))}).encode() + b"\n" for i in range(1000)
    )
    packed = gzip.compress(payload) if suffix == ".gz" else zstandard.ZstdCompressor().compress(payload)
    whole, cut = tmp_path / f"whole.jsonl{suffix}", tmp_path / f"cut.jsonl{suffix}"
    whole.write_bytes(packed)
    cut.write_bytes(packed[: len(packed) // 2])
    assert [r.reason for r in records(jsonl_source(whole), whole, IngestConfig())] == [None] * 1000
    got = records(jsonl_source(cut), cut, IngestConfig())
    assert got[-1].reason == "ingest:truncated_archive"
    assert 0 < len(got) - 1 < 1000 and all(r.reason is None for r in got[:-1])


def test_empty_file_text_files_and_parquet(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert [r.reason for r in records(jsonl_source(empty), empty)] == ["ingest:empty_file"]
    txt = tmp_path / "doc.txt"
    txt.write_text("第一行\nsecond line\n", encoding="utf-8")
    text_source = SourceConfig(name="books", format="text", paths=[str(tmp_path)])
    assert records(text_source, txt)[0].text == "第一行\nsecond line\n"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"content": ["a doc", None, "b doc"]}), tmp_path / "p.parquet")
    parquet_source = SourceConfig(
        name="pq", format="parquet", paths=[str(tmp_path / "p.parquet")], text_field="content"
    )
    assert [(r.line, r.reason) for r in records(parquet_source, tmp_path / "p.parquet")] == [
        (1, None),
        (2, "ingest:missing_text"),
        (3, None),
    ]


def test_corrupt_parquet_and_warc_files_are_quarantined_not_fatal(tmp_path):
    not_parquet, not_warc = tmp_path / "broken.parquet", tmp_path / "broken.warc.gz"
    not_parquet.write_bytes(b"PAR1 this is not a parquet file at all")
    not_warc.write_bytes(gzip.compress(b"<html>a web page, compressed whole, no WARC headers</html>\n" * 50))
    for fmt, path in (("parquet", not_parquet), ("warc", not_warc)):
        got = records(SourceConfig(name="s", format=fmt, paths=[str(path)]), path)
        assert [(r.line, r.reason) for r in got] == [(-1, "ingest:unreadable_file")], fmt
        assert got[0].detail


def test_parquet_metadata_of_any_type_becomes_json_text(tmp_path):
    import datetime
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.readers import meta_json

    pq.write_table(
        pa.table(
            {
                "text": ["a doc"],
                "when": [datetime.datetime(2024, 5, 1, 12, 0)],
                "price": [decimal.Decimal("1.50")],
                "raw": [b"\x00\x01"],
            }
        ),
        tmp_path / "m.parquet",
    )
    source = SourceConfig(name="pq", format="parquet", paths=[str(tmp_path)], meta_fields=["when", "price", "raw"])
    [record] = records(source, tmp_path / "m.parquet")
    assert record.reason is None
    assert json.loads(meta_json(record.meta)) == {
        "when": "2024-05-01 12:00:00",
        "price": "1.50",
        "raw": "b'\\x00\\x01'",
    }


def test_warc_and_wet_records():
    """Responses become documents (main content, no markup); requests, metadata and warcinfo are counted skips."""
    warc = shared_data("warc", "whirlwind.warc.gz")
    wet = shared_data("warc", "whirlwind.warc.wet.gz")
    big = IngestConfig()
    from_warc = records(SourceConfig(name="c", format="warc", paths=[str(warc)]), warc, big)
    from_wet = records(SourceConfig(name="c", format="warc", paths=[str(wet)]), wet, big)
    assert [r.reason for r in from_warc] == [
        "skipped:warc_warcinfo",
        "skipped:warc_request",
        None,
        "skipped:warc_metadata",
    ]
    assert [r.reason for r in from_wet] == ["skipped:warc_warcinfo", None]
    documents = [r for r in from_warc + from_wet if r.reason is None]
    assert all(r.url == "https://an.wikipedia.org/wiki/Escopete" for r in documents)
    assert all(len(r.text) > 1000 for r in documents)
    assert "<" not in documents[0].text and "Escopete" in documents[0].text  # markup removed, content kept
    sample = shared_data("warc", "sample-0000.warc.gz")
    pages = records(SourceConfig(name="c", format="warc", paths=[str(sample)]), sample, big)
    kinds = Counter(r.reason or "document" for r in pages)
    assert kinds["document"] > 10 and all(r.text.strip() for r in pages if r.reason is None)
    assert set(kinds) <= {
        "document",
        "skipped:warc_warcinfo",
        "skipped:warc_request",
        "skipped:warc_metadata",
        "skipped:warc_resource",
        "skipped:non_text_response",
    }


def test_html_to_text_keeps_main_content_without_scripts_or_navigation():
    article = "<p>" + "The committee met on Tuesday to discuss the new library budget for the town. " * 5 + "</p>"
    markup = (
        "<html><head><title>t</title><script>var x=1;</script><style>p{}</style></head><body>"
        f"<nav><a href=/>Home</a> <a href=/news>News</a></nav><article><h1>Budget</h1>{article}"
        "<p>One &amp; two</p></article><footer>Copyright 2024 Example Inc.</footer></body></html>"
    )
    for extractor in ("resiliparse", "trafilatura"):
        text = html_to_text(markup, extractor)
        assert "The committee met on Tuesday" in text and "One & two" in text, extractor
        assert "var x" not in text and "p{}" not in text and "Copyright 2024" not in text, extractor


def test_pathological_html_is_linear():
    """'<a ' * n took html.parser 33 s at 60 KB (quadratic, CPython issue 135462); the extractors take well under 1 s."""
    import time

    started = time.perf_counter()
    html_to_text("<a " * 2_000_000)  # 6 MB
    assert time.perf_counter() - started < 20


def write_warc(path, pages):
    """A gzipped WARC of HTTP responses: (url, Content-Type, payload bytes)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for url, content_type, payload in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=headers)
            )


def test_warc_pages_are_decoded_in_their_charset(tmp_path):
    german = "Ein schöner Tag in München, viele Grüße aus Köln und Düsseldorf. " * 20
    pages = [
        ("http://a/zh", "text/html; charset=gb2312", "<p>朱镕基曾任国务院总理。北京是中国的首都。</p>".encode("gbk")),
        (
            "http://a/fr",
            "text/html",
            '<head><meta charset="iso-8859-1"></head><p>Café crème, très élégant.</p>'.encode("cp1252"),
        ),
        ("http://a/de", "text/html", f"<p>{german}</p>".encode("cp1252")),  # declared nowhere
        ("http://a/utf8", "text/html; charset=utf-8", f"<p>{'naïve café ' * 200}".encode() + b"\xff</p>"),
        ("http://a/plain", "text/plain; charset=windows-1251", "Привет, мир".encode("cp1251")),
    ]
    path = tmp_path / "pages.warc.gz"
    write_warc(path, pages)
    got = {
        r.url: r.text for r in records(SourceConfig(name="c", format="warc", paths=[str(path)]), path, IngestConfig())
    }
    assert got["http://a/zh"] == "朱镕基曾任国务院总理。北京是中国的首都。"  # gb2312 label: GBK's 镕 too
    assert got["http://a/fr"] == "Café crème, très élégant."
    assert got["http://a/de"] == german.strip()
    assert got["http://a/utf8"].startswith("naïve café naïve") and got["http://a/utf8"].endswith("\ufffd")
    assert got["http://a/plain"] == "Привет, мир"


def test_nested_fields_byte_order_marks_and_literal_file_names(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dump [2023].jsonl"
    record = {"doc": {"body": "nested text"}, "meta": {"title": "T"}, "url": "http://x"}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(record).encode() + b"\n")
    monkeypatch.chdir(tmp_path)
    source = SourceConfig(
        name="web",
        format="jsonl",
        paths=["dump [2023].jsonl"],
        text_field="doc.body",
        meta_fields=["meta.title", "meta.missing"],
    )
    [file] = expand_paths(source)
    assert file.path == str(path) and file.key == path.name  # absolute; the brackets are no glob
    [got] = records(source, path)
    assert (got.reason, got.text, got.meta, got.url) == (None, "nested text", {"meta.title": "T"}, "http://x")

    txt = tmp_path / "bom.txt"
    txt.write_bytes(b"\xef\xbb\xbfhello")
    assert records(SourceConfig(name="b", format="text", paths=[str(txt)]), txt)[0].text == "hello"
    pq.write_table(pa.table({"doc": [{"body": "from a struct", "n": 1}], "other": [1]}), tmp_path / "s.parquet")
    parquet = SourceConfig(name="p", format="parquet", paths=[str(tmp_path / "s.parquet")], text_field="doc.body")
    assert [r.text for r in records(parquet, tmp_path / "s.parquet")] == ["from a struct"]


def test_paths_ids_and_missing_inputs(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.jsonl", "a.jsonl", "sub/c.jsonl"):
        (tmp_path / name).write_text('{"text": "x"}\n')
    files = expand_paths(jsonl_source(tmp_path / "**" / "*.jsonl"))
    assert [f.key for f in files] == ["a.jsonl", "b.jsonl", "sub/c.jsonl"]
    assert doc_id("web", "a.jsonl", 1) == doc_id("web", "a.jsonl", 1) != doc_id("web", "a.jsonl", 2)
    with pytest.raises(InputError, match="no input files match"):
        expand_paths(jsonl_source(tmp_path / "nothing*.jsonl"))


def test_same_file_names_under_two_patterns_get_different_ids(tmp_path):
    for crawl in ("crawl23", "crawl24"):
        (tmp_path / crawl).mkdir()
        (tmp_path / crawl / "part-0.jsonl").write_text('{"text": "x"}\n')
    two = SourceConfig(
        name="web", format="jsonl", paths=[str(tmp_path / "crawl23" / "*.jsonl"), str(tmp_path / "crawl24")]
    )
    assert [f.key for f in expand_paths(two)] == ["crawl23/part-0.jsonl", "crawl24/part-0.jsonl"]
    assert [f.key for f in expand_paths(jsonl_source(tmp_path / "crawl24" / "*.jsonl"))] == ["part-0.jsonl"]


def test_read_sources_in_spark(spark, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "hello"}\n{bad\n{"text": "world"}\n')
    rows = read_sources(spark, [jsonl_source(path)], INGEST).orderBy("line").collect()
    assert [(r["line"], r["text"], r["reason"]) for r in rows] == [
        (1, "hello", None),
        (2, None, "ingest:invalid_json"),
        (3, "world", None),
    ]
    assert rows[1]["file"] == str(path) and "Expecting" in rows[1]["detail"]


@pytest.mark.parametrize("label", ["base64", "rot13", "undefined", "punycode", "unicode_escape", "utf-7", "x-nonsense"])
def test_charsets_that_are_no_text_encoding_fall_back_to_the_bytes(label):
    """`charset=base64` ended the whole job with LookupError; `unicode_escape` made lone surrogates."""
    from filters.html_text import charset_codec, decode_page

    assert charset_codec(label) is None
    payload = "<p>Grüße aus Köln \\ud800 und München</p>".encode()
    text = decode_page(payload, f"text/html; charset={label}", True)
    assert text == payload.decode("utf-8")
    text.encode("utf-8")  # no lone surrogate


def test_warc_response_kinds_and_mixed_case_content_types(tmp_path):
    pages = [
        ("http://a/upper", "Text/HTML; Charset=UTF-8", b"<article><p>" + b"Upper case type. " * 20 + b"</p></article>"),
        (
            "http://a/xhtml",
            "application/xhtml+xml",
            b"<html><body><p>" + b"An XHTML page. " * 20 + b"</p></body></html>",
        ),
        ("http://a/png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(200)),
        ("http://a/pdf", "application/pdf", b"%PDF-1.4 " + bytes(400)),
    ]
    path = tmp_path / "kinds.warc.gz"
    write_warc(path, pages)
    got = {r.url: r for r in records(SourceConfig(name="c", format="warc", paths=[str(path)]), path, IngestConfig())}
    assert got["http://a/upper"].reason is None and got["http://a/upper"].text.startswith("Upper case type.")
    assert got["http://a/xhtml"].reason is None and "An XHTML page." in got["http://a/xhtml"].text
    assert got["http://a/png"].reason == got["http://a/pdf"].reason == "skipped:non_text_response"
    assert "image/png" in got["http://a/png"].detail
    small = IngestConfig(max_doc_bytes=300)  # over it: the image is still a skip, the pages are too large
    got = {r.url: r.reason for r in records(SourceConfig(name="c", format="warc", paths=[str(path)]), path, small)}
    assert got == {
        "http://a/upper": "ingest:too_large",
        "http://a/xhtml": "ingest:too_large",
        "http://a/png": "skipped:non_text_response",
        "http://a/pdf": "skipped:non_text_response",
    }


def test_extraction_over_its_time_budget_is_quarantined_and_the_next_page_is_read(tmp_path):
    heavy = b"<html><body>" + b"<div><p>A paragraph of text that the extractor must walk.</p></div>" * 150_000
    pages = [
        ("http://a/heavy", "text/html", heavy),  # about 10 MB: far over a 0.05 s budget
        ("http://a/light", "text/html", b"<article><p>" + b"A light page. " * 30 + b"</p></article>"),
    ]
    path = tmp_path / "slow.warc.gz"
    write_warc(path, pages)
    budget = IngestConfig(extract_timeout_s=0.05, extract_max_bytes=20_000_000, max_doc_bytes=20_000_000)
    got = {r.url: r for r in records(SourceConfig(name="c", format="warc", paths=[str(path)]), path, budget)}
    assert got["http://a/heavy"].reason == "ingest:extract_timeout"
    assert "budget 0.05s" in got["http://a/heavy"].detail
    assert got["http://a/light"].reason is None and got["http://a/light"].text.startswith("A light page.")
    small = IngestConfig(extract_max_bytes=1_000_000, max_doc_bytes=20_000_000)
    got = {r.url: r for r in records(SourceConfig(name="c", format="warc", paths=[str(path)]), path, small)}
    assert got["http://a/heavy"].reason == "ingest:too_large" and "extract_max_bytes" in got["http://a/heavy"].detail


def test_chunked_http_bodies_are_joined(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    article = b"<article><p>" + b"A page sent in chunks. " * 20 + b"</p></article>"
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (article[:100], article[100:])) + b"0\r\n\r\n"
    path = tmp_path / "chunked.warc.gz"
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for url, body in (("http://a/chunked", chunked), ("http://a/joined-already", article)):
            headers = [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]
            http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    got = {
        r.url: r.text for r in records(SourceConfig(name="c", format="warc", paths=[str(path)]), path, IngestConfig())
    }
    assert got["http://a/chunked"] == got["http://a/joined-already"] == ("A page sent in chunks. " * 20).strip()


def test_compressed_http_bodies_are_inflated_within_the_size_budget(tmp_path):
    import zlib

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    article = b"<article><p>" + b"A page sent gzipped. " * 20 + b"</p></article>"
    bodies = {
        "http://a/gzip": ("gzip", gzip.compress(article)),
        "http://a/deflate": ("deflate", zlib.compress(article)),
        "http://a/inflated-already": ("gzip", article),
        "http://a/bomb": ("gzip", gzip.compress(b"<p>" + b"0" * 30_000_000 + b"</p>")),  # 30 MB from 30 KB
    }
    path = tmp_path / "encoded.warc.gz"
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for url, (encoding, body) in bodies.items():
            headers = [("Content-Type", "text/html"), ("Content-Encoding", encoding)]
            http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    got = {r.url: r for r in records(SourceConfig(name="c", format="warc", paths=[str(path)]), path, IngestConfig())}
    expected = ("A page sent gzipped. " * 20).strip()
    assert (
        got["http://a/gzip"].text == got["http://a/deflate"].text == got["http://a/inflated-already"].text == expected
    )
    assert got["http://a/bomb"].reason == "ingest:too_large" and "inflates past" in got["http://a/bomb"].detail


def _crash(kind: str) -> str:
    """Work for the budget test: dies like a segfaulting extension, raises, or answers."""
    import os

    if kind == "die":
        os._exit(139)
    if kind == "raise":
        raise ValueError("bad page")
    return kind.upper()


def test_budgeted_child_survives_crashes_and_errors():
    from core.budget import Budgeted, WorkFailed

    work = Budgeted(_crash, 10.0, warmup=("warm",))
    assert work("ok") == "OK"
    with pytest.raises(WorkFailed, match="died"):
        work("die")
    with pytest.raises(WorkFailed, match="ValueError: bad page"):
        work("raise")
    assert work("again") == "AGAIN"  # a fresh child after the crash
    work._stop()


def test_own_ids_are_kept_and_bad_ones_quarantined(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "own.jsonl"
    lines = [
        {"id": "doc-a", "text": "first"},
        {"id": 17, "text": "second"},
        {"text": "no id"},
        {"id": [1], "text": "x"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    got = records(jsonl_source(path, id_field="id"), path)
    assert [(r.doc_id, r.reason) for r in got] == [
        ("doc-a", None),
        ("17", None),
        (None, "ingest:missing_id"),
        (None, "ingest:invalid_id"),
    ]
    pq.write_table(pa.table({"doc_id": ["p1", "p2"], "text": ["a", "b"]}), tmp_path / "own.parquet")
    parquet = SourceConfig(name="p", format="parquet", paths=[str(tmp_path / "own.parquet")], id_field="doc_id")
    assert [r.doc_id for r in records(parquet, tmp_path / "own.parquet")] == ["p1", "p2"]


def test_own_ids_in_spark_with_duplicates_quarantined(spark, tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "x", "text": "one"}\n{"id": "y", "text": "two"}\n')
    (tmp_path / "b.jsonl").write_text('{"id": "x", "text": "again"}\n{"id": "z", "text": "three"}\n')
    rows = read_sources(spark, [jsonl_source(tmp_path, id_field="id")], INGEST).collect()
    documents = sorted((r["id"], r["text"], r["line"]) for r in rows if r["reason"] is None)
    assert documents == [("x", "one", 1), ("y", "two", 2), ("z", "three", 2)]
    [duplicate] = [r for r in rows if r["reason"] is not None]
    assert (duplicate["reason"], duplicate["file"], duplicate["line"]) == (
        "ingest:duplicate_id",
        str(tmp_path / "b.jsonl"),
        1,
    )
    assert duplicate["detail"] == f"id first read at {tmp_path / 'a.jsonl'}:1" and duplicate["text"] is None


def test_credentials_never_enter_the_config():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="credentials do not belong in the config"):
        SourceConfig(name="s", format="jsonl", paths=["s3://b/x"], storage_options={"secret": "s3cr3t"})
    with pytest.raises(ValidationError, match="password in a URL"):
        SourceConfig(name="s", format="jsonl", paths=["https://user:pw@host/x.jsonl"])
    with pytest.raises(ValidationError, match="jsonl and parquet only"):
        SourceConfig(name="s", format="warc", paths=["x.warc.gz"], id_field="id")
    ok = SourceConfig(name="s", format="jsonl", paths=["s3://b/x"], storage_options={"profile": "crawl", "anon": False})
    assert ok.storage_options == {"profile": "crawl", "anon": False}


def test_symlinks_in_input_folders(tmp_path, caplog):
    folder, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (elsewhere / "real.jsonl").write_text('{"text": "linked"}\n')
    (folder / "link.jsonl").symlink_to(elsewhere / "real.jsonl")
    (folder / "broken.jsonl").symlink_to(elsewhere / "missing.jsonl")
    (folder / "loop").symlink_to(tmp_path, target_is_directory=True)
    source = jsonl_source(folder)
    files = expand_paths(source)
    assert [f.key for f in files] == ["broken.jsonl", "link.jsonl"]
    assert "loop: a symlinked folder, not followed" in caplog.text
    outcomes = {f.key: [(r.line, r.reason, r.text) for r in records(source, f.path)] for f in files}
    assert outcomes["link.jsonl"] == [(1, None, "linked")]
    assert outcomes["broken.jsonl"][0][:2] == (-1, "ingest:unreadable_file")


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_corpus_stage_keeps_the_inputs_own_ids(spark, tmp_path, fmt):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml

    from pipeline.cli import main

    ids, texts = ["user-7", "user-9"], [f"Document {i}: long enough to pass the normalize stage." for i in range(2)]
    path = tmp_path / f"mine.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"id": i, "text": t, "source": "forum"}) + "\n" for i, t in zip(ids, texts)))
    else:
        pq.write_table(pa.table({"id": ids, "text": texts}), path)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(tmp_path / "unused"), "partitions": 4},
                "sources": [{"name": "web", "format": "jsonl", "paths": [str(path)]}],
                "stages": {"normalize": {"min_chars": 10}},
            }
        )
    )
    out = tmp_path / "out"
    assert main(["stage", "normalize", "--config", str(config), "--input", str(path), "--output", str(out)]) == 0
    kept = spark.read.parquet(str(out / "data")).select("id", "text").orderBy("id").collect()
    assert [(row["id"], row["text"]) for row in kept] == list(zip(ids, texts))


def test_a_remote_path_that_cannot_be_listed_is_one_input_error(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no look-up of an instance's credentials
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    source = jsonl_source("s3://no-bucket/crawl/", storage_options={"endpoint_url": "http://127.0.0.1:9"})
    with pytest.raises(InputError, match=r"cannot list 's3://no-bucket/crawl/' \(NoCredentialsError"):
        expand_paths(source)
