"""Lines, paragraphs, words and sentences of a document, per language. Pure functions.

Word segmentation depends on the writing system (see docs/filters.md):

- ``whitespace``: words are the white-space separated tokens (English, German, Russian, ...).
- ``jieba``: Chinese, segmented with jieba's default dictionary (the same segmenter spaCy's
  Chinese tokenizer uses, so FineWeb-2's Chinese thresholds apply as published).
- ``script_runs``: Japanese, a character-based rule: a token is a maximal run of one script
  (kanji, hiragana, katakana, or Latin letters/digits); every other symbol is its own token.
  Particles written in hiragana between kanji come out as their own tokens.

``TextUnits`` computes each unit once, on first use, so the rules of all rule families share
one split of the document.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cached_property, lru_cache
from itertools import count
from typing import Literal

import numpy as np

Segmenter = Callable[[str], list[str]]
SegmenterName = Literal["whitespace", "jieba", "script_runs"]

# Characters stripped from both ends of a token to get the word (ASCII and common
# Unicode punctuation, quotes, brackets and CJK full-width punctuation).
EDGE_PUNCTUATION = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    "\u00a1\u00a7\u00ab\u00b6\u00b7\u00bb\u00bf"
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030"
    "\u2039\u203a\u203b\u2e3a\u3001\u3002\u3003\u3008\u3009\u300a\u300b\u300c\u300d\u300e\u300f\u3010\u3011"
    "\u3014\u3015\u301c\u301d\u301e\u30fb\uff01\uff02\uff08\uff09\uff0c\uff0e\uff1a\uff1b\uff1f\uff3b\uff3d"
    "\uff5b\uff5d\uff5e\uff61\uff62\uff63\uff64\u00a9\u00ae\u2122\u25ba\u25cf\u25cb\u25aa\u25ab\u2023\u2043"
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_SCRIPT_RUN = re.compile(
    rf"[{_CJK}\u3005\u3006]+"  # kanji (with the iteration marks 々 and 〆)
    r"|[\u3041-\u309f]+"  # hiragana
    r"|[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]+"  # katakana, including the long-vowel mark ー
    rf"|[^\W{_CJK}{_KANA}]+"  # Latin, Cyrillic, ... letters and digits
    r"|[^\w\s]"  # any other symbol, one per token
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def script_run_tokens(text: str) -> list[str]:
    """Japanese tokens by script runs (character-based rule, no dictionary)."""
    return _SCRIPT_RUN.findall(text)


def load_jieba_segmenter(cached_lines: int = 16384) -> Segmenter:
    """A jieba tokenizer with its dictionary loaded (about 2 s: load once per process).

    jieba never joins characters across a line break, so the text is cut line by line with
    the last ``cached_lines`` lines memoised: the rules segment a document, then its lines
    (C4), then the cleaned text, and boilerplate lines repeat across documents.
    """
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()

    @lru_cache(maxsize=cached_lines)
    def line_tokens(line: str) -> tuple[str, ...]:
        return tuple(token for token in tokenizer.lcut(line) if not token.isspace())

    def jieba_tokens(text: str) -> list[str]:
        return [token for line in text.split("\n") for token in line_tokens(line)]

    return jieba_tokens


def make_segmenter(name: SegmenterName) -> Segmenter:
    """The word segmenter called ``name`` (jieba loads its dictionary here)."""
    if name == "whitespace":
        return str.split
    if name == "jieba":
        return load_jieba_segmenter()
    if name == "script_runs":
        return script_run_tokens
    raise ValueError(f"unknown segmenter {name!r}; expected whitespace, jieba or script_runs")


def split_lines(text: str) -> list[str]:
    """Non-blank lines, stripped of surrounding white space."""
    return [line for line in (raw.strip() for raw in text.split("\n")) if line]


def split_paragraphs(text: str) -> list[str]:
    """Non-blank paragraphs (separated by a blank line), stripped."""
    return [para for para in (raw.strip() for raw in _PARAGRAPH_BREAK.split(text)) if para]


def words_of(tokens: list[str]) -> list[str]:
    """Tokens without surrounding punctuation; tokens made only of punctuation are dropped."""
    return [word for word in (token.strip(EDGE_PUNCTUATION) for token in tokens) if word]


def sentence_end_pattern(marks: str) -> re.Pattern[str]:
    """A sentence boundary: an ASCII mark of ``marks`` (then closing quotes or brackets) before
    white space or the end of the line, or any other mark of ``marks`` (CJK 。！？, no space needed)."""
    ascii_marks = "".join(mark for mark in marks if mark.isascii())
    wide_marks = "".join(mark for mark in marks if not mark.isascii())
    boundaries = []
    if ascii_marks:
        boundaries.append(rf"[{re.escape(ascii_marks)}]+[\"'\u2019\u201d)\]]*(?=\s|$)")
    if wide_marks:
        boundaries.append(rf"[{re.escape(wide_marks)}]+[\u201d\u300d\u300f\uff09]*")
    return re.compile("|".join(boundaries))


def count_sentences(line: str, sentence_end: re.Pattern[str]) -> int:
    """Sentences in a non-empty line: its sentence boundaries, at least one."""
    return max(1, len(sentence_end.findall(line)))


class TextUnits:
    """The units of one document, each computed on first use and then reused by every rule."""

    def __init__(self, text: str, segmenter: Segmenter):
        self.text = text
        self._segmenter = segmenter

    @cached_property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    @cached_property
    def paragraphs(self) -> list[str]:
        return split_paragraphs(self.text)

    @cached_property
    def tokens(self) -> list[str]:
        """Segmenter output: white-space tokens, or CJK words and punctuation tokens."""
        return self._segmenter(self.text)

    @cached_property
    def words(self) -> list[str]:
        """Tokens stripped of surrounding punctuation, punctuation-only tokens left out."""
        return words_of(self.tokens)

    @cached_property
    def word_chars(self) -> int:
        """Characters in all words (the denominator of the n-gram character fractions)."""
        return sum(map(len, self.words))

    @cached_property
    def ngrams(self) -> WordNgrams:
        return WordNgrams(self.words)

    @cached_property
    def duplicate_lines(self) -> tuple[int, int]:
        """(count, characters) of lines identical to an earlier line."""
        return duplicates(self.lines)

    @cached_property
    def duplicate_paragraphs(self) -> tuple[int, int]:
        """(count, characters) of paragraphs identical to an earlier paragraph."""
        return duplicates(self.paragraphs)


def duplicates(items: list[str]) -> tuple[int, int]:
    """(count, characters) of the items equal to an earlier item (the first occurrence is not counted)."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


class WordNgrams:
    """Word n-grams of a document as dense integer ids, built for n = 2, 3, ... from n - 1.

    Two n-grams get the same id exactly when they are the same words in the same order,
    so counting and finding repeats are NumPy operations on integer arrays.
    """

    def __init__(self, words: list[str]):
        self.n_words = len(words)
        self.lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self.cumulative = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.cumulative[1:])
        vocabulary = dict(zip(dict.fromkeys(words), count()))
        self._vocabulary_size = len(vocabulary)
        self._word_ids = np.fromiter(map(vocabulary.__getitem__, words), dtype=np.int64, count=len(words))
        self._groups: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def groups(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For the n-grams starting at 0, 1, ...: (id of each, first start of each id, count of each id)."""
        if n not in self._groups:
            if n == 1:
                keys = self._word_ids
            else:  # (id of the (n-1)-gram at i, word at i + n - 1) -> one integer, exactly
                keys = self.groups(n - 1)[0][: self.n_words - n + 1] * self._vocabulary_size + self._word_ids[n - 1 :]
            _, first, ids, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
            self._groups[n] = (ids, first, counts)
        return self._groups[n]

    def top(self, n: int) -> tuple[int, int]:
        """(count, characters) of the most frequent n-gram; ties go to the one with more characters."""
        ids, _, counts = self.groups(n)
        occurrences = counts[ids]
        chars = self.cumulative[n:] - self.cumulative[:-n]
        best = int(np.argmax(occurrences * (int(chars.max()) + 1) + chars))
        return int(occurrences[best]), int(chars[best])

    def repeated_chars(self, n: int) -> int:
        """Characters of the words covered by n-grams that occurred earlier, each word counted once."""
        ids, first, counts = self.groups(n)
        if len(counts) == len(ids):
            return 0
        starts = np.flatnonzero(first[ids] != np.arange(len(ids)))
        size = self.n_words + 1
        depth = np.cumsum(np.bincount(starts, minlength=size) - np.bincount(starts + n, minlength=size))
        return int(self.lengths[depth[:-1] > 0].sum())
