"""C4 line cleaning and page filters (Raffel et al. 2020, section 2.2). Pure functions.

Follows the reference implementation that built C4 (``clean_page`` and the bad-words
filter in TensorFlow Datasets' ``c4_utils.py``): lines are filtered one by one, lorem ipsum
and curly brackets drop the page when found on a line that survived the line filters,
then the page needs enough sentences, then the cleaned text is checked for bad words.
"""

from __future__ import annotations

import re

from pydantic import Field, PrivateAttr, model_validator

from filters.gopher import RuleFamilyConfig
from filters.text_units import Segmenter, count_sentences, sentence_end_pattern, words_of

C4_POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")


class C4Config(RuleFamilyConfig):
    line_end_marks: str = Field('.?!"', min_length=1, description="a kept line ends with one of these (C4)")
    sentence_end_marks: str = Field(".?!", min_length=1, description="sentence ends; ASCII ones need a space after")
    min_words_per_line: int | None = Field(3, ge=0, description="lines with fewer words are dropped (C4)")
    max_word_length: int | None = Field(1000, ge=1, description="lines with a longer word are dropped (C4 code)")
    remove_citations: bool = Field(True, description="strip [1], [edit], [citation needed] (C4 code)")
    drop_javascript_lines: bool = Field(True, description="drop lines containing 'javascript' (C4)")
    drop_policy_lines: bool = Field(True, description="drop lines with a policy substring (C4 code)")
    policy_substrings: tuple[str, ...] = Field(
        C4_POLICY_SUBSTRINGS, description="cookie/terms boilerplate, any case (C4 code)"
    )
    drop_lorem_ipsum: bool = Field(True, description="drop pages with 'lorem ipsum': c4:lorem_ipsum (C4)")
    drop_curly_bracket: bool = Field(True, description="drop pages with '{': c4:curly_bracket (C4)")
    min_sentences: int | None = Field(5, ge=0, description="fewer sentences left: c4:too_few_sentences (C4)")
    bad_words: tuple[str, ...] = Field((), description="pages containing one are dropped: c4:bad_words (C4)")
    bad_words_inside_words: bool = Field(False, description="match bad words anywhere (zh/ja), not as whole words")

    _line_ends: tuple[str, ...] = PrivateAttr(())
    _policy: tuple[str, ...] = PrivateAttr(())
    _sentence_end: re.Pattern[str] = PrivateAttr()
    _bad_words: re.Pattern[str] | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _prepare(self) -> C4Config:
        self._line_ends = tuple(self.line_end_marks)
        self._policy = tuple(phrase.lower() for phrase in self.policy_substrings)
        self._sentence_end = sentence_end_pattern(self.sentence_end_marks)
        if self.bad_words:
            alternatives = "|".join(re.escape(word.lower()) for word in sorted(self.bad_words, key=len, reverse=True))
            pattern = alternatives if self.bad_words_inside_words else rf"(?:\W|^)(?:{alternatives})(?:\W|$)"
            self._bad_words = re.compile(pattern)
        return self


def c4_clean(text: str, cfg: C4Config, segmenter: Segmenter) -> tuple[str | None, str]:
    """``(None, cleaned_text)`` when the page is kept, else ``(reason, text)``."""
    kept: list[str] = []
    sentences = 0
    line_ends, sentence_end, policy = cfg._line_ends, cfg._sentence_end, cfg._policy
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if (
            cfg.max_word_length is not None
            and len(line) > cfg.max_word_length
            and max(map(len, segmenter(line)), default=0) > cfg.max_word_length
        ):
            continue
        if cfg.remove_citations and "[" in line:
            line = _CITATION.sub("", line).rstrip()
        if not line.endswith(line_ends) or line.endswith("..."):
            continue
        if cfg.min_words_per_line is not None and len(words_of(segmenter(line))) < cfg.min_words_per_line:
            continue
        lower = line.lower()
        if cfg.drop_lorem_ipsum and "lorem ipsum" in lower:
            return "c4:lorem_ipsum", text
        if cfg.drop_javascript_lines and "javascript" in lower:
            continue
        if cfg.drop_curly_bracket and "{" in line:
            return "c4:curly_bracket", text
        if cfg.drop_policy_lines and any(phrase in lower for phrase in policy):
            continue
        sentences += count_sentences(line, sentence_end)
        kept.append(line)
    if cfg.min_sentences is not None and sentences < cfg.min_sentences:
        return "c4:too_few_sentences", text
    cleaned = "\n".join(kept)
    if cfg._bad_words is not None and cfg._bad_words.search(cleaned.lower()):
        return "c4:bad_words", text
    return None, cleaned
