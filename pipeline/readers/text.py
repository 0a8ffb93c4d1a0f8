"""Text files: one document per file (line 0), UTF-8 or decoded with ``ingest.text_decoding``'s fallback."""

from __future__ import annotations

from collections.abc import Iterator

from filters.text_decode import decode_text
from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.files import open_input
from pipeline.readers.records import Record, check_text, quarantine

DECODED_AS, REPLACED = "decoded_as", "replaced_chars"  # meta of a file decoded with the fallback


def read_text(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    with open_input(path, dict(source.storage_options)) as stream:
        raw = stream.read(ingest.max_doc_bytes + 1)
    if len(raw) > ingest.max_doc_bytes:
        yield quarantine(0, "too_large", f"file over {ingest.max_doc_bytes} bytes (ingest.max_doc_bytes)")
        return
    decoded = decode_text(raw, ingest.text_decoding)
    if decoded.text is None:
        try:
            raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield quarantine(0, "invalid_utf8", f"{exc} (ingest.text_decoding: strict)")
        return
    reason, detail = check_text(decoded.text)
    if reason:
        yield quarantine(0, reason, detail or "")
        return
    fallback = decoded.encoding != "utf-8" or decoded.replaced
    meta = {DECODED_AS: decoded.encoding, REPLACED: decoded.replaced} if fallback else None
    yield Record(0, text=decoded.text, meta=meta)
