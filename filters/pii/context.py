"""Cue words near a match (in the same line and sentence) that raise or veto a pattern's score.

Our recognizers look for these themselves instead of presidio's lemma context, so pattern
findings do not depend on which NLP components ran.
"""

from __future__ import annotations

import regex

PHONE_CUES = regex.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|mob|cell|call|fax|office|contact|reach|dial|whatsapp|sms|hotline|ph"
    r"|telefon|téléphone|teléfono|handy|mobil|телефон)\b|电话|手机|联系|传真|热线|致电|号码"
)
# "number" and "No." cue a phone unless they name another number ("driver's license number 425700624").
NUMBER_CUES = regex.compile(
    r"(?i)(?<!\b(?:license|licence|card|account|order|passport|id|serial|version|tracking|invoice|reference"
    r"|policy|case|ticket|member|customer|security|routing|model|part|item|zip|house|room)\s)"
    r"(?:\b(?:number|nummer|numéro|número|номер)\b|\b(?:no|nr|num)\.)"
)
SSN_CUES = regex.compile(r"(?i)\b(?:ssn|ss#|social\s+security)")
VERSION_CUES = regex.compile(r"(?i)(?<![A-Za-z])(?:version|ver|release|build|v)\W{0,3}$")
NOT_PHONE_CUE = regex.compile(r"(?i)(?<![A-Za-z])(?:isbn(?:[\s\-]?1[03])?|issn|pp?\.|pages?)[\s:\-]*$")
PHONE_CUE_ADJACENT = regex.compile(r"(?i)(?<![A-Za-z])at\s*$")  # "reach me at 555 1234"


_SENTENCE_END = regex.compile(r"[\n。！？；!?;]|\.\s")


def line_before(text: str, start: int, width: int = 40) -> str:
    """Up to ``width`` characters before ``start``, within the same line and sentence."""
    window = text[max(0, start - width) : start]
    ends = list(_SENTENCE_END.finditer(window))
    return window[ends[-1].end() :] if ends else window


def line_after(text: str, end: int, width: int = 20) -> str:
    """Up to ``width`` characters after ``end``, within the same line and sentence."""
    window = text[end : end + width]
    stop = _SENTENCE_END.search(window)
    return window[: stop.start()] if stop else window


def has_cue(cues: regex.Pattern, text: str, start: int, end: int) -> bool:
    """A cue word in the 40 characters before or 20 after the match, in the same sentence."""
    return bool(cues.search(line_before(text, start)) or cues.search(line_after(text, end)))
