"""One input file to records: the reader for its format, with every failure of the file or one record
turned into a quarantine entry, so no file or record can stop the job."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.code import read_code
from pipeline.readers.files import file_size, open_raw, truncation_errors, unreadable_errors
from pipeline.readers.jsonl import read_jsonl
from pipeline.readers.parquet import read_parquet
from pipeline.readers.records import Record, describe, field_value, quarantine, unencodable
from pipeline.readers.text import read_text
from pipeline.readers.warc import read_warc

READERS: dict[str, Callable[[SourceConfig, str, IngestConfig], Iterator[Record]]] = {
    "jsonl": read_jsonl,
    "parquet": read_parquet,
    "text": read_text,
    "warc": read_warc,
    "code": read_code,  # a repository folder, one document per source file
}


def read_file(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    """All records of one file, as documents, quarantine entries or counted skips."""
    try:
        if not os.path.isdir(path) and file_size(path, dict(source.storage_options)) == 0:
            yield quarantine(0, "empty_file", "zero-byte file")
            return
        for record in READERS[source.format](source, path, ingest):
            yield unencodable(record)
    except truncation_errors() as exc:
        yield quarantine(-1, "truncated_archive", describe(exc))
    except unreadable_errors() as exc:  # cannot be opened (a broken link), or not its format (corrupt Parquet)
        yield quarantine(-1, "unreadable_file", describe(exc))
    except BaseException as exc:  # a reader bug, or a panic in a Rust/C extension, must not end the job either
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        yield quarantine(-1, "reader_failed", describe(exc))  # tests require that this reason never appears


def has_field(source: SourceConfig, name: str) -> bool:
    """Whether the source's first readable file has the field ``name`` (a Parquet column, a key of the first
    JSON object): `corpus stage` then keeps the input's ``id``. A file that cannot be read says no."""
    from pipeline.readers.files import expand_paths
    from pipeline.readers.jsonl import first_object

    for input_file in expand_paths(source):
        try:
            if source.format == "parquet":
                import pyarrow.parquet as pq

                with open_raw(input_file.path, dict(source.storage_options)) as raw:
                    return name in pq.ParquetFile(raw).schema_arrow.names
            if source.format == "jsonl":
                obj = first_object(source, input_file.path)
                return obj is not None and field_value(obj, name) is not None
            return False
        except (*truncation_errors(), *unreadable_errors()):
            continue  # a README.md among Parquet files, a cut archive: the next file answers
    return False
