"""The PII entity types and anonymisation modes: the one list the package and the stage config read.

Each entity's row holds everything that differs by entity (how it is found, its published
default rule, its rank on score ties, how it is hashed, its config description), so adding or
changing an entity is one edit here. Imports nothing from the package: every other module
points to this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# replace: <TYPE>; mask: letters/digits -> *; hash: <TYPE:salted hmac>; keep: count only; off: not detected.
MODES = ("replace", "mask", "hash", "keep", "off")


@dataclass(frozen=True)
class EntityRule:
    """What to do with one entity type: ``mode`` and the minimum presidio score to act."""

    mode: str = "replace"
    min_score: float = 0.5


@dataclass(frozen=True)
class Entity:
    """One entity type and the facts about it that other modules would otherwise repeat."""

    name: str
    rank: int  # on equal scores the more specific check (lower rank) wins: a PRC ID may also pass Luhn
    description: str  # shown in the stage's config schema
    ner: bool = False  # found by NER (spaCy for English, jieba for Chinese), not by a pattern
    default: EntityRule = EntityRule("replace", 0.5)
    alnum_key: bool = False  # hashed by its letters and digits only, so formatting variants hash alike


# Published defaults. LOCATION is kept (counted, not replaced): place names alone rarely
# identify anyone and replacing every country or city name would damage the corpus.
ENTITIES = (
    Entity("EMAIL", 3, "e-mail addresses (domain checked against the public suffix list)"),
    Entity("PHONE", 7, "phone numbers, international and national formats, PRC mobiles", alnum_key=True),
    Entity("IP", 6, "IPv4 and IPv6 addresses (not loopback/unspecified)"),
    Entity("CREDIT_CARD", 4, "payment cards, 13-19 digits, Luhn-checked", alnum_key=True),
    Entity("IBAN", 1, "IBANs (presidio, mod-97 checked)", alnum_key=True),
    Entity("US_SSN", 5, "US social security numbers", alnum_key=True),
    Entity("CRYPTO", 2, "bitcoin (checksum) and ethereum wallet addresses"),
    Entity("CN_ID", 0, "18-digit PRC resident ID numbers (checksum and birth date checked)", alnum_key=True),
    Entity("SECRET", 10, "API keys, access tokens and private keys (detect-secrets' AWS, GitHub, Slack, ... patterns)"),
    Entity("PERSON", 8, "person names (spaCy NER for English, jieba for Chinese)", ner=True),
    Entity(
        "LOCATION",
        9,
        "place names and addresses (spaCy NER for English; jieba place words and "
        "administrative-unit rules for Chinese, addresses score 0.85)",
        ner=True,
        default=EntityRule("keep", 0.5),
    ),
)

ENTITY_TYPES = tuple(e.name for e in ENTITIES)
PATTERN_ENTITIES = tuple(e.name for e in ENTITIES if not e.ner)
NER_ENTITIES = tuple(e.name for e in ENTITIES if e.ner)
DEFAULT_RULES: dict[str, EntityRule] = {e.name: e.default for e in ENTITIES}
RANK: dict[str, int] = {e.name: e.rank for e in ENTITIES}
ALNUM_KEYED = frozenset(e.name for e in ENTITIES if e.alnum_key)


def check_rules(rules: Mapping[str, EntityRule], salt: bytes) -> None:
    """Fail early, before any document, on an unknown entity or mode, or hashing without a salt."""
    for name, rule in rules.items():
        if name not in ENTITY_TYPES:
            raise ValueError(f"pii: unknown entity type {name!r}; known: {', '.join(ENTITY_TYPES)}")
        if rule.mode not in MODES:
            raise ValueError(f"pii: entity {name}: unknown mode {rule.mode!r}; known: {', '.join(MODES)}")
    if not salt and any(r.mode == "hash" for r in rules.values()):
        raise ValueError("pii: mode 'hash' needs a non-empty salt")
