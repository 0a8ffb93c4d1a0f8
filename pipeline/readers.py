"""Readers: JSONL (plain, .gz, .zst), Parquet, text files and WARC/WET into document rows.

Each input file is read by one Spark task. Every record becomes either a document or a
quarantine row naming the file, the line (or record offset) and the reason, so nothing is
lost silently and a bad record never stops the job.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import html.parser
import io
import json
import lzma
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from core.errors import InputError
from core.ids import doc_id
from pipeline.config import IngestConfig, SourceConfig

RECORD_SCHEMA = StructType(
    [
        StructField("id", StringType(), False),
        StructField("source", StringType(), False),
        StructField("text", StringType(), True),
        StructField("url", StringType(), True),
        StructField("meta", StringType(), True),
        StructField("file", StringType(), False),
        StructField("line", LongType(), False),
        StructField("reason", StringType(), True),
        StructField("detail", StringType(), True),
    ]
)
DOC_COLUMNS = ["id", "source", "text", "url", "meta"]
QUARANTINE_COLUMNS = ["source", "file", "line", "reason", "detail"]
UTF8_BOM = b"\xef\xbb\xbf"
BATCH_ROWS = 1000  # records per Arrow batch handed to Spark, or fewer when their text is long:
BATCH_TEXT_CHARS = 64 * 1024 * 1024  # a batch's text stays far below Arrow's 2 GB string limit


@dataclass(frozen=True)
class InputFile:
    source: str
    path: str  # absolute, as opened
    key: str  # stable name used in ids: the path relative to its glob's base folder


@dataclass
class Record:
    """One record read from a file: a document (reason is None) or a quarantine entry."""

    line: int
    text: str | None = None
    url: str | None = None
    meta: dict | None = None
    reason: str | None = None
    detail: str | None = None


def expand_paths(source: SourceConfig) -> list[InputFile]:
    """Resolve a source's paths (files, folders, globs) to a sorted list of files.

    A file's key (part of its documents' ids) is its path relative to the common folder of all
    the source's patterns, so ``a/*.jsonl`` and ``b/*.jsonl`` with the same file names differ,
    and moving the whole input tree elsewhere keeps the ids.
    """
    matched: list[tuple[str, str]] = []  # (file, its pattern's base folder)
    for pattern in source.paths:
        if os.path.isdir(pattern):
            base = pattern
            matches = [str(p) for p in Path(pattern).rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
        elif os.path.isfile(pattern):  # a file name may itself contain glob characters: "dump [2023].jsonl"
            base, matches = os.path.dirname(pattern), [pattern]
        else:
            base = _glob_base(pattern)
            matches = [m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m)]
        if not matches:
            raise InputError(f"source {source.name!r}: no input files match {pattern!r}")
        matched += [(os.path.abspath(match), base) for match in matches]
    root = os.path.commonpath([os.path.abspath(base or ".") for _, base in matched])
    files: dict[str, InputFile] = {}
    for match, _ in matched:  # absolute: executors of a cluster do not share the driver's working folder
        files.setdefault(match, InputFile(source.name, match, os.path.relpath(match, root)))
    return sorted(files.values(), key=lambda f: f.key + "\x00" + f.path)


def input_fingerprint(sources: list[SourceConfig]) -> list[tuple[str, str, int, int]]:
    """(source, file, size, mtime in ns) of every input file: a changed or added file reruns ingest."""
    fingerprint = []
    for source in sources:
        for f in expand_paths(source):
            stat = os.stat(f.path)
            fingerprint.append((f.source, f.path, stat.st_size, stat.st_mtime_ns))
    return fingerprint


def _glob_base(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else ""


def open_binary(path: str) -> IO[bytes]:
    """Open a file, decompressing .gz, .zst and .xz transparently."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".zst"):
        return io.BufferedReader(_ZstdStream(open(path, "rb")), buffer_size=1 << 20)
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


class _ZstdStream(io.RawIOBase):
    """Streaming zstd decompression over one or more frames that notices a truncated last frame."""

    def __init__(self, raw: IO[bytes]):
        import zstandard

        self._raw, self._new = raw, zstandard.ZstdDecompressor().decompressobj
        self._decoder, self._pending, self._finished = self._new(), b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._finished:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                if not self._decoder.eof:
                    raise EOFError("zstd stream ends inside a frame")
                self._finished = True
                break
            self._pending = self._decode(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _decode(self, chunk: bytes) -> bytes:
        out = []
        while chunk:
            if self._decoder.eof:
                self._decoder = self._new()
            out.append(self._decoder.decompress(chunk))
            chunk = self._decoder.unused_data if self._decoder.eof else b""
        return b"".join(out)

    def close(self) -> None:
        self._raw.close()
        super().close()


_TRUNCATION_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


def _truncation_errors() -> tuple[type[BaseException], ...]:
    import zstandard

    return _TRUNCATION_ERRORS + (zstandard.ZstdError,)


def _unreadable_errors() -> tuple[type[BaseException], ...]:
    """A file that cannot be opened or is not what its format says (corrupt Parquet, not a WARC)."""
    from warcio.exceptions import ArchiveLoadFailed

    return OSError, pa.ArrowException, ArchiveLoadFailed


def read_file(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    """All records of one file, as documents or quarantine entries."""
    readers = {"jsonl": _read_jsonl, "parquet": _read_parquet, "text": _read_text, "warc": _read_warc}
    try:
        if os.path.getsize(path) == 0:
            yield Record(line=0, reason="ingest:empty_file", detail="zero-byte file")
            return
        yield from readers[source.format](source, path, ingest)
    except _truncation_errors() as exc:
        yield Record(line=-1, reason="ingest:truncated_archive", detail=f"{type(exc).__name__}: {exc}"[:300])
    except _unreadable_errors() as exc:
        yield Record(line=-1, reason="ingest:unreadable_file", detail=f"{type(exc).__name__}: {exc}"[:300])


def _check_text(text: object) -> tuple[str | None, str | None]:
    """(reason, detail) when a record's text is unusable, else (None, None)."""
    if text is None:
        return "ingest:missing_text", "no text field"
    if not isinstance(text, str):
        return "ingest:text_not_string", f"text is {type(text).__name__}"
    if "\x00" in text:
        return "ingest:nul_bytes", "text contains NUL bytes"
    return None, None


def _read_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number from 1, bytes) per line; bytes is None for a line over ``limit`` bytes."""
    number = 0
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):  # skip the rest of the oversized line
                chunk = stream.readline(1 << 20)
            yield number, None
            continue
        yield number, chunk


def _read_jsonl(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    with open_binary(path) as stream:
        for number, raw in _read_lines(stream, ingest.max_doc_bytes):
            if raw is None:
                yield Record(number, reason="ingest:too_large", detail=f"line over {ingest.max_doc_bytes} bytes")
                continue
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            if not raw.strip():
                continue
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Record(number, reason="ingest:invalid_utf8", detail=str(exc)[:300])
                continue
            try:
                obj = json.loads(decoded)
            except (ValueError, RecursionError) as exc:  # also too deep nesting, oversized integers
                yield Record(number, reason="ingest:invalid_json", detail=f"{type(exc).__name__}: {exc}"[:300])
                continue
            yield _record_from_object(source, number, obj)


def _record_from_object(source: SourceConfig, number: int, obj: object) -> Record:
    if not isinstance(obj, dict):
        return Record(number, reason="ingest:not_an_object", detail=f"JSON {type(obj).__name__}, expected an object")
    text = field_value(obj, source.text_field)
    reason, detail = _check_text(text)
    if reason:
        return Record(number, reason=reason, detail=f"field {source.text_field!r}: {detail}")
    url = field_value(obj, source.url_field) if source.url_field else None
    url = url if isinstance(url, str) else None
    meta = {key: value for key in source.meta_fields if (value := field_value(obj, key)) is not None} or None
    try:  # JSON escapes can smuggle in lone surrogates, which are not valid UTF-8
        for value in (text, url or "", meta_json(meta) or ""):
            value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return Record(number, reason="ingest:invalid_utf8", detail=f"lone surrogate: {exc}"[:300])
    return Record(number, text=text, url=url, meta=meta)


def field_value(obj: dict, name: str) -> object:
    """``obj[name]``; a dotted name (``meta.title``) not present as a key walks nested objects."""
    if name in obj or "." not in name:
        return obj.get(name)
    value: object = obj
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def meta_json(meta: dict | None) -> str | None:
    """The metadata fields as one JSON object; values JSON lacks (dates, decimals, bytes) as text."""
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str) if meta else None


def _read_parquet(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    wanted = [c for c in [source.text_field, source.url_field, *source.meta_fields] if c]
    columns = list(dict.fromkeys(c if c in names else c.split(".")[0] for c in wanted))  # nested: the struct column
    columns = [c for c in columns if c in names]
    number = 0
    for batch in parquet.iter_batches(columns=columns, batch_size=1000):
        for row in batch.to_pylist():
            number += 1
            text = field_value(row, source.text_field)
            if isinstance(text, str) and len(text.encode("utf-8", "surrogatepass")) > ingest.max_doc_bytes:
                yield Record(number, reason="ingest:too_large", detail=f"text over {ingest.max_doc_bytes} bytes")
                continue
            yield _record_from_object(source, number, row)


def _read_text(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    with open_binary(path) as stream:
        raw = stream.read(ingest.max_doc_bytes + 1)
    if len(raw) > ingest.max_doc_bytes:
        yield Record(0, reason="ingest:too_large", detail=f"file over {ingest.max_doc_bytes} bytes")
        return
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is not text
    except UnicodeDecodeError as exc:
        yield Record(0, reason="ingest:invalid_utf8", detail=str(exc)[:300])
        return
    reason, detail = _check_text(text)
    yield Record(0, text=text, reason=reason, detail=detail)


def _read_warc(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    """WET `conversion` records as they are; WARC `response` records with HTML or plain text."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    with open(path, "rb") as stream:
        iterator = ArchiveIterator(stream)
        for record in iterator:
            if record.format != "warc":  # warcio reads any first line it cannot parse as a legacy ARC header
                raise ArchiveLoadFailed(
                    f"not a WARC/WET file: a record at byte {iterator.offset} reads as "
                    f"{record.format} ({record.rec_headers.get_header('uri', '')[:60]!r})"
                )
            if record.rec_type not in ("conversion", "response"):
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            content_type = ""
            if record.rec_type == "response":
                content_type = (record.http_headers.get_header("Content-Type") or "") if record.http_headers else ""
                if not content_type.startswith(("text/html", "text/plain", "application/xhtml")):
                    continue
            payload = record.content_stream().read(ingest.max_doc_bytes + 1)
            offset = iterator.get_record_offset()  # only after reading: asking earlier loses the payload
            if len(payload) > ingest.max_doc_bytes:
                yield Record(
                    offset, url=url, reason="ingest:too_large", detail=f"record over {ingest.max_doc_bytes} bytes"
                )
                continue
            if record.rec_type == "conversion":  # WET text is UTF-8 by definition
                text = payload.decode("utf-8", errors="replace")
            else:
                is_html = "html" in content_type
                text = decode_page(payload, content_type, is_html)
                text = html_to_text(text) if is_html else text
            reason, detail = _check_text(text)
            yield Record(offset, text=text, url=url, reason=reason, detail=detail)


_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
# Labels browsers decode with a superset (WHATWG Encoding Standard): pages labelled gb2312 use GBK
# characters, pages labelled iso-8859-1 use windows-1252's, and so on.
_SUPERSET = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs",
    "tis-620": "cp874",
    "iso-8859-9": "cp1254",
}
_MOSTLY_UTF8 = 0.001  # at most this share of U+FFFD when a page is taken as UTF-8 with a few broken bytes


def declared_charset(content_type: str, payload: bytes, is_html: bool) -> str | None:
    """The Python codec for the charset the HTTP Content-Type (else the page's own <meta>) declares."""
    for where in (content_type.encode("latin-1", "replace"), payload[:4096] if is_html else b""):
        match = _CHARSET.search(where)
        if match:
            label = match.group(1).decode("ascii").lower()
            try:
                return codecs.lookup(_SUPERSET.get(label, label)).name
            except LookupError:
                continue
    return None


def decode_page(payload: bytes, content_type: str, is_html: bool) -> str:
    """A web page's text: in its declared charset, else UTF-8, else the charset charset-normalizer finds.

    A UTF-8 page (declared or not) with a few broken bytes keeps its text, with U+FFFD for those bytes.
    """
    declared = declared_charset(content_type, payload, is_html)
    for encoding in dict.fromkeys([declared, "utf-8"]):
        if encoding:
            try:
                return payload.decode(encoding)
            except UnicodeDecodeError:
                pass
    if declared in (None, "utf-8"):
        text = payload.decode("utf-8", errors="replace")
        if text.count("\ufffd") <= _MOSTLY_UTF8 * len(text):
            return text
    import charset_normalizer

    best = charset_normalizer.from_bytes(payload).best()
    return str(best) if best is not None else payload.decode(declared or "utf-8", errors="replace")


class _VisibleText(html.parser.HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "object"}
    _IN_HEAD = {"title", "meta", "link", "style", "script", "base", "noscript", "template"}
    _BLOCK = {
        "p",
        "div",
        "br",
        "hr",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "main",
        "aside",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "table",
        "caption",
        "thead",
        "tbody",
        "tfoot",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "form",
        "fieldset",
        "legend",
        "details",
        "summary",
        "address",
        "option",
        "body",
    }
    _CELL = {"td", "th"}  # cells of a row stay on the row's line, separated by a space

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "head":
            self.in_head = True
        elif self.in_head and tag not in self._IN_HEAD:  # HTML5: </head> and <body> may be left out
            self.in_head = False
        if tag in self._SKIP:
            self.skipping += 1
        self._separate(tag)

    def handle_startendtag(self, tag, attrs):  # <svg/>, <br/>: nothing to skip inside
        self._separate(tag)

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False
        elif tag in self._SKIP and self.skipping:
            self.skipping -= 1
        self._separate(tag)

    def _separate(self, tag: str) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in self._CELL:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skipping and not self.in_head:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page, one block element per line (like a WET extract)."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def read_sources(spark: SparkSession, sources: list[SourceConfig], ingest: IngestConfig) -> DataFrame:
    """One row per record of every source: documents (reason null) and quarantine entries."""
    files = [(source, f) for source in sources for f in expand_paths(source)]
    tasks = [(source.model_dump(), f.path, f.key) for source, f in files]
    ingest_dump = ingest.model_dump()
    arrow_schema = pa.schema(
        [
            pa.field("id", pa.string(), False),
            pa.field("source", pa.string(), False),
            pa.field("text", pa.string()),
            pa.field("url", pa.string()),
            pa.field("meta", pa.string()),
            pa.field("file", pa.string(), False),
            pa.field("line", pa.int64(), False),
            pa.field("reason", pa.string()),
            pa.field("detail", pa.string()),
        ]
    )

    def read_tasks(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        ingest_cfg = IngestConfig(**ingest_dump)
        for batch in batches:
            for index in batch.column("id").to_pylist():
                source_dump, path, key = tasks[index]
                source = SourceConfig(**source_dump)
                rows: list[dict] = []
                text_chars = 0
                for record in read_file(source, path, ingest_cfg):
                    rows.append(
                        {
                            "id": doc_id(source.name, key, record.line),
                            "source": source.name,
                            "text": record.text if record.reason is None else None,
                            "url": record.url,
                            "meta": meta_json(record.meta),
                            "file": path,
                            "line": record.line,
                            "reason": record.reason,
                            "detail": record.detail,
                        }
                    )
                    text_chars += len(record.text or "")
                    if len(rows) >= BATCH_ROWS or text_chars >= BATCH_TEXT_CHARS:  # Arrow strings stop at 2 GB
                        yield pa.RecordBatch.from_pylist(rows, schema=arrow_schema)
                        rows, text_chars = [], 0
                if rows:
                    yield pa.RecordBatch.from_pylist(rows, schema=arrow_schema)

    file_index = spark.range(0, len(tasks), 1, numPartitions=max(1, len(tasks)))
    return file_index.mapInArrow(read_tasks, RECORD_SCHEMA)
