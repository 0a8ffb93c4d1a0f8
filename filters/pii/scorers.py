"""The pattern entities' regexes and scorers: each scorer validates one match in its context.

A scorer returns 0 for a look-alike (dates, versions, ISBNs, number lists) and otherwise a
score from ``scores``, raised by cue words near the match.
"""

from __future__ import annotations

import ipaddress
import re

import regex

from filters.pii.context import (
    NOT_PHONE_CUE,
    NUMBER_CUES,
    PHONE_CUE_ADJACENT,
    PHONE_CUES,
    SSN_CUES,
    VERSION_CUES,
    has_cue,
    line_before,
)
from filters.pii.scores import CONTEXT_BOOST, MEDIUM, STRONG, VALIDATED, WEAK
from filters.pii.validators import card_ok, cn_id_ok, email_domain_ok, isbn13_ok, ssn_valid

# Characters that may not touch a number-like match (ASCII only, so that CJK text right
# before or after a number still counts as a boundary).
_NB = r"(?<![A-Za-z0-9_+.\-/#@])(?<!\d:)"
_NA = r"(?![A-Za-z0-9_]|[.\-/]\d)"


PHONE_RE = regex.compile(
    _NB + r"(?P<intl>\+\d{1,3}[ .\-]?|00\d{1,3}[ .\-])?"  # +49 / 0049 / +1- / 001-
    r"(?P<area>\(\d{1,5}\)[ .\-]?)?"  # (0)30 / (415)
    r"(?P<body>\d{1,11}(?:[ .\-]\d{1,11}){0,6})"  # digit groups with single separators
    r"(?P<ext>[ ]?(?:x|ext\.?|extension)[ ]?\d{1,6})?"
    r"(?![A-Za-z0-9_]|[.\-/]\d|\.[A-Za-z])",  # not a host name (80-24-132-206.example.net)
    regex.IGNORECASE,
)


def _is_date(groups: list[str]) -> bool:
    """The first three digit groups read as Y-M-D, D-M-Y or M-D-Y."""
    a, b, c = (int(g) for g in groups[:3])
    la, lc = len(groups[0]), len(groups[2])
    if la == 4 and len(groups[1]) <= 2 and lc <= 2:
        return 1 <= b <= 12 and 1 <= c <= 31
    if lc == 4 and la <= 2 and len(groups[1]) <= 2:
        return 1 <= min(a, b) <= 12 and 1 <= max(a, b) <= 31
    return False


def phone_score(text: str, m: regex.Match) -> float:
    """Score a phone-shaped match; 0 for dates, versions, ISBNs, IPs, SSNs, number lists."""
    intl, area, body, ext = m.group("intl"), m.group("area"), m.group("body"), m.group("ext")
    groups = re.findall(r"\d+", body)
    seps = re.findall(r"[ .\-]", body)  # one between each pair of groups
    digits = re.sub(r"\D", "", (intl or "") + (area or "") + body)
    n = len(digits)
    if len(set(seps[1:])) > 1 or not 6 <= n <= 15:
        return 0.0  # only the separator after an area code ("0755-2354 4668") may differ
    sep = seps[-1] if seps else ""
    if len(groups) > 1 and len(groups[-1]) < 2:
        return 0.0  # "1-2-3", ISBN-10 check digit
    shape = [len(g) for g in groups]
    before = line_before(text, m.start())
    just_before = text[max(0, m.start() - 20) : m.start()]  # for "pp. 12-34", "v. 1.2.3", not sentence-cut
    if area and len(re.sub(r"\D", "", body)) < 5:
        return 0.0  # "(2013) 11"
    if "." in seps and not (intl or shape in ([3, 3, 4], [1, 3, 3, 4]) or (set(shape) == {2} and n == 10)):
        return 0.0  # dotted: only 555.123.4567, +1.617.555.0100, 01.23.45.67.89; not versions, dates
    if "." in seps and VERSION_CUES.search(just_before):
        return 0.0
    if any(seps[i] == seps[i + 1] in ".-" and _is_date(groups[i : i + 3]) for i in range(len(groups) - 2)):
        return 0.0  # 2019-06-19, 19.06.2019, "14 2002-09-13"
    if len(set(seps)) == 1 and sep in " -" and shape == [3, 2, 4] and not (intl or area):
        return 0.0  # US SSN shape
    if isbn13_ok(digits) or NOT_PHONE_CUE.search(just_before):
        return 0.0  # ISBN, ISSN, page ranges
    if len(groups) >= 2 and all(k == 4 and 1000 <= int(g) <= 2099 for g, k in zip(groups, shape, strict=False)):
        return 0.0  # years, year ranges
    if shape[0] == 1 and not (intl or area) and not (groups[0] == "1" and n == 11):
        return 0.0  # "1 234 567" is a number, "1 800 555 1234" is a phone
    thousands = set(seps) <= {" ", "."} and len(groups) >= 3 and all(k == 3 for k in shape[1:])
    if intl or area or ext or cn_mobile(digits) or shape in ([3, 3, 4], [1, 3, 3, 4]):
        score = STRONG
    elif digits[0] == "0" and 9 <= n <= 12 and len(groups) >= 2:
        score = STRONG  # national format with trunk prefix 0
    elif len(groups) >= 3 and n >= 8 and not thousands and (sep != " " or (n >= 9 and set(shape) != {2})):
        score = STRONG  # "50-98-28-96"; with spaces 9+ digits ("Apt. 338 32 216") and no hex-dump pairs
    elif shape == [3, 4] and sep == "-":
        score = MEDIUM  # local number 555-1234
    elif n >= 7 or len(groups) >= 3:
        score = WEAK  # bare digits, "1707 2560" (image sizes), "4000-6000": need a cue
    else:
        return 0.0
    if any(has_cue(cues, text, m.start(), m.end()) for cues in (PHONE_CUES, NUMBER_CUES)) or PHONE_CUE_ADJACENT.search(
        before
    ):
        score = min(1.0, score + CONTEXT_BOOST)
    return score


def cn_mobile(digits: str) -> bool:
    """A PRC mainland mobile number, optionally with the 86 country code."""
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return bool(re.fullmatch(r"1[3-9]\d{9}", digits))


CARD_RE = regex.compile(
    _NB + r"(?:\d{4}(?P<s>[ \-]?)\d{4}(?P=s)\d{4}(?:(?P=s)\d{1,4}(?:(?P=s)\d{1,3})?)?"  # 4-4-4(-4(-3)): 12-19
    r"|\d{4}(?P<a>[ \-]?)\d{6}(?P=a)\d{4,5})"  # Amex / Diners 4-6-5, 4-6-4
     + _NA
)


def card_score(text: str, m: regex.Match) -> float:
    """Only checksum-valid card numbers: 16-digit runs are common in ids and logs."""
    return VALIDATED if card_ok(re.sub(r"\D", "", m.group())) else 0.0


SSN_RE = regex.compile(_NB + r"(?P<area>\d{3})(?P<s>[ \-]?)(?P<group>\d{2})(?P=s)(?P<serial>\d{4})" + _NA)


def ssn_score(text: str, m: regex.Match) -> float:
    """Dashed SSNs pass alone; spaced or bare nine digits need an SSN cue nearby."""
    if not ssn_valid(m.group("area"), m.group("group"), m.group("serial")):
        return 0.0
    base = {"-": 0.6, " ": WEAK, "": 0.2}[m.group("s")]
    return min(1.0, base + CONTEXT_BOOST) if has_cue(SSN_CUES, text, m.start(), m.end()) else base


IPV4_RE = regex.compile(r"(?<![A-Za-z0-9_.\-])(?:\d{1,3}\.){3}\d{1,3}(?![A-Za-z0-9_]|\.\d)")
IPV6_RE = regex.compile(
    r"(?<![A-Za-z0-9_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
    r"(?![A-Za-z0-9_:])"
)


def ip_score(text: str, m: regex.Match) -> float:
    """Valid IPv4/IPv6, not loopback or unspecified (they identify no one), not a version."""
    try:
        address = ipaddress.ip_address(m.group())
    except ValueError:
        return 0.0
    if address.is_loopback or address.is_unspecified or not any(ch.isdigit() for ch in m.group()):
        return 0.0  # also "dead::beef"-like identifiers in code
    if address.version == 4 and VERSION_CUES.search(text[max(0, m.start() - 20) : m.start()]):
        return 0.0
    return 0.85


EMAIL_RE = regex.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9_%+\-](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})"
    r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
)


def email_score(text: str, m: regex.Match) -> float:
    """Only addresses whose domain ends in a public suffix (not ``root@server.localdomain``)."""
    return VALIDATED if email_domain_ok(m.group("domain")) else 0.0


ETH_RE = regex.compile(r"(?<![A-Za-z0-9_])0x[0-9a-fA-F]{40}(?![A-Za-z0-9_])")
CN_ID_RE = regex.compile(r"(?<![A-Za-z0-9_])[1-8]\d{16}[\dXx](?![A-Za-z0-9_])")


def eth_score(text: str, m: regex.Match) -> float:
    """A fixed score above the default threshold: 0x and 40 hex digits is specific enough."""
    return 0.6


def cn_id_score(text: str, m: regex.Match) -> float:
    """Only IDs with a real birth date and a valid check character."""
    return VALIDATED if cn_id_ok(m.group()) else 0.0
