"""The built-in recipe `corpus init` suggests for a source, from its format, names and first document.

A guess written into the starter config with its reason as a comment, for the user to confirm: e-mail
(headers at the start of the first document) -> ``mail``; a wiki dump or reference text (by name) ->
``reference``; plain-text files of book length, or named as books -> ``books``; anything else -> ``web``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.errors import CorpusError
from pipeline.config import SourceConfig
from pipeline.readers.files import expand_paths, open_input

BOOK_CHARS = 100_000  # a plain-text document this long is a book (cut into pieces by the books recipe)
SAMPLE_BYTES = 4 * BOOK_CHARS  # read at most this much of the first file
_MAIL_HEADER = re.compile(r"^(From|To|Subject|Date|Received|Return-Path|Message-ID|Delivered-To|Cc): ", re.I)
_REFERENCE_NAME = re.compile(r"wiki|reference|handbook|manual|encyclop|docs?\b", re.I)
_BOOK_NAME = re.compile(r"book|gutenberg|novel", re.I)


def suggest_recipe(source: dict[str, Any]) -> tuple[str, str]:
    """(recipe, why) for a starter source (``name``, ``format``, ``paths``)."""
    names = " ".join([source["name"], *source["paths"]])
    first = first_document(SourceConfig(**source))
    if looks_like_mail(first):
        return "mail", "its first document starts with mail headers"
    if _REFERENCE_NAME.search(names):
        return "reference", "named like a wiki dump or reference text"
    if source["format"] == "text" and (len(first) > BOOK_CHARS or _BOOK_NAME.search(names)):
        why = f"plain text of over {BOOK_CHARS:,} characters" if len(first) > BOOK_CHARS else "named like books"
        return "books", why
    return "web", "none of mail, reference or books recognised"


def looks_like_mail(text: str) -> bool:
    """Two or more mail header lines before the first blank line."""
    head = text.lstrip().split("\n\n", 1)[0].splitlines()[:40]
    return len({match.group(1).lower() for line in head if (match := _MAIL_HEADER.match(line))}) >= 2


def first_document(source: SourceConfig) -> str:
    """The start of the source's first document (JSONL: its text field; text: the file); "" for other
    formats or an unreadable file (the suggestion then goes by names)."""
    if source.format not in ("jsonl", "text"):
        return ""
    try:
        files = expand_paths(source)
        with open_input(files[0].path, dict(source.storage_options)) as stream:
            raw = stream.read(SAMPLE_BYTES) if source.format == "text" else stream.readline(SAMPLE_BYTES)
    except (CorpusError, OSError, EOFError):
        return ""
    text = raw.decode("utf-8", "replace")
    if source.format == "text":
        return text
    try:
        value = json.loads(text).get(source.text_field, "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
