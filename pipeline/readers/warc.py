"""WARC and WET files (FastWARC): WET ``conversion`` records as they are, WARC ``response`` records with
HTML (main content, by the configured extractor under a time budget) or plain text.

The stream is decompressed by Python's gzip so that a file cut short raises instead of ending quietly;
``line`` is the record's byte offset in the uncompressed WARC. Every record is accounted for: a document,
a quarantine entry (damaged, oversized, too slow) or a counted skip (requests, metadata, images, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from filters.html_text import decode_page, page_text
from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.budget import BudgetExceeded, WorkFailed, budgeted
from pipeline.readers.files import open_input, truncation_errors
from pipeline.readers.records import Record, check_text, describe, quarantine, skip

_EXTRACTED_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = (*_EXTRACTED_TYPES, "text/plain")


class NotAWarc(OSError):
    """The file's first record is not a WARC record."""


def read_warc(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    from fastwarc.warc import ArchiveIterator

    with open_input(path, dict(source.storage_options)) as stream:
        records = iter(ArchiveIterator(stream, parse_http=False))
        held: Record | None = None  # the last document: emitted once the next record starts where it ends
        vouched = False  # whether the held document's WARC-Block-Digest matched
        first = True
        while True:
            try:
                record = next(records, None)
            except truncation_errors():
                yield from [held] if held else []  # its block was read whole before the cut
                raise
            except OSError as exc:  # the bytes after the last record are no record
                if first:
                    raise NotAWarc(f"not a WARC/WET file: {exc}") from None
                yield from _damaged_after(held, vouched, exc)
                return
            if held is not None:
                yield held
                held = None
            if record is None:
                return
            first = False
            outcome = _checked_record(record, ingest)
            if outcome.reason is None:
                held, vouched = outcome, "WARC-Block-Digest" in record.headers
            else:
                yield outcome


def _damaged_after(held: Record | None, vouched: bool, exc: OSError) -> Iterator[Record]:
    """The last document, unless its digest vouches for it, and the unreadable rest of the file."""
    if held is not None and vouched:
        yield held
    elif held is not None:
        detail = f"no WARC record follows it ({exc}): its Content-Length is wrong or the file is damaged"
        yield quarantine(held.line, "corrupt_record", detail, held.url)
    yield quarantine(-1, "corrupt_archive", f"{exc} after the last good record; the rest of the file is unread")


def _checked_record(record: Any, ingest: IngestConfig) -> Record:
    """``_record``, with a failure of this record alone (bad HTTP headers, a bad length) quarantined."""
    try:
        return _record(record, ingest)
    except truncation_errors():
        raise
    except (OSError, ValueError, UnicodeError) as exc:
        return quarantine(record.stream_pos, "corrupt_record", describe(exc))


def _record(record: Any, ingest: IngestConfig) -> Record:
    """One WARC record as a document, a quarantine entry or a skip."""
    offset = record.stream_pos
    kind = (record.headers.get("WARC-Type") or "unknown").lower()
    url = (record.headers.get("WARC-Target-URI") or "").strip("<>") or None
    if kind not in ("response", "conversion"):
        return skip(offset, f"warc_{kind}", f"WARC-Type {kind}", url)
    declared = int(record.headers.get("Content-Length") or 0)
    if declared > ingest.max_doc_bytes:
        return quarantine(offset, "too_large", f"record of {declared} bytes over ingest.max_doc_bytes", url)
    if "WARC-Block-Digest" in record.headers and not record.verify_block_digest():
        return quarantine(
            offset,
            "corrupt_record",
            "WARC-Block-Digest does not match the block (damaged or wrong Content-Length)",
            url,
        )
    if kind == "conversion":  # WET text is UTF-8 by definition
        payload = record.reader.read()
        return _document(offset, payload.decode("utf-8", errors="replace"), url, declared, len(payload))
    record.parse_http()
    content_type = (record.http_headers.get("Content-Type") or "") if record.http_headers else ""
    if not content_type.lower().lstrip().startswith(_TEXT_TYPES):
        return skip(offset, "non_text_response", f"Content-Type {content_type[:80]!r}", url)
    payload = record.reader.read()
    if len(payload) < record.content_length:
        return quarantine(
            offset, "truncated_record", f"payload of {len(payload)} bytes, {record.content_length} declared", url
        )
    if not content_type.lower().lstrip().startswith(_EXTRACTED_TYPES):
        return _document(offset, decode_page(payload, content_type, False), url, declared, declared)
    if len(payload) > ingest.extract_max_bytes:
        return quarantine(offset, "too_large", f"HTML of {len(payload)} bytes over ingest.extract_max_bytes", url)
    extract = budgeted(
        page_text, ingest.extract_timeout_s, warmup=(b"<p>warm-up</p>", "text/html", ingest.html_extractor)
    )
    try:
        text = extract(payload, content_type, ingest.html_extractor)
    except BudgetExceeded as exc:
        return quarantine(offset, "extract_timeout", f"{ingest.html_extractor}: {exc}", url)
    except WorkFailed as exc:
        return quarantine(offset, "extract_failed", f"{ingest.html_extractor}: {exc}", url)
    return _document(offset, text, url, declared, declared)


def _document(offset: int, text: str, url: str | None, declared: int, read: int) -> Record:
    if read < declared:
        return quarantine(offset, "truncated_record", f"block of {read} bytes, {declared} declared", url)
    reason, detail = check_text(text)
    return quarantine(offset, reason, detail or "", url) if reason else Record(offset, text=text, url=url)
