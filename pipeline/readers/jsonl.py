"""JSON Lines (plain, .gz, .zst, .xz): one document per line; a bad line is quarantined alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO

from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.files import open_input
from pipeline.readers.records import Record, describe, quarantine, record_from_object

UTF8_BOM = b"\xef\xbb\xbf"


def read_jsonl(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    with open_input(path, dict(source.storage_options)) as stream:
        for number, raw in _read_lines(stream, ingest.max_doc_bytes):
            if raw is None:
                yield quarantine(number, "too_large", f"line over {ingest.max_doc_bytes} bytes (ingest.max_doc_bytes)")
                continue
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            if not raw.strip():
                continue
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield quarantine(number, "invalid_utf8", str(exc))
                continue
            try:
                obj = json.loads(decoded)
            except (ValueError, RecursionError) as exc:  # also too deep nesting, oversized integers
                yield quarantine(number, "invalid_json", describe(exc))
                continue
            yield record_from_object(source, number, obj)


def _read_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number from 1, bytes) per line; bytes is None for a line over ``limit`` bytes."""
    number = 0
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):  # skip the rest of the oversized line
                chunk = stream.readline(1 << 20)
            yield number, None
            continue
        yield number, chunk


def first_object(source: SourceConfig, path: str) -> dict | None:
    """The first JSON object of a JSONL file (what `corpus stage` looks at to keep an ``id`` field), or None."""
    with open_input(path, dict(source.storage_options)) as stream:
        for _, raw in _read_lines(stream, 1 << 24):
            if raw is not None and raw.strip():
                try:
                    obj = json.loads(raw.removeprefix(UTF8_BOM).decode("utf-8"))
                except (ValueError, RecursionError):
                    return None
                return obj if isinstance(obj, dict) else None
    return None
