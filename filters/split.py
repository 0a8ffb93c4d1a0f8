"""Cutting a long document (a book, a long reference page) into training-sized pieces at its chapter or
paragraph boundaries, instead of rejecting it as too long. Pure functions.

The Pile and LLaMA train on whole books but at a context length of a few thousand tokens; the heuristic
filters and the models are tuned on documents of web-page size (Gopher's 100,000-word maximum would
reject most novels). A piece never starts inside a paragraph unless one paragraph alone is over the size.
"""

from __future__ import annotations

import re

# A chapter heading at the start of a line: "CHAPTER XII", "Chapter 3.", "BOOK IV", "IV. THE DUEL" (a Roman
# numeral, a dot and a capital), "第十二回" (Chinese novels).
CHAPTER_HEADING = re.compile(
    r"^[ \t\u3000]*(?:(?:CHAPTER|Chapter|BOOK|Book|PART|Part|ACT|Act)\s+[0-9IVXLCDM]+\b"
    r"|[IVXLC]+\.[ \t]+[A-Z]|第[一二三四五六七八九十百千零〇0-9]+[回章卷节])",
    re.MULTILINE,
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u3000]*\n")


def split_document(text: str, max_chars: int) -> list[str]:
    """``text`` as pieces of at most ``max_chars`` characters (one piece when it is short enough).

    Pieces are packed from whole chapters when they fit, else paragraph by paragraph, and a new piece starts
    at a chapter heading once the current one is half full (short chapters, a table of contents, share one);
    a paragraph over ``max_chars`` (a book without blank lines) is cut at line ends, and a line over it at
    ``max_chars``. Joining the pieces gives back the text, apart from the whitespace at the cuts."""
    if len(text) <= max_chars:
        return [text]
    units = []
    for chapter in _cut_before(text, CHAPTER_HEADING):
        parts = [chapter] if len(chapter) <= max_chars else _units(chapter, max_chars)
        units.extend((index == 0, part) for index, part in enumerate(parts))
    return [piece for piece in (p.strip() for p in _pack(units, max_chars)) if piece]


def _cut_before(text: str, heading: re.Pattern) -> list[str]:
    starts = sorted({0, *(match.start() for match in heading.finditer(text))})
    return [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]


def _units(chapter: str, max_chars: int) -> list[str]:
    """Paragraphs (with their trailing break), smaller parts of any paragraph over ``max_chars``."""
    units: list[str] = []
    start = 0
    for match in _PARAGRAPH_BREAK.finditer(chapter):
        units.append(chapter[start : match.end()])
        start = match.end()
    units.append(chapter[start:])
    return [part for unit in units for part in _fit(unit, max_chars)]


def _fit(unit: str, max_chars: int) -> list[str]:
    if len(unit) <= max_chars:
        return [unit]
    lines = unit.splitlines(keepends=True)
    if len(lines) == 1:
        return [unit[i : i + max_chars] for i in range(0, len(unit), max_chars)]
    return [part for line in lines for part in _fit(line, max_chars)]


def _pack(units: list[tuple[bool, str]], max_chars: int) -> list[str]:
    """Consecutive (starts a chapter, text) units joined greedily into pieces of at most ``max_chars``."""
    pieces: list[str] = []
    current = ""
    for chapter_start, unit in units:
        if current and (len(current) + len(unit) > max_chars or (chapter_start and len(current) >= max_chars // 2)):
            pieces.append(current)
            current = ""
        current += unit
    if current:
        pieces.append(current)
    return pieces
