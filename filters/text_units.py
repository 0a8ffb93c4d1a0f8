"""Lines, paragraphs, tokens and sentences of a document, per language. Pure functions.

Each rule family reads the units its reference implementation (datatrove 0.10.1) defines, so a
threshold means what it meant where it was published (docs/filters.md):

- Gopher quality: the lines of ``str.splitlines()``, blank lines included;
- Gopher repetition: lines split on runs of ``\\n``, paragraphs on ``\\n\\n+`` of the stripped text;
- FineWeb: the non-blank lines of ``text.split("\\n")``, not stripped;
- C4: each line of ``str.splitlines()`` stripped, its words ``line.split()``.

Tokens come from the language's segmenter (see docs/filters.md):

- ``whitespace``: ``str.split()``, punctuation stays on its word (``world.`` is one token). Fast.
- ``spacy``: spaCy's rule-based tokenizer for the language (``spacy.blank(lang)``, no model file),
  the tokens datatrove's filters count, and its sentencizer for C4's sentences.
- ``jieba``: Chinese, jieba's default dictionary (the segmenter of spaCy's Chinese tokenizer).
- ``script_runs``: Japanese, a token is a maximal run of one script (kanji, hiragana, katakana,
  Latin letters/digits); every other symbol is its own token.

``TextUnits`` computes each unit once, on first use, so the rules of all families share one split.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Literal

import numpy as np

from filters._ngrams import ngram_stats, token_ids

SegmenterName = Literal["whitespace", "spacy", "jieba", "script_runs"]

# The Unicode property Sentence_Terminal (Unicode 16, all planes), from regex's \p{STerm}.
SENTENCE_TERMINALS = (
    "!.?\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e\u0964\u0965\u104a\u104b"
    "\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u1803\u1809\u1944\u1945\u1aa8\u1aa9\u1aaa\u1aab\u1b4e\u1b4f"
    "\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e\u1b7f\u1c3b\u1c3c\u1c7e\u1c7f\u2024\u203c\u203d\u2047\u2048\u2049\u2cf9"
    "\u2cfa\u2cfb\u2e2e\u2e3c\u2e53\u2e54\u2e60\u2e61\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf"
    "\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe12\ufe15\ufe16\ufe52\ufe56\ufe57\uff01\uff0e\uff1f"
    "\uff61\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88"
    "\U00010f89\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143\U000111c5"
    "\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9\U000113d4\U000113d5"
    "\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce\U000115cf"
    "\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641\U00011642\U0001173c"
    "\U0001173d\U0001173e\U00011944\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42\U00011ef7"
    "\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38\U00016b44\U00016d6e\U00016d6f"
    "\U00016e98\U0001bc9f\U0001da88"
)
# FineWeb's line-final marks as datatrove 0.10.1 lists them (TERMINAL_PUNCTUATION): Sentence_Terminal
# without ONE DOT LEADER, the Coptic and vertical-form marks and nine marks new in Unicode 15.1/16,
# with three Khmer signs that Unicode does not count as terminals.
_NOT_IN_DATATROVE = "\u2024\u2cf9\u2cfa\u2cfb\ufe12\ufe15\ufe16\u1b4e\u1b4f\u1b7f\u2e60\u2e61"
_NOT_IN_DATATROVE += "\U000113d4\U000113d5\U00016d6e\U00016d6f"
TERMINAL_PUNCTUATION = "".join(c for c in SENTENCE_TERMINALS if c not in _NOT_IN_DATATROVE) + "\u17d6\u17d9\u17da"

# cc_net's table of Unicode punctuation and its ASCII replacement (text_normalizer.UNICODE_PUNCT).
UNICODE_PUNCT = {
    "，": ",",
    "。": ".",
    "、": ",",
    "„": '"',
    "”": '"',
    "“": '"',
    "«": '"',
    "»": '"',
    "１": '"',
    "」": '"',
    "「": '"',
    "《": '"',
    "》": '"',
    "´": "'",
    "∶": ":",
    "：": ":",
    "？": "?",
    "！": "!",
    "（": "(",
    "）": ")",
    "；": ";",
    "–": "-",
    "—": " - ",
    "．": ". ",
    "～": "~",
    "’": "'",
    "…": "...",
    "━": "-",
    "〈": "<",
    "〉": ">",
    "【": "[",
    "】": "]",
    "％": "%",
    "►": "-",
}
_CONTROL = "".join(chr(c) for c in (*range(0, 9), 11, 12, *range(13, 32), *range(127, 160)))
# A token made only of these is a symbol, not a word (datatrove's PUNCTUATION_SET: ASCII punctuation,
# cc_net's Unicode punctuation, control characters and the terminal punctuation).
PUNCTUATION = frozenset(string.punctuation + "".join(UNICODE_PUNCT) + _CONTROL + TERMINAL_PUNCTUATION)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_SCRIPT_RUN = re.compile(
    rf"[{_CJK}\u3005\u3006]+"  # kanji (with the iteration marks 々 and 〆)
    r"|[\u3041-\u309f]+"  # hiragana
    r"|[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]+"  # katakana, including the long-vowel mark ー
    rf"|[^\W{_CJK}{_KANA}]+"  # Latin, Cyrillic, ... letters and digits
    r"|[^\w\s]"  # any other symbol, one per token
)
_HAN_RUN = re.compile("[\u4e00-\u9fd5]+")  # jieba's Han characters (jieba.re_han_cut_all)
_LINE_RUN = re.compile("\n+")
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")


@dataclass(frozen=True)
class Segmenter:
    """A language's tokenizer; a library's sentence count of one line when it has one (else C4
    counts sentences by its marks); and the words C4 counts on a line: ``line.split()`` as in C4,
    the segmenter's words for languages written without spaces."""

    tokens: Callable[[str], list[str]]
    sentences: Callable[[str], int] | None = None
    line_words: Callable[[str], list[str]] = str.split


def words_of(tokens: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """The words (non-punctuation tokens) of a line, for languages written without spaces."""

    def line_words(line: str) -> list[str]:
        return [token for token in tokens(line) if is_word(token)]

    return line_words


def script_run_tokens(text: str) -> list[str]:
    """Japanese tokens by script runs (character-based rule, no dictionary)."""
    return _SCRIPT_RUN.findall(text)


def load_jieba_segmenter(cached_lines: int = 16384) -> Segmenter:
    """jieba's default cut (dictionary and HMM) with its dictionary loaded (about 2 s: load once per process).

    jieba cuts each run of Han characters, letters and digits on its own and never across a line
    break, so the text is cut line by line (the last ``cached_lines`` lines memoised: boilerplate
    repeats across documents) and run by run: a run of Han characters alone by jieba-rs (``rjieba``,
    the same dictionary and algorithm compiled, about 10x faster), any other run by jieba itself.
    On 368,775 distinct Han runs of real and generated Chinese text the two give the same tokens
    for all but one (a tie between two equally likely cuts; bench/RESULTS.md).
    """
    import jieba
    import rjieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    runs_of, cut_han_run = jieba.re_han_default.split, rjieba.Jieba().cut

    @lru_cache(maxsize=cached_lines)
    def line_tokens(line: str) -> tuple[str, ...]:
        tokens: list[str] = []
        for run in runs_of(line):
            if run:
                tokens += cut_han_run(run) if _HAN_RUN.fullmatch(run) else tokenizer.lcut(run)
        return tuple(token for token in tokens if not token.isspace())

    def jieba_tokens(text: str) -> list[str]:
        return [token for line in text.split("\n") for token in line_tokens(line)]

    return Segmenter(jieba_tokens, line_words=words_of(jieba_tokens))


def load_spacy_segmenter(language: str, refresh_after: int = 5000) -> Segmenter:
    """spaCy's tokenizer and sentencizer for ``language`` (``spacy.blank``: rules only, nothing to
    download; a language spaCy lacks gets its multi-language ``xx``), as datatrove's SpaCyTokenizer.

    Tokens are stripped and blank ones dropped. spaCy keeps every string it has met (its vocabulary
    cache, which makes tokenising fast), so the pipeline is rebuilt after ``refresh_after``
    documents: a long-running worker's memory stays bounded and the tokens do not change.
    """
    import spacy

    def load():
        try:
            nlp = spacy.blank(language)
        except ImportError:  # spaCy has no such language (ImportError subclass from spacy.util)
            nlp = spacy.blank("xx")
        nlp.add_pipe("sentencizer")
        return nlp

    state = {"nlp": load(), "documents": 0}

    def spacy_tokens(text: str) -> list[str]:
        state["documents"] += 1
        if state["documents"] > refresh_after:
            state.update(nlp=load(), documents=1)
        nlp = state["nlp"]
        nlp.max_length = max(nlp.max_length, len(text) + 10)
        return [token for token in (t.text.strip() for t in nlp.tokenizer(text)) if token]

    def spacy_sentences(line: str) -> int:
        nlp = state["nlp"]
        nlp.max_length = max(nlp.max_length, len(line) + 10)
        return sum(1 for sentence in nlp(line).sents if sentence.text.strip())

    return Segmenter(spacy_tokens, spacy_sentences)


def make_segmenter(name: SegmenterName, language: str = "xx") -> Segmenter:
    """The segmenter called ``name`` for ``language`` (jieba and spaCy load here)."""
    if name == "whitespace":
        return Segmenter(str.split)
    if name == "spacy":
        return load_spacy_segmenter(language)
    if name == "jieba":
        return load_jieba_segmenter()
    if name == "script_runs":
        return Segmenter(script_run_tokens, line_words=words_of(script_run_tokens))
    raise ValueError(f"unknown segmenter {name!r}; expected whitespace, spacy, jieba or script_runs")


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


def is_word(token: str) -> bool:
    """A token with a character that is not punctuation (datatrove's non-symbol word)."""
    return not PUNCTUATION.issuperset(token)


class TextUnits:
    """The units of one document, each computed on first use and then reused by every rule."""

    def __init__(self, text: str, segmenter: Segmenter):
        self.text = text
        self._segmenter = segmenter

    @cached_property
    def physical_lines(self) -> list[str]:
        """``str.splitlines()``: blank lines included (Gopher quality's lines)."""
        return self.text.splitlines()

    @cached_property
    def line_runs(self) -> list[str]:
        """The text split on runs of ``\\n``, not stripped (Gopher repetition's lines)."""
        return _LINE_RUN.split(self.text)

    @cached_property
    def paragraphs(self) -> list[str]:
        """The stripped text split on two or more ``\\n`` (Gopher repetition's paragraphs)."""
        return _PARAGRAPH_BREAK.split(self.text.strip())

    @cached_property
    def nonblank_lines(self) -> list[str]:
        """The lines of ``text.split("\\n")`` with a non-space character, not stripped (FineWeb's lines)."""
        return [line for line in self.text.split("\n") if line.strip()]

    @cached_property
    def tokens(self) -> list[str]:
        """Segmenter output, white space never a token: datatrove's "words" in every ratio."""
        return self._segmenter.tokens(self.text)

    @cached_property
    def words(self) -> list[str]:
        """Tokens with a character that is not punctuation: the words counted and measured (the
        rules count them per distinct token, ``vocabulary.words()``)."""
        return [token for token in self.tokens if is_word(token)]

    @cached_property
    def vocabulary(self) -> TokenVocabulary:
        return TokenVocabulary(self.tokens)

    @cached_property
    def ngrams(self) -> TokenNgrams:
        return TokenNgrams(self.vocabulary, self.tokens)


class TokenVocabulary:
    """The distinct tokens of a document (in order of first use), how often each occurs and the
    token ids: a per-token rule is decided once per distinct token and weighted by its count."""

    def __init__(self, tokens: list[str]):
        self.distinct, ids = token_ids(tokens)  # in C (filters/_ngrams.c): one dictionary pass
        self.token_ids = np.frombuffer(ids, dtype=np.int64)
        self.counts = np.bincount(self.token_ids, minlength=len(self.distinct))

    def count_where(self, keep: Callable[[str], bool]) -> int:
        """Tokens (with repeats) for which ``keep`` holds."""
        return int(self.counts[[keep(token) for token in self.distinct]].sum()) if self.distinct else 0

    def words(self) -> tuple[int, int]:
        """(count, characters) of the tokens that are words (``is_word``, as the set's own method: no Python
        call per token), with repeats."""
        mask = ~np.fromiter(map(PUNCTUATION.issuperset, self.distinct), dtype=bool, count=len(self.distinct))
        lengths = np.fromiter(map(len, self.distinct), dtype=np.int64, count=len(self.distinct))
        return int(self.counts[mask].sum()), int((self.counts * lengths)[mask].sum())


def duplicates(items: list[str]) -> tuple[int, int]:
    """(count, characters) of the items equal to an earlier item (the first occurrence is not counted)."""
    seen: set[str] = set()
    repeats = chars = 0
    for item in items:
        if item in seen:
            repeats += 1
            chars += len(item)
        else:
            seen.add(item)
    return repeats, chars


class TokenNgrams:
    """Token n-grams of a document: the most frequent one and datatrove's repeated characters, per size.

    Counted in C (``filters/_ngrams.c``), one pass over the positions per size with a hash table of the
    n-grams (told apart by their tokens, not their hash alone): in NumPy (sorting n-gram ids, about ten
    small-array calls per size) Gopher's repetition rules took a third of the scoring's CPU time; with
    this the scoring is 1.5x faster with identical signals (bench/results/heuristics_speed.md)."""

    def __init__(self, vocabulary: TokenVocabulary, tokens: list[str]):
        self._token_ids = vocabulary.token_ids
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        self._cumulative = np.zeros(len(tokens) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self._cumulative[1:])
        self._stats: dict[int, tuple[int, int, int]] = {}

    def _of(self, n: int) -> tuple[int, int, int]:
        if n not in self._stats:
            self._stats[n] = ngram_stats(self._token_ids, self._cumulative, n)
        return self._stats[n]

    def top(self, n: int) -> tuple[int, int]:
        """(count, characters) of the most frequent n-gram; of equally frequent ones, the first seen."""
        count, chars, _ = self._of(n)
        return count, chars

    def repeated_chars(self, n: int) -> int:
        """Characters of the n-grams that repeat one seen before, scanning as datatrove does: after a
        repeat the scan jumps n tokens, and only the n-grams it stops at count as seen."""
        return self._of(n)[2]
