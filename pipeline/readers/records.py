"""What a reader yields for each record it meets: a document, a quarantine entry or a counted skip."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pipeline.config import SourceConfig

QUARANTINE_PREFIX = "ingest:"  # a record that could not be read: quarantine/ with file, offset, reason, detail
SKIP_PREFIX = "skipped:"  # a record left out on purpose (a WARC request, an image): counted by kind, not kept
DETAIL_CHARS = 300


@dataclass
class Record:
    """One record of a file: a document (reason None), a quarantine entry or a skip (reason ``skipped:...``).

    ``line`` is the line number (JSONL), row number (Parquet), 0 (a text file) or the byte offset of the
    WARC record; -1 when the damage is in the file rather than one record.
    """

    line: int
    text: str | None = None
    url: str | None = None
    meta: dict | None = None
    reason: str | None = None
    detail: str | None = None
    doc_id: str | None = None  # the input's own id (``id_field``), else the id is made from the position


def quarantine(line: int, reason: str, detail: str, url: str | None = None) -> Record:
    return Record(line, url=url, reason=QUARANTINE_PREFIX + reason, detail=detail[:DETAIL_CHARS])


def skip(line: int, kind: str, detail: str, url: str | None = None) -> Record:
    return Record(line, url=url, reason=SKIP_PREFIX + kind, detail=detail[:DETAIL_CHARS])


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS]


def check_text(text: object) -> tuple[str | None, str | None]:
    """(reason, detail) when a record's text is unusable, else (None, None)."""
    if text is None:
        return "missing_text", "no text field"
    if not isinstance(text, str):
        return "text_not_string", f"text is {type(text).__name__}"
    if "\x00" in text:
        return "nul_bytes", "text contains NUL bytes"
    return None, None


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


def record_from_object(source: SourceConfig, number: int, obj: object) -> Record:
    """A JSON object or Parquet row as a document, or the reason it cannot be one."""
    if not isinstance(obj, dict):
        return quarantine(number, "not_an_object", f"JSON {type(obj).__name__}, expected an object")
    text = field_value(obj, source.text_field)
    reason, detail = check_text(text)
    if reason:
        return quarantine(number, reason, f"field {source.text_field!r}: {detail}")
    own_id = None
    if source.id_field:
        own_id, problem = _own_id(field_value(obj, source.id_field))
        if problem:
            return quarantine(number, problem, f"field {source.id_field!r}: {field_value(obj, source.id_field)!r}")
    url = field_value(obj, source.url_field) if source.url_field else None
    url = url if isinstance(url, str) else None
    meta = {key: value for key in source.meta_fields if (value := field_value(obj, key)) is not None} or None
    return Record(number, text=text, url=url, meta=meta, doc_id=own_id)  # type: ignore[arg-type]


def _own_id(value: object) -> tuple[str | None, str | None]:
    """The input's own id as text, or the reason it cannot be one (a string or an integer, not empty)."""
    if value is None:
        return None, "missing_id"
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return None, "invalid_id"
    return str(value), None


def unencodable(record: Record) -> Record:
    """The record, or its quarantine entry when a value has no UTF-8 form (a lone surrogate from a JSON
    escape or a codec), which Arrow would refuse for the whole batch."""
    for value in (record.text, record.url, record.doc_id, meta_json(record.meta), record.detail):
        if value is None:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            if record.reason is not None:  # a quarantine entry keeps its reason, with the detail made safe
                record.detail = (record.detail or "").encode("utf-8", "backslashreplace").decode("utf-8")
                record.url = record.url and record.url.encode("utf-8", "backslashreplace").decode("utf-8")
                return record
            return quarantine(record.line, "invalid_utf8", f"lone surrogate: {exc}")
    return record
