"""WARC and WET files (FastWARC): WET ``conversion`` records as they are, WARC ``response`` records with
HTML (main content, by the configured extractor under a time budget) or plain text.

The stream is decompressed by Python's gzip so that a file cut short raises instead of ending quietly;
``line`` is the record's byte offset in the uncompressed WARC. Every record is accounted for: a document,
a quarantine entry (damaged, oversized, too slow) or a counted skip (requests, metadata, images, ...).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from core.budget import BudgetExceeded, WorkFailed, budgeted
from filters.html_text import decode_page, page_text
from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.files import open_input, truncation_errors
from pipeline.readers.records import Record, check_text, describe, quarantine, skip

_EXTRACTED_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = (*_EXTRACTED_TYPES, "text/plain")


class NotAWarc(OSError):
    """The file's first record is not a WARC record."""


class _EndsAtCut(io.RawIOBase):
    """A decompressed stream that ends quietly where the compressed file is cut, and remembers the cut:
    FastWARC reads ahead, so an error raised into it would lose the complete records it holds."""

    def __init__(self, stream: IO[bytes]):
        super().__init__()
        # read1: one read of the layer below, so that the bytes before a cut come out before the error
        self.read_some, self.cut, self.position = getattr(stream, "read1", stream.read), "", 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.cut:
            return 0
        try:
            data = self.read_some(len(buffer))
        except truncation_errors() as exc:
            self.cut = describe(exc)
            return 0
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position


def read_warc(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    from fastwarc.warc import ArchiveIterator

    with open_input(path, dict(source.storage_options)) as raw:
        stream = _EndsAtCut(raw)
        records = iter(ArchiveIterator(stream, parse_http=False))
        held: tuple[Record, bool] | None = None  # the last outcome and whether its digest matched: emitted
        first = True  # once the next record is seen to start where its Content-Length ends
        while True:
            try:
                record = next(records, None)
            except OSError as exc:  # the bytes after the last record are no record
                if first and not stream.cut:
                    raise NotAWarc(f"not a WARC/WET file: {exc}") from None
                yield from _damaged_after(held, stream.cut or describe(exc), bool(stream.cut))
                return
            if held is not None:
                yield held[0]
            if record is None:
                if stream.cut and not (held and held[0].reason == "ingest:truncated_archive"):
                    yield quarantine(-1, "truncated_archive", f"{stream.cut}, after the last complete record")
                return
            first = False
            outcome, vouched = _checked_record(record, ingest)
            if stream.cut and outcome.reason in ("ingest:corrupt_record", "ingest:truncated_record"):
                outcome = quarantine(outcome.line, "truncated_archive", f"cut short: {stream.cut}", outcome.url)
            held = (outcome, vouched)


def _damaged_after(held: tuple[Record, bool] | None, problem: str, cut: bool) -> Iterator[Record]:
    """The last record, unless nothing vouches for its length, and the unreadable rest of the file."""
    if held is not None and (held[1] or cut):  # a cut file: the record before the cut was read whole
        yield held[0]
    elif held is not None:
        detail = f"no WARC record follows it ({problem}): its Content-Length is wrong or the file is damaged"
        yield quarantine(held[0].line, "corrupt_record", detail, held[0].url)
    if cut:
        yield quarantine(-1, "truncated_archive", f"{problem}, inside a record header")
    else:
        yield quarantine(-1, "corrupt_archive", f"{problem} after the last good record; the rest of the file is unread")


def _checked_record(record: Any, ingest: IngestConfig) -> tuple[Record, bool]:
    """(the record as a document, quarantine entry or skip, whether its WARC-Block-Digest vouches for it);
    a failure of this record alone (a digest that does not match, bad HTTP headers) quarantines it."""
    offset, url = record.stream_pos, (record.headers.get("WARC-Target-URI") or "").strip("<>") or None
    kind = (record.headers.get("WARC-Type") or "unknown").lower()
    try:
        declared = int(record.headers.get("Content-Length") or 0)
        if declared > ingest.max_doc_bytes:  # neither read nor checked: skipped if it is not text anyway
            detail = f"record of {declared} bytes over ingest.max_doc_bytes"
            return _skipped(record, kind, offset, url) or quarantine(offset, "too_large", detail, url), False
        vouched = "WARC-Block-Digest" in record.headers
        if vouched and not record.verify_block_digest():
            detail = "WARC-Block-Digest does not match the block (damaged, cut, or a wrong Content-Length)"
            return quarantine(offset, "corrupt_record", detail, url), False
        return _skipped(record, kind, offset, url) or _document(record, kind, offset, url, ingest), vouched
    except (OSError, ValueError, UnicodeError) as exc:
        return quarantine(offset, "corrupt_record", describe(exc), url), False


def _skipped(record: Any, kind: str, offset: int, url: str | None) -> Record | None:
    """The skip entry of a record left out on purpose (a request, metadata, ...; a response that is not
    text), else None. A response's HTTP headers are parsed here."""
    if kind not in ("response", "conversion"):
        return skip(offset, f"warc_{kind}", f"WARC-Type {kind}", url)
    if kind == "response":
        record.parse_http()
        if not _content_type(record).lower().lstrip().startswith(_TEXT_TYPES):
            return skip(offset, "non_text_response", f"Content-Type {_content_type(record)[:80]!r}", url)
    return None


def _content_type(record: Any) -> str:
    return (record.http_headers.get("Content-Type") or "") if record.http_headers else ""


def _document(record: Any, kind: str, offset: int, url: str | None, ingest: IngestConfig) -> Record:
    """A WET conversion or a text response (HTTP headers parsed) as a document, or why it cannot be one."""
    payload = record.reader.read()
    if len(payload) < record.content_length:
        return quarantine(offset, "truncated_record", f"{len(payload)} bytes, {record.content_length} declared", url)
    if kind == "conversion":  # WET text is UTF-8 by definition
        return _text_document(offset, payload.decode("utf-8", errors="replace"), url)
    if "chunked" in (record.http_headers.get("Transfer-Encoding") or "").lower():
        payload = _unchunked(payload)
    encoding = (record.http_headers.get("Content-Encoding") or "").strip().lower()
    if encoding in _CONTENT_DECODERS:
        payload = _decoded(payload, encoding, ingest.extract_max_bytes)
        if payload is None:
            detail = f"{encoding} body inflates past ingest.extract_max_bytes ({ingest.extract_max_bytes})"
            return quarantine(offset, "too_large", detail, url)
    content_type = _content_type(record)
    if not content_type.lower().lstrip().startswith(_EXTRACTED_TYPES):
        return _text_document(offset, decode_page(payload, content_type, False), url)
    if len(payload) > ingest.extract_max_bytes:
        return quarantine(offset, "too_large", f"HTML of {len(payload)} bytes over ingest.extract_max_bytes", url)
    warmup = (b"<p>warm-up</p>", "text/html", ingest.html_extractor)
    try:
        text = budgeted(page_text, ingest.extract_timeout_s, warmup)(payload, content_type, ingest.html_extractor)
    except BudgetExceeded as exc:
        return quarantine(offset, "extract_timeout", f"{ingest.html_extractor}: {exc}", url)
    except WorkFailed as exc:
        return quarantine(offset, "extract_failed", f"{ingest.html_extractor}: {exc}", url)
    return _text_document(offset, text, url)


_CONTENT_DECODERS = ("gzip", "x-gzip", "deflate", "br")


def _decoded(payload: bytes, encoding: str, limit: int) -> bytes | None:
    """An HTTP body sent compressed (``Content-Encoding``), inflated by FastWARC's readers but never past
    ``limit`` bytes (None then: a gzip bomb stays small); a body the crawler already inflated is used as is."""
    from fastwarc.stream_io import BrotliReader, GzipReader

    stream = io.BytesIO(payload)
    reader = BrotliReader(stream) if encoding == "br" else GzipReader(stream, zlib=encoding == "deflate")
    try:
        inflated = reader.read(limit + 1)
    except OSError:
        return payload
    return None if len(inflated) > limit else inflated


def _unchunked(payload: bytes) -> bytes:
    """An HTTP body sent in chunks, joined (FastWARC's decoder); a body whose crawler already joined the
    chunks but kept the header is used as it is."""
    from fastwarc.stream_io import ChunkedReader

    try:
        return ChunkedReader(io.BytesIO(payload)).read()
    except OSError:
        return payload


def _text_document(offset: int, text: str, url: str | None) -> Record:
    reason, detail = check_text(text)
    return quarantine(offset, reason, detail or "", url) if reason else Record(offset, text=text, url=url)
