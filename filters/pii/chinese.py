"""Chinese PERSON and LOCATION (and addresses) from one jieba part-of-speech segmentation.

spaCy has no Chinese NER model here, and jieba's tags alone are too loose, so names and places
are jieba words checked against surname and place-suffix lists and jieba's own dictionary.
jieba is imported only when the recognizer loads (with NER on, ``engine.check_ner_available`` requires it).
"""

from __future__ import annotations

import logging
from functools import cached_property, lru_cache
from types import SimpleNamespace
from typing import NamedTuple

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from filters.pii.entities import NER_ENTITIES
from filters.pii.scores import ZH_ADDRESS_SCORE, ZH_NAME_SCORE, ZH_PLACE_SCORE

# Top Chinese surnames (single and compound); a name is surname + one or two characters.
ZH_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
ZH_COMPOUND_SURNAMES = frozenset(
    ["欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "夏侯", "令狐"]
)
# Words that end a Chinese place or address part: administrative units and streets.
ZH_ADMIN_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "地区",
    "街道",
    "省",
    "市",
    "区",
    "县",
    "州",
    "镇",
    "乡",
    "村",
)
ZH_STREET_SUFFIXES = ("大街", "大道", "胡同", "路", "街", "巷", "弄")
ZH_PLACE_SUFFIXES = tuple(sorted(ZH_ADMIN_SUFFIXES + ZH_STREET_SUFFIXES, key=len, reverse=True))
# Common nouns ending in a place suffix that end no place name (大中城市, 集成电路; unlike 南山区, 西城区).
ZH_GENERIC_PLACES = ("城市", "农村", "铁路", "公路", "电路", "道路", "线路", "网路", "回路")
# Units whose dictionary entry X+unit makes a jieba place word X a place name (北京 -> 北京市).
ZH_UNITS = "省市区县州"
# Characters without which a stretch of unknown characters can hold no name and no place.
_ZH_CUE_CHARS = ZH_SURNAMES | {s[0] for s in ZH_COMPOUND_SURNAMES} | {c for s in ZH_PLACE_SUFFIXES for c in s}
_ZH_NAME_START = ZH_SURNAMES | {s[0] for s in ZH_COMPOUND_SURNAMES}  # a new word that may be a name
_ZH_PLACE_END = {s[-1] for s in ZH_PLACE_SUFFIXES}  # a new word that may be a place
_SUFFIXES_BY_LAST = {c: tuple(s for s in ZH_PLACE_SUFFIXES if s[-1] == c) for c in _ZH_PLACE_END}  # longest first
# Countries, continents and regions commonly written without a unit.
ZH_REGIONS = frozenset(
    "中国 美国 英国 法国 德国 日本 韩国 朝鲜 俄罗斯 印度 泰国 越南 老挝 柬埔寨 缅甸 新加坡 马来西亚 印度尼西亚 菲律宾 "  # noqa: SIM905
    "蒙古 哈萨克斯坦 巴基斯坦 阿富汗 伊朗 伊拉克 以色列 土耳其 沙特阿拉伯 埃及 南非 尼日利亚 肯尼亚 埃塞俄比亚 摩洛哥 "
    "澳大利亚 新西兰 加拿大 墨西哥 巴西 阿根廷 智利 秘鲁 哥伦比亚 古巴 意大利 西班牙 葡萄牙 荷兰 比利时 瑞士 奥地利 "
    "瑞典 挪威 芬兰 丹麦 冰岛 爱尔兰 波兰 捷克 匈牙利 罗马尼亚 希腊 乌克兰 白俄罗斯 "
    "香港 澳门 台湾 西藏 新疆 内蒙古 广西 宁夏 欧洲 亚洲 非洲 美洲 北美 南美 大洋洲 东南亚 中东".split()
)
# A house number after an address: 27号, 3号楼2单元301室, 12-3号.
_HOUSE_NUMBER = regex.compile(
    r"(?: ?[0-9０-９]{1,5}(?:[-－][0-9０-９]{1,5})? ?(?:号楼|号院|号|弄|栋|幢|座|单元|室|层|楼))+"
)
_HAN_RUN = regex.compile(r"\p{Han}{2,}")
# jieba tags of words that may stand in a place name before its suffix (not verbs, function words, numbers).
_NAME_PART_TAGS = ("n", "vn", "a", "b", "f", "g", "j", "s", "x", "z")
_PROPER_TAGS = ("ns", "nr", "nz")  # jieba: place, person, other proper noun


class Tagged(NamedTuple):
    """A word and its jieba part-of-speech tag (``jieba.posseg.pair``'s fields)."""

    word: str
    flag: str


def place_suffix(word: str) -> str:
    """The longest place suffix ``word`` ends with, if something precedes it ("" otherwise)."""
    suffix = next((s for s in _SUFFIXES_BY_LAST.get(word[-1:], ()) if word.endswith(s)), "")
    return suffix if len(word) > len(suffix) else ""


class ChineseNerRecognizer(EntityRecognizer):
    """Chinese PERSON and LOCATION from one jieba part-of-speech segmentation.

    PERSON: an ``nr`` word with a common surname, one or two given-name characters, and
    rare or absent in jieba's dictionary (jieba tags 许可证, 安全性 as names; private
    persons are not in its dictionary, famous ones often are).
    LOCATION: jieba's ``ns`` tag alone is too loose (日志, 加密, 东西), so a place name is a
    listed country or region, a place or person word (jieba tags 唐山 ``nr``) the dictionary
    also knows with a unit (北京 -> 北京市), a proper noun of 3+ characters ending in a unit
    (海淀区, 王楼村), or an ``ns`` street (长安街). Place parts (also words jieba cut apart:
    人民/路, 砖/桥/镇) and a house number extend it into one address span, which scores higher
    (see ``place_end``).
    """

    MAX_DICT_FREQ = 50  # names more frequent than this in jieba's dictionary are not private persons
    MIN_UNIT_FREQ = 5  # jieba's dictionary gives many added words frequency 3
    MIN_UNIT_SHARE = 0.02
    # jieba's part-of-speech HMM (which finds names it does not know) costs ~65,000 steps per character
    # it has no table entry for: a 20,000-character stretch of rare characters (mojibake) took it 100 s.
    # Unknown stretches in real text are short (at most 14 characters in Hong Lou Meng, the Debian
    # reference and the fortunes); longer ones stay single characters.
    MAX_HMM_CHARS = 32

    CACHED_WORDS = 1 << 16  # per worker: names and places recur, each word's HMM and place test run once

    def __init__(self):
        self.hmm_words = lru_cache(maxsize=self.CACHED_WORDS)(self._hmm_words)
        self.is_place = lru_cache(maxsize=self.CACHED_WORDS)(self._is_place)
        super().__init__(supported_entities=list(NER_ENTITIES), name="ChineseNerRecognizer", supported_language="zh")

    def load(self) -> None:
        """Nothing to load yet: jieba's dictionaries (about 1.5 s a process) load with the first Han text
        (``_jieba``), so runs without Chinese never pay for them; ``check_ner_available`` has checked that
        jieba is installed."""

    @cached_property
    def _jieba(self) -> SimpleNamespace:
        """jieba's dictionary, tags and HMMs; the no-HMM cut by jieba-rs (``rjieba.cut``: the same words as
        jieba's, checked on real text by the tests, at a quarter of the CPU; its own tags differ from
        jieba's for some traditional characters, so the tags come from jieba's table as in ``jieba.posseg``)."""
        import jieba
        import jieba.finalseg
        import jieba.posseg
        import rjieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return SimpleNamespace(
            cut_no_hmm=rjieba.Jieba().cut,
            tags=jieba.posseg.dt.word_tag_tab,
            cut=jieba.posseg.cut,
            split_unknown=jieba.finalseg.cut,  # jieba.cut's 4-state HMM for words it does not know
            freq=jieba.dt.FREQ,  # also holds every prefix of a dictionary word, with frequency 0
        )

    def tagged_words(self, run: str) -> list:
        """jieba's words and part-of-speech tags for a Han run (``jieba.posseg.cut`` without its HMM), with
        unknown stretches (consecutive single characters) of up to ``MAX_HMM_CHARS`` that hold a surname or
        place-suffix character split into words by ``split_unknown``; no other stretch can become a name or
        a place."""
        words, stretch = [], []

        def flush() -> None:
            unknown = "".join(w.word for w in stretch)
            if (
                1 < len(stretch) <= self.MAX_HMM_CHARS
                and not self._jieba.freq.get(unknown)
                and not _ZH_CUE_CHARS.isdisjoint(unknown)
            ):
                words.extend(self.split_unknown(stretch))
            else:
                words.extend(stretch)
            stretch.clear()

        for word in self.dictionary_words(run):
            if len(word.word) == 1:
                stretch.append(word)
            else:
                flush()
                words.append(word)
        flush()
        return words

    def dictionary_words(self, run: str) -> list[Tagged]:
        """What ``jieba.posseg.cut(run, HMM=False)`` gives: dictionary words (jieba-rs cuts) and their tags."""
        tags = self._jieba.tags
        return [Tagged(w, tags.get(w, "x")) for w in self._jieba.cut_no_hmm(run, False)]

    def split_unknown(self, stretch: list) -> list:
        """An unknown stretch (single-character words) as jieba's 4-state HMM splits it (what ``jieba.cut``
        does), each new word that could be a name (a surname first) or a place (a place-suffix character
        last) tagged by the part-of-speech HMM on that word alone, the other new words tagged ``x``.

        ``jieba.posseg``'s own HMM tags the whole stretch at once: about 65,000 steps per character, 98% of
        the stage's time on the synthetic harness corpus. This costs a seventh of that there."""
        out, at = [], 0
        for word in self._jieba.split_unknown("".join(w.word for w in stretch)):
            if len(word) == 1:
                out.append(stretch[at])
            elif word[0] in _ZH_NAME_START or word[-1] in _ZH_PLACE_END:
                out.extend(self.hmm_words(word))
            else:
                out.append(Tagged(word, "x"))
            at += len(word)
        return out

    def _hmm_words(self, word: str) -> tuple:
        """jieba's part-of-speech HMM on one new word (remembered as ``hmm_words``)."""
        return tuple(Tagged(w.word, w.flag) for w in self._jieba.cut(word, HMM=True))

    def is_name(self, word: str) -> bool:
        """A common surname, one or two given-name characters, rare in the dictionary, no unit."""
        surname = word[:2] if word[:2] in ZH_COMPOUND_SURNAMES else word[:1]
        return (
            (surname in ZH_SURNAMES or surname in ZH_COMPOUND_SURNAMES)
            and (1 <= len(word) - len(surname) <= 2 and self._jieba.freq.get(word, 0) <= self.MAX_DICT_FREQ)
            and not word.endswith(ZH_ADMIN_SUFFIXES)
        )  # 曹县 is a county

    def known_with_unit(self, word: str) -> bool:
        """jieba's dictionary has ``word`` + unit (北京市), and not rarely compared with ``word`` itself
        (平原县 is rare next to the noun 平原 'plain')."""
        least = max(self.MIN_UNIT_FREQ, self._jieba.freq.get(word, 0) * self.MIN_UNIT_SHARE)
        return any(self._jieba.freq.get(word + unit, 0) >= least for unit in ZH_UNITS)

    def _is_place(self, word: str, flag: str) -> bool:
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
            if end == i or not (
                _HOUSE_NUMBER.match(text, starts[end])
                or words[end - 1].flag.startswith(_PROPER_TAGS)
                and end < len(words)
                and self.place_part(words, end) > end
            ):
                return i
        while end < len(words) and (following := self.place_part(words, end)) > end:
            end = following
        return end

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None):
        """Places and addresses first (they may start with a surname character), then names."""
        results = []
        metadata = {
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
        }

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
                    add(
                        "LOCATION",
                        starts[i],
                        number.end() if number else starts[end],
                        ZH_ADDRESS_SCORE if number or end - i > 1 else ZH_PLACE_SCORE,
                    )
                    i = end
                    continue
                if words[i].flag.startswith("nr") and self.is_name(words[i].word):
                    add("PERSON", starts[i], starts[i + 1], ZH_NAME_SCORE)
                i += 1
        return results
