"""Which sentences English NER needs to read: those that can hold a name the recognizers keep.

spaCy's NER is most of the ``pii`` stage's cost on English text, yet ``names.is_person`` keeps a
PERSON span only with evidence: a capitalised word that is no English stop word and that the
segment never uses in lower case, plus a listed given name or surname, an initial, a title before
it or a person cue (``names``, ``name_context``). A sentence without such a word cannot give a kept
PERSON span, so spaCy gets the segment with those sentences blanked (same length: offsets stay
valid, recognizers still see the whole text). Where places change the text (LOCATION replaced,
masked or hashed) every sentence with a capitalised word that is no stop word is read as well;
where they are only counted (the default ``keep``), sentences with a place from Faker's lists are
read too, and places no list holds (Highbury, the Indian Ocean) are counted only in the sentences
read. Measured on the harness corpus's English documents (name-dense novels among them): spaCy reads 30%
of the non-space characters with the default rules, and segments without such a sentence get no spaCy pass.
"""

from __future__ import annotations

import regex
from spacy.lang.en.stop_words import STOP_WORDS

from filters.pii.name_context import has_person_cue
from filters.pii.name_lists import given_names, is_title, lowercase_words, places, surnames, title_before

_NAME_WORD = regex.compile(r"(?<![\p{L}\p{M}\p{N}])(?:Mc|Mac|O['’]|D['’])?\p{Lu}\p{Ll}+(?:-\p{Lu}?\p{Ll}+)*")
_CAPITALISED_WORD = regex.compile(r"(?<![\p{L}\p{M}\p{N}])\p{Lu}[\p{L}\p{M}]*")
_INITIAL = regex.compile(r"(?<![\p{L}\p{N}])\p{Lu}\.")
# A sentence ends after . ! ? (and closing quotes or brackets) before a space and a capital or an opening
# quote (not "Apt. 977", "e.g. this"), or at a line break.
_SENTENCE_END = regex.compile(r"[.!?]+[\"'”’)\]]*[ \t]+(?=[\p{Lu}\"'“‘(\[])|[ \t]*\n\s*")
_UPPER = regex.compile(r"\p{Lu}")
_WORD_BEFORE_END = regex.compile(r"(\p{L}+)[.!?]*[\"'”’)\]]*[ \t]+$")


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; a period after a title or an initial (``Dr.``, ``C.``) ends none."""
    spans, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if "\n" not in end.group():
            before = _WORD_BEFORE_END.search(text, max(start, end.start() - 30), end.end())
            if before and (len(before.group(1)) == 1 or is_title(before.group(1))):
                continue
        if end.start() > start:
            spans.append((start, end.start()))
        start = end.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _may_name(text: str, start: int, end: int, lower: frozenset[str]) -> bool:
    """Whether ``text[start:end]`` holds a listed place, or a word that ``is_person`` could keep as a name."""
    unlisted = False
    for word in _NAME_WORD.finditer(text, start, end):
        value = word.group()
        if value in places():
            return True
        key = value.lower()
        if key in STOP_WORDS or key in lower:
            continue
        if value in given_names() or value in surnames() or title_before(text, word.start()):
            return True
        unlisted = True
    segment = text[start:end]
    return unlisted and bool(_INITIAL.search(segment) or has_person_cue(segment))


def _may_place(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` holds a capitalised word that is no English stop word (USA, Highbury)."""
    return any(w.group().lower() not in STOP_WORDS for w in _CAPITALISED_WORD.finditer(text, start, end))


def blank_nameless_sentences(text: str, all_places: bool = False) -> str:
    """``text`` with every sentence that cannot hold a kept name or a listed place (with ``all_places``:
    any capitalised word; text without any capital is read whole) turned into spaces (line breaks kept), for
    spaCy only."""
    if all_places and not _UPPER.search(text):
        return text  # spaCy finds places in lower case too (texas, switzerland)
    lower = lowercase_words(text)
    pieces, done = [], 0
    for start, end in _sentences(text):
        if not (_may_place(text, start, end) if all_places else _may_name(text, start, end, lower)):
            pieces += [text[done:start], " " * (end - start)]  # sentences hold no line break
            done = end
    return "".join(pieces) + text[done:] if pieces else text
