"""The bridge between Spark and the pure functions: Arrow record batches in and out (``mapInArrow``),
and models loaded once per Python worker process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql.types import StructField, StructType

from core.errors import CorpusError, mark_executor_error

BatchFn = Callable[[pa.RecordBatch], dict[str, Any]]


def map_batches(df: DataFrame, fn: BatchFn, new_fields: list[StructField]) -> DataFrame:
    """Apply a pure batch function over Arrow record batches (``mapInArrow``).

    ``fn`` gets a ``pyarrow.RecordBatch`` and returns ``{column: values}``; a ``CorpusError`` it raises
    is marked so that the driver reports it as one ``error:`` line (``core.errors.executor_error``). A returned column
    that already exists replaces it (same type); the others must be listed in ``new_fields``,
    in that order, and are appended. Values may be Python lists or Arrow arrays.
    """
    existing = {f.name for f in df.schema.fields}
    out_schema = StructType(df.schema.fields + [f for f in new_fields if f.name not in existing])
    arrow_schema = _to_arrow_schema(out_schema)
    counter = take_document_counter()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if counter is not None:
                counter.add(batch.num_rows)
            try:
                produced = fn(batch) if batch.num_rows else {}
            except CorpusError as exc:  # e.g. a model missing on this executor: one error line on the driver
                raise mark_executor_error(exc, socket.gethostname()) from exc
            columns = []
            for arrow_field in arrow_schema:
                if arrow_field.name in produced:
                    values = produced[arrow_field.name]
                elif arrow_field.name in batch.schema.names:
                    values = batch.column(arrow_field.name)
                else:
                    values = [None] * batch.num_rows
                if not isinstance(values, (pa.Array, pa.ChunkedArray)):
                    values = pa.array(values, type=arrow_field.type)
                columns.append(values)
            yield pa.RecordBatch.from_arrays(columns, schema=arrow_schema)

    return df.mapInArrow(run, out_schema)


_DOCUMENT_COUNTER: list[Any] = []  # driver side: the accumulator the next map_batches call counts into


@contextmanager
def counting_documents(accumulator: Any) -> Iterator[None]:
    """While a stage builds its plan, the first ``map_batches`` call (its pass over the input documents;
    or another pass that calls ``take_document_counter``) adds the rows of every batch it processes to
    ``accumulator`` (a Spark accumulator: the executors'
    counts reach the driver as each task finishes), so the driver can log progress."""
    _DOCUMENT_COUNTER[:] = [accumulator]
    try:
        yield
    finally:
        _DOCUMENT_COUNTER.clear()


def take_document_counter() -> Any:
    """The accumulator a pass over the input documents should count into (the first caller inside
    ``counting_documents`` gets it), else None."""
    return _DOCUMENT_COUNTER.pop() if _DOCUMENT_COUNTER else None


def _to_arrow_schema(schema: StructType) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema)


_WORKER_CACHE: dict[str, Any] = {}
_WORKER_LOCK = threading.Lock()


def worker_cached(key: str, loader: Callable[[], Any]) -> Any:
    """Load a model once per Python worker process (Spark reuses workers) and keep it."""
    with _WORKER_LOCK:
        if key not in _WORKER_CACHE:
            _WORKER_CACHE[key] = loader()
        return _WORKER_CACHE[key]
