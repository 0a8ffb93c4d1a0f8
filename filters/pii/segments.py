"""Preparing a document for presidio: which script it is in, its segments, spaCy-safe text.

Segments bound presidio's and spaCy's cost per call; blanking long runs bounds spaCy's
tokenizer. Offsets stay valid throughout, so findings map back onto the original text.
"""

from __future__ import annotations

import regex

MAX_NER_RUN_CHARS = 100  # no name is longer; longer non-space runs are blanked for spaCy
_LONG_RUN = regex.compile(rf"\S{{{MAX_NER_RUN_CHARS + 1},}}")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_HAN = regex.compile(r"\p{Han}")
_LATIN = regex.compile(r"[A-Za-z]")


def guess_script_language(text: str, sample: int = 4000) -> str | None:
    """ "en" for Latin-script text, "zh" for Chinese, None for anything else (no NER)."""
    head = text[:sample]
    han, latin, kana = len(_HAN.findall(head)), len(_LATIN.findall(head)), len(_KANA.findall(head))
    letters = sum(ch.isalpha() for ch in head)
    if han > latin and kana * 20 < han:
        return "zh"
    if letters and latin * 2 >= letters:
        return "en"
    return None


_WORD = regex.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
ENGLISH_STOP_SHARE = (
    0.3  # lingua's sentences: 88% of English ones reach it, at most 2% of 18 other Latin-script languages'
)


SHORT_TEXT_CHARS = 200  # language ID labels short Latin-script texts (address blocks, one-liners) unreliably


def may_be_english(text: str, sample: int = 2000) -> bool:
    """Whether a text that language ID labelled as another language gets English NER all the same: it
    is short and in Latin script, or at least ``ENGLISH_STOP_SHARE`` of its words (4 or more) are English
    stop words (spaCy's list)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    if len(text) < SHORT_TEXT_CHARS and guess_script_language(text) == "en":
        return True
    words = _WORD.findall(text[:sample])
    return len(words) >= 4 and sum(w.lower() in STOP_WORDS for w in words) >= ENGLISH_STOP_SHARE * len(words)


def blank_long_runs(text: str, max_chars: int = MAX_NER_RUN_CHARS) -> str:
    """``text`` with every run of more than ``max_chars`` non-space characters turned into as many spaces.

    For spaCy only (offsets stay valid): its tokenizer strips affixes one at a time, each a search
    over the rest of the run, so a 20,000-character run of punctuation or emoji took it a minute.
    No name is that long; pattern recognizers still see the original text.
    """
    return _LONG_RUN.sub(lambda m: " " * len(m.group()), text) if len(text) > max_chars else text


SEGMENT_OVERLAP_CHARS = 100  # longer than any pattern entity (phone, IBAN, card, e-mail, address)


def split_segments(text: str, max_chars: int) -> list[tuple[int, str]]:
    """Cut ``text`` into (offset, piece) of at most ``max_chars`` at line breaks.

    A line longer than that is cut at a space (or anywhere, e.g. in Chinese), and the next piece
    starts ``SEGMENT_OVERLAP_CHARS`` earlier, so a span across the cut is seen whole in one of the
    two pieces; findings from the overlap are merged by ``resolve_overlaps``.
    """
    segments, start = [], 0
    while len(text) - start > max_chars:
        end = start + max_chars
        cut = text.rfind("\n", start, end)
        if cut > start:
            segments.append((start, text[start : cut + 1]))
            start = cut + 1
            continue
        cut = text.rfind(" ", start + max_chars // 2, end)
        cut = cut + 1 if cut > 0 else end
        segments.append((start, text[start:cut]))
        back = cut - min(SEGMENT_OVERLAP_CHARS, max_chars // 4)
        space = text.find(" ", back, cut - 1)
        start = space + 1 if space >= 0 else back
    segments.append((start, text[start:]))
    return segments
