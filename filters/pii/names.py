"""English person names: which NER PERSON spans are names, and given names spaCy missed.

spaCy's small English model tags many capitalised technical words as PERSON (``Linux``, ``dpkg``,
``Postfix``, ``Debian Bullseye``, ``Fri``); scrubbing them damages the text without protecting
anyone. A span counts as a name only when it is shaped like one (capitalised words, initials,
particles such as ``van``; no digits, code characters, line breaks, all-capital or camel-case
words, English stop words, weekday or month names, no street word last) and has evidence: a given
name from Faker's per-locale lists (a maintained package, 80 locales; its place words removed)
that the segment does not also use as a lower-case word, an initial (``C. Dobkin``), a title
before it (nameparser's list: ``Mr.``, ``Dr.``, ``President``), or a listed surname none of whose
words the segment uses in lower case (``Wichert Akkerman``, ``Powell``; not ``Array Size``). The
lower-case test is the corpus's own word-frequency signal, taken over the segment: ``bash``,
``kernel`` and ``will`` appear in lower case where they are words, names do not.
"""

from __future__ import annotations

import calendar
import importlib
import pkgutil
from functools import lru_cache

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

from filters.pii.scores import GIVEN_NAME_SCORE

_CAPITALISED = regex.compile(r"(?:Mc|Mac|O['’]|D['’])?\p{Lu}\p{Ll}+(?:['’-]\p{Lu}?\p{Ll}+)*")
_INITIALS = regex.compile(r"(?:\p{Lu}\.){1,3}")
# A lower-case word standing alone (not part of an address, path, host or package name).
_LOWER_WORD = regex.compile(r"(?<![\p{L}\p{N}@./_\-])\p{Ll}+(?![\p{L}\p{N}@_/\-]|\.\p{L})")
_WORD_TOKEN = regex.compile(r"(?:\p{Lu}\.){1,3}|[\p{L}\p{M}][\p{L}\p{M}'’\-]*")
_TRAILING = regex.compile(r"(?:['’]s|[.,;:!?)\]\"'’])+$")  # possessive or punctuation after a name
_WORD_BEFORE = regex.compile(r"([\p{L}]+)\.?\s+$")
_CALENDAR = frozenset(
    w.lower() for w in [*calendar.day_name, *calendar.day_abbr, *calendar.month_name, *calendar.month_abbr] if w
)


_GIVEN = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")


@lru_cache(maxsize=4)
def _faker_names(attributes: tuple[str, ...], kind: str) -> frozenset[str]:
    """The capitalised one-word values of these attributes of Faker's ``kind`` providers (all locales),
    once per worker."""
    package = importlib.import_module(f"faker.providers.{kind}")
    names: set[str] = set()
    for module in pkgutil.iter_modules(package.__path__):
        provider = importlib.import_module(f"{package.__name__}.{module.name}").Provider
        for attr in attributes:
            value = getattr(provider, attr, None)
            if isinstance(value, (list, tuple, set, frozenset, dict)):
                names.update(v for v in value if isinstance(v, str))
    return frozenset(n for n in names if _CAPITALISED.fullmatch(n))


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """Every first name in Faker's person providers that is not also a place there (``India``, ``Boston``)."""
    return _faker_names(_GIVEN, "person") - places()


@lru_cache(maxsize=1)
def surnames() -> frozenset[str]:
    """Every last name in Faker's person providers that is not also a place there."""
    return _faker_names(("last_names",), "person") - places()


_PLACES = ("countries", "cities", "city_names", "states", "provinces", "regions", "districts", "counties")
_PLACES += ("villages", "municipalities", "communes", "departments", "cantons", "street_suffixes")


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    """Countries, regions, cities and street words (``Drive``) in Faker's address providers (all locales)."""
    return _faker_names(_PLACES, "address")


@lru_cache(maxsize=1)
def _nameparser_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(titles, particles, suffixes) from nameparser's constants, lower case, without dots."""
    from nameparser.config import CONSTANTS

    suffixes = set(CONSTANTS.suffix_not_acronyms) | set(CONSTANTS.suffix_acronyms)
    return frozenset(CONSTANTS.titles), frozenset(CONSTANTS.prefixes), frozenset(suffixes)


@lru_cache(maxsize=8)
def lowercase_words(segment: str) -> frozenset[str]:
    """The words ``segment`` uses in lower case (the evidence that a capitalised one is a word)."""
    return frozenset(_LOWER_WORD.findall(segment))


def _kind(token: str) -> str:
    """``name``, ``initial``, ``particle``, ``suffix`` or ``other`` for one token of a span."""
    titles, particles, suffixes = _nameparser_words()
    if _CAPITALISED.fullmatch(token):
        return "suffix" if token.lower() in suffixes else "name"
    if _INITIALS.fullmatch(token):
        return "initial"
    if token in particles:
        return "particle"
    if token.lower().rstrip(".") in suffixes and (token.isupper() or token[0].isupper()):
        return "suffix"  # III, Jr., MD
    return "other"


def _clean(token: str) -> str:
    """A token without trailing punctuation or possessive (an initial keeps its dot)."""
    return token if _INITIALS.fullmatch(token) else _TRAILING.sub("", token)


def _continues(text: str, token: regex.Match, following: regex.Match) -> bool:
    """Whether the name ending at ``token`` goes on with ``following``: only spaces between them (no
    comma, colon or line break), no possessive on ``token``, and ``following`` is a name part, not a
    label (``Amanda Larsen Phone: ...``) nor a word the text also uses in lower case (``Robin Database``)."""
    return (
        _clean(token.group()) == token.group()
        and following.group().lower() not in lowercase_words(text)
        and text[token.end() : following.start()].isspace()
        and "\n" not in text[token.end() : following.start()]
        and not text.startswith(":", following.end())
        and _kind(following.group()) in ("name", "initial", "particle", "suffix")
    )


def is_given_name(word: str, lower: frozenset[str]) -> bool:
    """A listed given name that the text does not also use as a lower-case word, not an English stop
    word (``My`` and ``Will`` are listed) and not a weekday or month."""
    key = word.lower()
    return word in given_names() and key not in lower and key not in STOP_WORDS and key not in _CALENDAR


# Not places or organisations: spaCy's small model calls many first names one (measured: blocking them cost
# presidio's set 4 points of PERSON recall); it calls few names a nationality.
_NOT_PEOPLE = ("NORP", "LANGUAGE")


def _other_entities(nlp_artifacts: NlpArtifacts | None) -> set[int]:
    """Character offsets inside spaCy's nationalities and languages (``French`` NORP, both a listed given
    name and a nationality): a listed given name there is not a person."""
    doc = getattr(nlp_artifacts, "tokens", None)
    if doc is None or not hasattr(doc, "ents"):
        return set()
    return {i for ent in doc.ents if ent.label_ in _NOT_PEOPLE for i in range(ent.start_char, ent.end_char)}


def _title_before(text: str, start: int) -> bool:
    before = _WORD_BEFORE.search(text[max(0, start - 30) : start])
    return bool(before) and before.group(1).lower() in _nameparser_words()[0]


_NOT_IN_NAMES = regex.compile(r"[\d@<>/\\_=|{}\[\]#]")


def plausible_name(value: str) -> bool:
    """spaCy NER spans with digits or code/markup characters (hashes, times, addresses) are not names."""
    return not _NOT_IN_NAMES.search(value)


def is_person(text: str, start: int, end: int) -> bool:
    """Whether the English NER PERSON span ``text[start:end]`` is a person's name (module docstring)."""
    span = _TRAILING.sub("", text[start:end])
    tokens = span.split()
    if not tokens or "\n" in span:
        return False
    kinds = [_kind(t) for t in tokens]
    names = [t for t, k in zip(tokens, kinds) if k == "name"]
    if "other" in kinds or not names or kinds[0] in ("particle", "suffix"):
        return False
    if any(t.lower() in STOP_WORDS for t in names) or names[-1] in places():
        return False  # "My Baby", "Will", "Millicent Drive", "Buena Vista"
    if any(t.lower() in _CALENDAR for t in names) and len(names) == 1:
        return False
    lower = lowercase_words(text)
    if any(t.lower() in lower for t in names):
        return False  # "Robin Database", "Raid Devices": the text uses one of its words as a word
    if any(is_given_name(t, lower) for t in names) or "initial" in kinds or _title_before(text, start):
        return True
    return any(t in surnames() for t in names)  # "Wichert Akkerman", "Powell"; not "Array Size", "Debian Bullseye"


class GivenNameRecognizer(EntityRecognizer):
    """PERSON: a capitalised given name (``is_person``'s evidence) and the name-shaped words after it on
    the same line (``Madison Boyes``, ``Adam L. Beberg``), where spaCy's small model found none: short
    sentences and lists of names (``Eklund, Warren and Bailey``) are where it misses most."""

    def __init__(self):
        super().__init__(supported_entities=["PERSON"], name="GivenNameRecognizer", supported_language="en")

    def load(self) -> None:
        """The name list, so that the first document does not pay for it."""
        given_names()

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None):
        """Given names not used as lower-case words in ``text``, each extended over the name after it."""
        if "PERSON" not in entities:
            return []
        if not any(ch.isupper() for ch in text):
            return self.caseless_names(text)
        lower, results = lowercase_words(text), []
        tokens = list(_WORD_TOKEN.finditer(text))
        taken = _other_entities(nlp_artifacts)
        i = 0
        while i < len(tokens):
            if not is_given_name(_clean(tokens[i].group()), lower) or tokens[i].start() in taken:
                i += 1
                continue
            end = i
            while end + 1 < len(tokens) and _continues(text, tokens[end], tokens[end + 1]):
                end += 1
            while end > i and _kind(tokens[end].group()) == "particle":
                end -= 1  # "Paul van" at a line end
            results.append(self._result(tokens[i].start(), tokens[end].start() + len(_clean(tokens[end].group()))))
            i = end + 1
        return results

    def caseless_names(self, text: str) -> list[RecognizerResult]:
        """In text without capitals (chat, lower-cased templates) case says nothing, so only a listed given
        name followed by a listed surname counts (``dana mitchell``)."""
        tokens = list(_WORD_TOKEN.finditer(text))
        return [
            self._result(first.start(), last.end())
            for first, last in zip(tokens, tokens[1:])
            if text[first.end() : last.start()] == " "
            and is_given_name(first.group().title(), frozenset())
            and last.group().title() in surnames()
        ]

    def _result(self, start: int, end: int) -> RecognizerResult:
        metadata = {
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
        }
        return RecognizerResult("PERSON", start, end, GIVEN_NAME_SCORE, recognition_metadata=metadata)


class CredibleSpacyRecognizer(SpacyRecognizer):
    """presidio's spaCy recognizer, keeping only PERSON spans that ``is_person`` accepts and places without
    code characters. Filtering here, before presidio merges overlapping findings, matters: a rejected
    span (``Ashley Belov\n>Mclaughlin Ltd.``) would otherwise swallow a good one inside it."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None):
        results = []
        for r in super().analyze(text, entities, nlp_artifacts):
            value = text[r.start : r.end]
            if is_person(text, r.start, r.end) if r.entity_type == "PERSON" else plausible_name(value):
                results.append(r)
        return results
