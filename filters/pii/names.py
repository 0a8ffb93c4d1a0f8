"""English person names: which NER PERSON spans are names, and given names spaCy missed.

spaCy's small English model tags many capitalised technical words as PERSON (``Linux``, ``dpkg``,
``Postfix``, ``Debian Bullseye``, ``Fri``); scrubbing them damages the text without protecting
anyone. A span counts as a name only when it is shaped like one (capitalised words, initials,
particles such as ``van``; no digits, code characters, line breaks, all-capital or camel-case
words, English stop words, weekday or month names, no street word last) and has evidence: a given
name from Faker's per-locale lists (a maintained package, 80 locales; its place words removed)
that the segment does not also use as a lower-case word, an initial (``C. Dobkin``), a title
before it (nameparser's list: ``Mr.``, ``Dr.``, ``President``), or a listed surname none of whose
words the segment uses in lower case (``Wichert Akkerman``, ``Powell``; not ``Array Size``). A given
name alone is evidence only when two or more locales list it: Faker's ``en`` list alone holds ``Add``,
``Tab``, ``Doc``, ``Media``, ``Buster`` (measured on the handbook, web pages and mails). The
lower-case test is the corpus's own word-frequency signal, taken over the segment: ``bash``,
``kernel`` and ``will`` appear in lower case where they are words, names do not. (Rejecting spans with a
common English word that no name list holds, ``Card Reader``, was tried and left out: the listed given
name in front then stands alone, ``General Public License`` became ``General``, and names lost their
surname, ``Jake Edge``, ``Kenneth Lay``.)

Context is evidence too (``name_context``): after ``my name is``, ``calls me``, ``Dear`` or an
honorific any name-shaped word is a person, even one spaCy called a place or an organisation
(``Laura``, ``Okonkwo``); next to ``said``/``says`` a spaCy PERSON span needs no list. Items of a
list of three or more capitalised words, most of them listed given names, are all names. Text
without any capital letter gets a second spaCy pass on a truecased copy (``truecase``).
"""

from __future__ import annotations

import calendar
from functools import lru_cache

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

from filters.pii.name_context import speech_cue, strong_person_cue
from filters.pii.name_lists import (
    CAPITALISED,
    given_names,
    lowercase_words,
    nameparser_words,
    places,
    street_words,
    surnames,
    title_before,
    widely_listed_given_names,
)
from filters.pii.name_sentences import blank_nameless_sentences
from filters.pii.scores import GIVEN_NAME_SCORE, NER_SCORE
from filters.pii.segments import blank_long_runs

_INITIALS = regex.compile(r"(?:\p{Lu}\.){1,3}")
_WORD_TOKEN = regex.compile(r"(?:\p{Lu}\.){1,3}|[\p{L}\p{M}][\p{L}\p{M}'’\-]*")
_TRAILING = regex.compile(r"(?:['’]s|[.,;:!?)\]\"'’])+$")  # possessive or punctuation after a name
_CALENDAR = frozenset(
    w.lower() for w in [*calendar.day_name, *calendar.day_abbr, *calendar.month_name, *calendar.month_abbr] if w
)


def _kind(token: str) -> str:
    """``name``, ``initial``, ``particle``, ``suffix`` or ``other`` for one token of a span."""
    titles, particles, suffixes = nameparser_words()
    if CAPITALISED.fullmatch(token):
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


_NOT_IN_NAMES = regex.compile(r"[\d@<>/\\_=|{}\[\]#]")


def plausible_name(value: str) -> bool:
    """spaCy NER spans with digits or code/markup characters (hashes, times, addresses) are not names."""
    return not _NOT_IN_NAMES.search(value)


def _name_words(span: str) -> list[str] | None:
    """The name words of a span shaped like a name (capitalised words, initials, particles, suffixes; no
    English stop word, no street word last), or None."""
    tokens = span.split()
    if not tokens or "\n" in span:
        return None
    kinds = [_kind(t) for t in tokens]
    names = [t for t, k in zip(tokens, kinds) if k == "name"]
    if "other" in kinds or not names or kinds[0] in ("particle", "suffix"):
        return None
    if any(t.lower() in STOP_WORDS for t in names) or names[-1] in street_words():
        return None  # "My Baby", "Will", "Millicent Drive"
    return names


def is_person(text: str, start: int, end: int) -> bool:
    """Whether the English NER PERSON span ``text[start:end]`` is a person's name (module docstring)."""
    span = _TRAILING.sub("", text[start:end])
    names = _name_words(span)
    if names is None:
        return False
    lower = lowercase_words(text)
    if any(t.lower() in lower for t in names):
        return False  # "Robin Database", "Raid Devices": the text uses one of its words as a word
    if strong_person_cue(text, start) or (start, start + len(span)) in listed_names(text):
        return True  # "Mr. Vedzizhev", "everyone calls me Laura", "Jan, Kristi, Mark and Nina"
    if names[-1] in places() or (len(names) == 1 and names[0].lower() in _CALENDAR):
        return False  # "Buena Vista", "Mid Derbyshire", "Fri"
    given = [t for t in names if is_given_name(t, lower)]
    if (given and (len(names) > 1 or given[0] in widely_listed_given_names())) or any(
        _INITIALS.fullmatch(t) for t in span.split()
    ):
        return True  # a lone given name only when two or more locales list it ("Tab", "Add" are not)
    if title_before(text, start):
        return True
    return any(t in surnames() for t in names) or speech_cue(text, start, end)  # "Wichert Akkerman", "says Gairbekov"


_LIST_ITEM = r"(?:Mc|Mac|O['’])?\p{Lu}\p{Ll}+"
_LIST = regex.compile(rf"(?<![\p{{L}}\p{{N}}]){_LIST_ITEM}(?:,\s+{_LIST_ITEM})+(?:,?\s+(?:and|or|&)\s+{_LIST_ITEM})?\b")
_LIST_ITEM_RE = regex.compile(_LIST_ITEM)


@lru_cache(maxsize=8)
def listed_names(text: str) -> frozenset[tuple[int, int]]:
    """(start, end) of every one-word item of a list of names in ``text``: a list of three or more
    capitalised words (``Jan, Kristi, Stephen, Julie, Nina and Patricia``) at least half of them, and two or
    more, listed given names. Its other items are names too (``Malon``), except stop words and words the text
    also uses in lower case; months are not excluded in a list of names (``Evan and April``)."""
    lower, out = lowercase_words(text), set()
    for match in _LIST.finditer(text):
        items = list(_LIST_ITEM_RE.finditer(match.group()))
        given = sum(is_given_name(i.group(), lower) for i in items)
        if len(items) < 3 or given < 2 or given * 2 < len(items):
            continue
        out.update(
            (match.start() + i.start(), match.start() + i.end())
            for i in items
            if i.group().lower() not in STOP_WORDS and i.group().lower() not in lower
        )
    return frozenset(out)


# spaCy labels under which its small model puts people (measured on presidio's set: given names as GPE,
# surnames after "name is" as ORG, "Sean", "Christian" as NORP).
_MISLABELLED = ("GPE", "LOC", "ORG", "NORP")


def is_mislabelled_person(text: str, start: int, end: int) -> bool:
    """Whether a span spaCy labelled a place, an organisation or a nationality is a person's name: it is
    shaped like one and introduced as one (``my name is``, ``calls me``, ``Mr.``) or an item of a list of
    names. (A listed given name followed by another name word, ``Ernest Takuda``, was tried and left out:
    ``Santa Cruz``, ``Byron Bay``, ``North Carolina``.)"""
    span = _TRAILING.sub("", text[start:end])
    if not (strong_person_cue(text, start) or (start, start + len(span)) in listed_names(text)):
        return False
    names = _name_words(span)
    return names is not None and not any(t.lower() in lowercase_words(text) for t in names)


_CASELESS_WORD = regex.compile(r"\p{Ll}[\p{Ll}'’\-]*")
_SENTENCE_START = regex.compile(r"(?:^|[.!?]\s+)(\p{Ll})")


def truecase(text: str) -> str:
    """Text without capitals, capitalised where a name may be: listed given names and surnames that are not
    English stop words nor common English words (``will``, ``bill``, ``hope``, ``young``), the word after such a given name (``natasha higuchi``) and sentence starts. spaCy's
    small model tags names by their capitals; this gives it them back (same length, same offsets)."""
    chars = list(text)

    def capitalise(k: int) -> None:
        if len(chars[k].upper()) == 1:  # "ß" would become "SS" and shift every offset after it
            chars[k] = chars[k].upper()

    given, family = _lower_case(given_names()), _lower_case(surnames())
    for word in _CASELESS_WORD.finditer(text):
        key = word.group()
        if key in STOP_WORDS or key in common_english_words() or (key not in given and key not in family):
            continue
        capitalise(word.start())
        after = _CASELESS_WORD.match(text, word.end() + 1) if text.startswith(" ", word.end()) else None
        if key in given and after and after.group() not in STOP_WORDS:
            capitalise(after.start())
    for start in _SENTENCE_START.finditer(text):
        capitalise(start.start(1))
    return "".join(chars)


@lru_cache(maxsize=1)
def common_english_words() -> frozenset[str]:
    """Faker's English word list (about 1,000 common words; 84 of them are also listed names)."""
    from faker.providers.lorem.en_US import Provider

    return frozenset(Provider.word_list)


@lru_cache(maxsize=2)
def _lower_case(words: frozenset[str]) -> frozenset[str]:
    return frozenset(w.lower() for w in words)


def _starts_name(text: str, token: regex.Match, lower: frozenset[str], taken: set[int]) -> bool:
    """Whether a name starts at the capitalised ``token``: a listed given name outside a nationality or
    language, an item of a list of names, or a word introduced as a name (``my name is Nunzia``)."""
    word = _clean(token.group())
    if (token.start(), token.start() + len(word)) in listed_names(text):
        return True
    if is_given_name(word, lower):
        return token.start() not in taken
    return (
        _kind(word) == "name"
        and word.lower() not in lower
        and word.lower() not in STOP_WORDS
        and strong_person_cue(text, token.start())
    )


def _lone_name(text: str, token: regex.Match) -> bool:
    """Whether a capitalised word that starts a name and has no name word after it is a name on its own: a
    given name two or more locales list, an item of a list of names, or a word introduced as a name."""
    word = _clean(token.group())
    return (
        word in widely_listed_given_names()
        or (token.start(), token.start() + len(word)) in listed_names(text)
        or strong_person_cue(text, token.start())
    )


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
            return self.caseless_names(text, nlp_artifacts)
        lower, results = lowercase_words(text), []
        tokens = list(_WORD_TOKEN.finditer(text))
        taken = _other_entities(nlp_artifacts)
        i = 0
        while i < len(tokens):
            if not tokens[i].group()[:1].isupper() or not _starts_name(text, tokens[i], lower, taken):
                i += 1
                continue
            end = i
            while end + 1 < len(tokens) and _continues(text, tokens[end], tokens[end + 1]):
                end += 1
            while end > i and _kind(tokens[end].group()) == "particle":
                end -= 1  # "Paul van" at a line end
            if end == i and not _lone_name(text, tokens[i]):
                i += 1
                continue
            results.append(self._result(tokens[i].start(), tokens[end].start() + len(_clean(tokens[end].group()))))
            i = end + 1
        return results

    def caseless_names(self, text: str, nlp_artifacts: NlpArtifacts | None) -> list[RecognizerResult]:
        """In text without capitals (chat, lower-cased templates) spaCy's small model finds few names: it
        runs a second time on ``truecase(text)``, and its PERSON spans that ``is_person`` accepts there count.
        It reads only the truecased sentences that may hold such a span (``name_sentences``), and none at all
        in most caseless strings (URLs, ids, tags): they hold no capitalised word with evidence."""
        cased = truecase(text)
        readable = blank_nameless_sentences(cased)
        if readable.isspace():
            return []
        nlp = nlp_artifacts.nlp_engine.nlp["en"]
        doc = next(nlp.pipe([blank_long_runs(readable)], disable=[p for p in nlp.pipe_names if p != "ner"]))
        return [
            self._result(ent.start_char, ent.end_char)
            for ent in doc.ents
            if ent.label_ == "PERSON" and is_person(cased, ent.start_char, ent.end_char)
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
        people = self.mislabelled_people(text, entities, nlp_artifacts)
        results = []
        for r in super().analyze(text, entities, nlp_artifacts):
            value = text[r.start : r.end]
            if (r.start, r.end) in people:
                continue  # a person spaCy called a place: returned as PERSON below
            if is_person(text, r.start, r.end) if r.entity_type == "PERSON" else plausible_name(value):
                results.append(r)
        return results + [
            RecognizerResult("PERSON", start, end, NER_SCORE, recognition_metadata=self._metadata())
            for start, end in sorted(people)
        ]

    def mislabelled_people(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None) -> set:
        """(start, end) of spaCy's places, organisations and nationalities that ``is_mislabelled_person``
        finds to be people."""
        doc = getattr(nlp_artifacts, "tokens", None)
        if "PERSON" not in entities or doc is None or not hasattr(doc, "ents"):
            return set()
        return {
            (ent.start_char, ent.end_char)
            for ent in doc.ents
            if ent.label_ in _MISLABELLED and is_mislabelled_person(text, ent.start_char, ent.end_char)
        }

    def _metadata(self) -> dict:
        return {
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
        }
