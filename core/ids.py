"""Document ids: deterministic, from where a document was read (never from Spark's row order)."""

from __future__ import annotations

import hashlib


def doc_id(source: str, file_key: str, line: int) -> str:
    """Deterministic document id from source, file and position."""
    return hashlib.sha1(f"{source}\x00{file_key}\x00{line}".encode()).hexdigest()[:20]
