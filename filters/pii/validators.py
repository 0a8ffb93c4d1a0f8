"""Checksums and structure rules that tell a real number or address from a look-alike.

No regexes for finding here: these only validate a candidate string, offline.
"""

from __future__ import annotations

import re
from datetime import date

import tldextract


def luhn_ok(digits: str) -> bool:
    """Luhn checksum of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Issuer prefixes and card lengths of the major schemes (ISO/IEC 7812 issuer identification numbers as the
# schemes publish them). A length a scheme does not issue is no card of that scheme: twelve Luhn-valid digits
# are a card only with a Maestro prefix.
_CARD_SCHEMES = (
    ("visa", r"4", (13, 16, 19)),
    ("mastercard", r"5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720", (16,)),
    ("amex", r"3[47]", (15,)),
    ("diners", r"30[0-5]|3095|36|3[89]", (14, 15, 16, 17, 18, 19)),
    ("discover", r"6011|64[4-9]|65", (16, 17, 18, 19)),
    ("jcb", r"35(?:2[89]|[3-8])", (16, 17, 18, 19)),
    ("jcb-15", r"2131|1800", (15,)),
    ("maestro", r"5018|5020|5038|5893|6304|6759|676[1-3]|50|5[6-9]|6", tuple(range(12, 20))),
    ("unionpay", r"62|81", (16, 17, 18, 19)),
    ("mir", r"220[0-4]", (16, 17, 18, 19)),
    ("rupay", r"60|65|81|82|508|353|356", (16,)),
    ("troy", r"9792", (16,)),
)
_CARD_PREFIXES = [(re.compile(prefix), lengths) for _, prefix, lengths in _CARD_SCHEMES]


def card_ok(digits: str) -> bool:
    """A payment card number: a major scheme's issuer prefix and length (12-19 digits), Luhn-valid."""
    return any(p.match(digits) and len(digits) in lengths for p, lengths in _CARD_PREFIXES) and luhn_ok(digits)


_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"


def cn_id_ok(value: str) -> bool:
    """An 18-character PRC resident ID: region, real birth date, ISO 7064 MOD 11-2 check."""
    value = value.upper()
    if not re.fullmatch(r"[1-8]\d{16}[\dX]", value):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date.today():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _CN_ID_WEIGHTS, strict=False))
    return _CN_ID_CHECK[total % 11] == value[17]


def isbn13_ok(digits: str) -> bool:
    """An ISBN-13 (978/979 prefix, valid check digit): a book number, not a phone."""
    return (
        len(digits) == 13
        and digits[:3] in ("978", "979")
        and (sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0)
    )


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """US SSN structure rules (area 000/666/9xx, group 00, serial 0000 were never issued)."""
    return (
        area not in ("000", "666")
        and area[0] != "9"
        and group != "00"
        and serial != "0000"
        and (
            area + group + serial not in ("078051120", "123456789")  # published sample numbers
        )
    )


def offline_suffix_extractor() -> tldextract.TLDExtract:
    """tldextract on its bundled public-suffix snapshot: no download, no disk cache."""
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


_TLD = offline_suffix_extractor()


def email_domain_ok(domain: str) -> bool:
    """The domain ends in a public suffix (offline: tldextract's bundled snapshot only)."""
    parts = _TLD(domain)
    return bool(parts.domain and parts.suffix)
