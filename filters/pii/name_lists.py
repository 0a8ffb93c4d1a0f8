"""The word lists and word facts that English name evidence rests on, from maintained packages.

Given names, surnames and places from Faker's per-locale providers (80 locales), titles, particles and
suffixes from nameparser, and the words a text uses in lower case. Both ``names`` (which spaCy spans are
names) and ``name_sentences`` (which sentences spaCy needs to read) decide with them.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

import regex

CAPITALISED = regex.compile(r"(?:Mc|Mac|O['’]|D['’])?\p{Lu}\p{Ll}+(?:['’-]\p{Lu}?\p{Ll}+)*")
# A lower-case word standing alone (not part of an address, path, host or package name).
_LOWER_WORD = regex.compile(r"(?<![\p{L}\p{N}@./_\-])\p{Ll}+(?![\p{L}\p{N}@_/\-]|\.\p{L})")
_WORD_BEFORE = regex.compile(r"([\p{L}]+)\.?\s+$")

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
    return frozenset(n for n in names if CAPITALISED.fullmatch(n))


@lru_cache(maxsize=1)
def widely_listed_given_names() -> frozenset[str]:
    """Given names that two or more of Faker's locales list. Faker's ``en`` list alone (US birth records)
    holds ``Add``, ``Tab``, ``Doc``, ``Red``, ``Media``, ``Baby``, ``Buster``: enough with more evidence,
    not as a lone word."""
    package = importlib.import_module("faker.providers.person")
    locales: dict[str, int] = {}
    for module in pkgutil.iter_modules(package.__path__):
        provider = importlib.import_module(f"{package.__name__}.{module.name}").Provider
        listed = set()
        for attr in _GIVEN:
            value = getattr(provider, attr, None)
            if isinstance(value, (list, tuple, set, frozenset, dict)):
                listed.update(v for v in value if isinstance(v, str))
        for name in listed:
            locales[name] = locales.get(name, 0) + 1
    return frozenset(n for n, count in locales.items() if count >= 2) & given_names()


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
_STREET_WORDS = ("street_suffixes",)


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    """Countries, regions, cities and street words (``Drive``) in Faker's address providers (all locales)."""
    return _faker_names(_PLACES, "address")


@lru_cache(maxsize=1)
def street_words() -> frozenset[str]:
    """Street words in Faker's address providers (``Drive``, ``Lane``): never the last word of a name."""
    return _faker_names(_STREET_WORDS, "address")


@lru_cache(maxsize=1)
def nameparser_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(titles, particles, suffixes) from nameparser's constants, lower case, without dots."""
    from nameparser.config import CONSTANTS

    suffixes = set(CONSTANTS.suffix_not_acronyms) | set(CONSTANTS.suffix_acronyms)
    return frozenset(CONSTANTS.titles), frozenset(CONSTANTS.prefixes), frozenset(suffixes)


@lru_cache(maxsize=1024)  # a scrub batch's segments: found once for the NER screen, again by the recognizers
def lowercase_words(segment: str) -> frozenset[str]:
    """The words ``segment`` uses in lower case (the evidence that a capitalised one is a word)."""
    return frozenset(_LOWER_WORD.findall(segment))


def is_title(word: str) -> bool:
    """A title or honorific in nameparser's list (``Dr``, ``Captain``, ``President``), any case."""
    return word.lower() in nameparser_words()[0]


def title_before(text: str, start: int) -> bool:
    """Whether the word just before ``start`` (a dot and spaces between) is a title."""
    before = _WORD_BEFORE.search(text[max(0, start - 30) : start])
    return bool(before) and is_title(before.group(1))
