"""Text files: one UTF-8 document per file (line 0)."""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.files import open_input
from pipeline.readers.records import Record, check_text, quarantine


def read_text(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    with open_input(path, dict(source.storage_options)) as stream:
        raw = stream.read(ingest.max_doc_bytes + 1)
    if len(raw) > ingest.max_doc_bytes:
        yield quarantine(0, "too_large", f"file over {ingest.max_doc_bytes} bytes (ingest.max_doc_bytes)")
        return
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is not text
    except UnicodeDecodeError as exc:
        yield quarantine(0, "invalid_utf8", str(exc))
        return
    reason, detail = check_text(text)
    yield quarantine(0, reason, detail or "") if reason else Record(0, text=text)
