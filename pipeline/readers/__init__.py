"""Readers: JSONL (plain, .gz, .zst), Parquet, text files, WARC/WET and source-code repositories, local or on
object stores (repositories: local), into rows.

Each input file is read by one Spark task. Every record becomes a document, a quarantine row naming the
file, the line (or record offset), the reason and a short detail, or a skip counted by kind (a WARC request
record, an image response), so nothing is lost silently and no bad record stops or hangs the job.

Modules: ``files`` (paths, fsspec, decompression), ``records`` (what a reader yields), one module per
format (``jsonl``, ``parquet``, ``text``, ``warc``, ``code``: one repository per task; WARC pages are extracted in a child process with a time
budget, ``core/budget.py``), ``read`` (one file, every failure caught) and ``ingest`` (the Spark job).
"""

from pipeline.readers.files import expand_paths, input_fingerprint
from pipeline.readers.ingest import QUARANTINE_COLUMNS, RECORD_SCHEMA, quarantined, read_sources, reason_counts
from pipeline.readers.read import has_field, read_file
from pipeline.readers.records import SKIP_PREFIX, Record, meta_json

__all__ = [
    "QUARANTINE_COLUMNS",
    "RECORD_SCHEMA",
    "SKIP_PREFIX",
    "Record",
    "expand_paths",
    "has_field",
    "input_fingerprint",
    "meta_json",
    "quarantined",
    "read_file",
    "read_sources",
    "reason_counts",
]
