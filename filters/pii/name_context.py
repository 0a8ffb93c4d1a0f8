"""Words around a capitalised span that say it names a person, whatever it is on its own.

A surname from no list (``Vedzizhev``), or a given name that is also a place (``Laura``,
``Mark``), is a person after ``my name is``, ``calls me``, ``Dear`` or a title, and a spaCy PERSON
span is more likely one before ``said`` or after ``says``. Two strengths: a strong cue turns even a
span spaCy called a place or an organisation into a person; a speech cue only adds evidence to a span
spaCy already called a person (``said Reuters`` is no person). Cues stay on the span's line. Measured
on real text and left out: ``by`` and ``with`` (``by Debian``, ``with Samba``), a bare ``named``
(``code-named Bullseye``).
"""

from __future__ import annotations

from functools import lru_cache

import regex

_WINDOW = 40  # characters looked at on either side of a span

# What comes just before a name, on the same line: "my name is", "named him", "call me", "calls me", "Dear",
# "Hi", "Hello"; or an honorific, capitalised ("Mr.", "Dr", "Frau"; not "DR Congo", "can't miss Futurama").
_STRONG_CUE = regex.compile(
    r"(?:(?i:\bname[ \t]+is|\bnamed[ \t]+(?:him|her|them)|\bcall(?:s|ed)?[ \t]+(?:me|him|her)|\bdear|\bh(?:i|ello))"
    r"|\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Madam|Herr|Frau|Monsieur|Mme)\.?)[,:]?[ \t]+"
)
# Speech and credit: "says X", "X said", "starring X".
_SPEECH_VERBS_BEFORE = r"says|said|asked|told|wrote|starring"
_SPEECH_VERBS_AFTER = r"said|says|told|asked|wrote|explained|replied|added|points[ \t]+out|pointed[ \t]+out"
_SPEECH_BEFORE = regex.compile(rf"\b(?:{_SPEECH_VERBS_BEFORE})[ \t]+$", regex.IGNORECASE)
_SPEECH_AFTER = regex.compile(rf"^['’]?s?,?[ \t]+(?:{_SPEECH_VERBS_AFTER})\b")
_ANY_CUE = regex.compile(rf"{_STRONG_CUE.pattern}|\b(?i:{_SPEECH_VERBS_BEFORE}|{_SPEECH_VERBS_AFTER})\b")


@lru_cache(maxsize=8)
def _strong_cue_ends(text: str) -> frozenset[int]:
    """Where a name introduced by a strong cue would start: found once per text, looked up per word."""
    return frozenset(m.end() for m in _STRONG_CUE.finditer(text))


def strong_person_cue(text: str, start: int) -> bool:
    """Whether the words just before ``start`` introduce a person by name."""
    return start in _strong_cue_ends(text)


def speech_cue(text: str, start: int, end: int) -> bool:
    """Whether a verb of speech or ``starring`` stands next to ``text[start:end]``."""
    return bool(
        _SPEECH_BEFORE.search(text[max(0, start - _WINDOW) : start]) or _SPEECH_AFTER.match(text[end : end + _WINDOW])
    )


def has_person_cue(text: str) -> bool:
    """Whether ``text`` holds any strong or speech cue (anywhere: a cheap screen, not evidence)."""
    return bool(_ANY_CUE.search(text))
