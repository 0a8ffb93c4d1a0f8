"""Findings to output text: resolve overlapping findings, then replace, mask, hash or keep each span.

Works on plain offsets, with no presidio or spaCy objects, so it can be tested on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from filters.pii.entities import ALNUM_KEYED, NER_ENTITIES, RANK, EntityRule


@dataclass(frozen=True)
class Finding:
    """One span found in a document: entity type, character offsets, presidio score."""

    entity: str
    start: int
    end: int
    score: float


@dataclass
class Scrubbed:
    """One document's output: its anonymised text and span counts per entity type."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep non-overlapping spans: pattern entities before NER, higher score, more specific, longer."""
    ranked = sorted(
        findings, key=lambda f: (f.entity in NER_ENTITIES, -f.score, RANK[f.entity], f.start - f.end, f.start)
    )
    kept: list[Finding] = []
    for f in ranked:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def canonical(entity: str, value: str) -> str:
    """The form that is hashed, so that formatting variants of one value hash alike."""
    if entity in ALNUM_KEYED:
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return " ".join(value.split()).casefold()


def pseudonym(entity: str, value: str, salt: bytes) -> str:
    """A salted HMAC tag: the same value links across documents without being recoverable."""
    digest = hmac.new(salt, f"{entity}\x1f{canonical(entity, value)}".encode(), hashlib.sha256).hexdigest()
    return f"<{entity}:{digest[:16]}>"


def mask(value: str) -> str:
    """Letters and digits become ``*``; punctuation stays, so the shape of the value shows."""
    return "".join("*" if ch.isalnum() else ch for ch in value)


def anonymize(text: str, findings: Sequence[Finding], rules: Mapping[str, EntityRule], salt: bytes) -> Scrubbed:
    """Apply each entity's mode to non-overlapping ``findings`` (sorted by start)."""
    pieces, counts, last = [], Counter(), 0
    for f in findings:
        mode = rules[f.entity].mode
        value = text[f.start : f.end]
        counts[f.entity] += 1
        if mode == "keep":
            continue
        if mode == "replace":
            replacement = f"<{f.entity}>"
        elif mode == "mask":
            replacement = mask(value)
        else:
            replacement = pseudonym(f.entity, value, salt)
        pieces += [text[last : f.start], replacement]
        last = f.end
    pieces.append(text[last:])
    return Scrubbed("".join(pieces), dict(counts))
