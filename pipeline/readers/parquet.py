"""Parquet: one document per row. A value Arrow cannot hand to Python (invalid UTF-8 in a string column)
or an oversized text quarantines its row alone; a corrupt file quarantines the rest of the file."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.files import open_raw
from pipeline.readers.records import Record, describe, field_value, quarantine, record_from_object

BATCH_ROWS = 256  # rows turned into Python objects at once: bounded memory with long texts


def read_parquet(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    import pyarrow.parquet as pq

    with open_raw(path, dict(source.storage_options)) as raw:
        parquet = pq.ParquetFile(raw)
        number = 0
        for batch in parquet.iter_batches(
            columns=wanted_columns(source, parquet.schema_arrow.names), batch_size=BATCH_ROWS
        ):
            yield from _batch_records(source, batch, number, ingest.max_doc_bytes)
            number += batch.num_rows


def wanted_columns(source: SourceConfig, names: list[str]) -> list[str]:
    """The columns a source reads; a nested field (``doc.body``) reads its struct column."""
    fields = [source.text_field, source.url_field, source.id_field, *source.meta_fields]
    columns = dict.fromkeys(name if name in names else name.split(".")[0] for name in fields if name)
    return [name for name in columns if name in names]


def _batch_records(source: SourceConfig, batch: pa.RecordBatch, first: int, limit: int) -> Iterator[Record]:
    """Records of one batch, numbered from ``first + 1``: the whole batch at once, else row by row."""
    oversized = _oversized_rows(batch, source.text_field, limit)
    if not oversized:
        try:
            rows = batch.to_pylist()
        except (UnicodeDecodeError, pa.ArrowException):
            pass  # one bad value: find it row by row below
        else:
            for index, row in enumerate(rows):
                yield _checked(source, first + index + 1, row, limit)
            return
    for index in range(batch.num_rows):
        number = first + index + 1
        if index in oversized:
            yield quarantine(number, "too_large", f"text over {limit} bytes (ingest.max_doc_bytes)")
            continue
        try:
            [row] = batch.slice(index, 1).to_pylist()
        except UnicodeDecodeError as exc:
            yield quarantine(number, "invalid_utf8", describe(exc))
        except pa.ArrowException as exc:
            yield quarantine(number, "unreadable_value", describe(exc))
        else:
            yield _checked(source, number, row, limit)


def _oversized_rows(batch: pa.RecordBatch, text_field: str, limit: int) -> set[int]:
    """Rows whose top-level text column is over ``limit`` bytes, found without making Python strings of them."""
    import pyarrow.compute as pc

    if text_field not in batch.schema.names:
        return set()
    column = batch.column(text_field)
    if not (
        pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_binary(column.type)
    ):
        return set()
    lengths = pc.binary_length(column).to_pylist()
    return {index for index, length in enumerate(lengths) if length is not None and length > limit}


def _checked(source: SourceConfig, number: int, row: dict, limit: int) -> Record:
    text = field_value(row, source.text_field)
    if isinstance(text, str) and len(text.encode("utf-8", "surrogatepass")) > limit:
        return quarantine(number, "too_large", f"text over {limit} bytes (ingest.max_doc_bytes)")
    return record_from_object(source, number, row)
