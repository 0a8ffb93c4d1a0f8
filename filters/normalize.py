"""Text normalisation: Unicode NFC, control characters, whitespace. Pure functions."""

from __future__ import annotations

import re
import unicodedata

# C0/C1 control characters except tab and newline, plus the Unicode BOM and NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff]")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_INLINE_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str, form: str = "NFC", collapse_whitespace: bool = True) -> str:
    """Return ``text`` in Unicode ``form``, without control characters, with tidy whitespace.

    Line breaks become ``\\n``; with ``collapse_whitespace`` runs of spaces/tabs become one
    space, spaces around line breaks go, and more than one blank line becomes one.
    The ideographic space (U+3000) counts as white space.
    """
    text = _NEWLINES.sub("\n", text)
    text = _CONTROL.sub("", text)
    if form != "none":
        text = unicodedata.normalize(form, text)
    if collapse_whitespace:
        text = _INLINE_SPACE.sub(" ", text)
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def length_reason(text: str, min_chars: int, max_chars: int) -> str | None:
    """Why a normalised text is rejected for its length, or None to keep it."""
    if not text:
        return "normalize:empty"
    if len(text) < min_chars:
        return "normalize:too_short"
    if len(text) > max_chars:
        return "normalize:too_long"
    return None
