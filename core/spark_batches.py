"""The bridge between Spark and the pure functions: Arrow record batches in and out (``mapInArrow``),
and models loaded once per Python worker process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql.functions import pandas_udf
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
            produced = _marked(fn, batch) if batch.num_rows else {}
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


def column_batches(
    fn: Callable[..., dict[str, list]], output: StructType, arrays: bool = False
) -> Callable[..., Column]:
    """``fn`` as a scalar pandas UDF: a column expression of type ``output`` (flat: pandas UDFs cannot return
    nested structs; every field nullable) over the columns it is called with.

    Unlike :func:`map_batches`, only those columns travel to Python and only ``output`` comes back; the
    other columns (the text, when ``fn`` does not read it) stay in the JVM. ``fn`` gets one Python list per
    column (a struct column: one dict per row; with ``arrays``, a NumPy array per column instead, nulls of a
    double column as NaN) and returns ``{field: values}``. It counts the documents of
    a stage's input pass as ``map_batches`` does."""
    import pandas as pd

    counter = take_document_counter()
    names = output.fieldNames()

    def run(*columns):  # no type hints: pandas_udf would read them, and has none for varargs (scalar is its default)
        if counter is not None:
            counter.add(len(columns[0]))
        if arrays:
            values = [c.to_numpy() for c in columns]
        else:
            values = [c.to_dict("records") if isinstance(c, pd.DataFrame) else c.tolist() for c in columns]
        produced = _marked(fn, *values)
        return pd.DataFrame({name: produced[name] for name in names}, columns=names)

    return pandas_udf(run, output)  # type: ignore[call-overload]


def _marked(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``; a ``CorpusError`` it raises (e.g. a model missing on this executor) is marked so that the
    driver reports it as one ``error:`` line."""
    try:
        return fn(*args)
    except CorpusError as exc:
        raise mark_executor_error(exc, socket.gethostname()) from exc


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
