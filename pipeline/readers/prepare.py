"""A source's documents prepared as its recipe says, as they are read: code outside the allowed licences
skipped (``licenses``), mail cleaned to its prose, licence headers removed from code, long documents cut
into pieces (``split_chars``). Each piece is a document of its own whose ``meta`` keeps
``parent_id`` (the id the whole document would have had) and its index ``piece`` of ``pieces``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from pyspark.sql import Column, Row
from pyspark.sql import functions as F

from core.ids import doc_id
from filters.code import UNKNOWN_LICENSE, combined_license, license_allowed, strip_boilerplate
from filters.mail import clean_mail
from filters.split import split_document
from pipeline.config import SourceConfig
from pipeline.readers.records import Record, skip
from pipeline.readers.text import REPLACED

PARENT_ID, PIECE, PIECES = "parent_id", "piece", "pieces"
# meta keys holding a code file's licence: ours (format: code, RedPajama), The Stack v1's and v2's
LICENSE_KEYS = ("license", "licenses", "max_stars_repo_licenses", "detected_licenses")
_CLEANERS = {"mail": lambda text: clean_mail(text).text, "code": strip_boilerplate}


def prepared(records: Iterable[Record], source: SourceConfig, file_key: str) -> Iterator[Record]:
    """The records of one file as ``source`` prepares them (a cut document's pieces carry their own ids)."""
    for record in records:
        parent_id = record.doc_id if record.doc_id is not None else doc_id(source.name, file_key, record.line)
        yield from prepare(record, source, parent_id)


def prepare(record: Record, source: SourceConfig, record_id: str) -> list[Record]:
    """The record (a document) cleaned and cut as ``source`` says, each piece with its own id; any other
    record (quarantine, skip) as it is."""
    if record.reason is not None or record.text is None:
        return [record]
    if source.licenses:
        licence = document_license(record.meta)
        if not license_allowed(licence, tuple(source.licenses)):
            where = (record.meta or {}).get("path") or ""
            return [skip(record.line, f"code:license:{licence}", f"{where} ({', '.join(source.licenses)} allowed)")]
    text = _CLEANERS[source.clean](record.text) if source.clean in _CLEANERS else record.text
    pieces = split_document(text, source.split_chars) if source.split_chars else [text]
    if len(pieces) == 1:
        return [replace(record, text=pieces[0])]
    meta = record.meta or {}
    return [
        replace(
            record,
            text=piece,
            doc_id=piece_id(record_id, index),
            meta={**meta, PARENT_ID: record_id, PIECE: index, PIECES: len(pieces)},
        )
        for index, piece in enumerate(pieces)
    ]


def document_license(meta: dict | None) -> str:
    """A document's licence expression from its meta (a list, as The Stack gives a repository's licences,
    means all of them), ``unknown`` when none is given."""
    value = next((meta[key] for key in LICENSE_KEYS if meta and meta.get(key)), None)
    if isinstance(value, list):
        return combined_license([str(name) for name in value if name])
    return str(value) if value else UNKNOWN_LICENSE


def piece_id(parent_id: str, index: int) -> str:
    """Deterministic id of one piece of a cut document."""
    return hashlib.sha1(f"{parent_id}\x00piece\x00{index}".encode()).hexdigest()[:20]


def prepared_aggregates() -> list[Column]:
    """Per-source aggregates of the ingest output for :func:`prepared_stats_of`, added to ingest's one
    ``groupBy("source")`` (one Spark job for all its per-source statistics)."""
    meta = F.col("meta")
    whole_or_first = F.coalesce(F.get_json_object(meta, f"$.{PIECE}").cast("int"), F.lit(0)) == 0
    replaced = F.when(whole_or_first, F.get_json_object(meta, f"$.{REPLACED}").cast("long"))  # once per file
    return [
        F.countDistinct(F.get_json_object(meta, f"$.{PARENT_ID}")).alias("split_documents"),
        F.count(F.get_json_object(meta, f"$.{PIECE}")).alias("pieces"),
        F.count(replaced).alias("decoded_with_fallback"),
        F.sum(replaced).alias(REPLACED),
    ]


def prepared_stats_of(rows: list[Row]) -> dict[str, Any]:
    """What preparing changed, from the rows of a ``groupBy("source")`` with :func:`prepared_aggregates`:
    documents cut (and the pieces they became) and text files decoded with a fallback (counted once per file,
    not per piece), per source; ``extra_pieces`` is how many more rows the cuts made."""
    by_source = {
        row["source"]: {
            "split_documents": row["split_documents"],
            "pieces": row["pieces"],
            "decoded_with_fallback": row["decoded_with_fallback"],
            "ingest:replaced_bytes": int(row[REPLACED] or 0),
        }
        for row in rows
        if row["pieces"] or row["decoded_with_fallback"]
    }
    extra_pieces = sum(s["pieces"] - s["split_documents"] for s in by_source.values())
    return {"by_source": by_source, "extra_pieces": extra_pieces}
