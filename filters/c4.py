"""C4 line cleaning and page rules (Raffel et al. 2020, section 2.2). Pure functions.

Follows the reference implementations (``clean_page`` in TensorFlow Datasets' ``c4_utils.py``, which
built C4, and datatrove 0.10.1's C4QualityFilter, which FineWeb ran): lines are cleaned one by one;
lorem ipsum and curly brackets on a line that survived the line rules drop the page; the page needs
enough sentences; the cleaned text is checked for bad words.

Signals, then decisions: ``c4_scores`` cleans the page as if the page rules were off (a page they
drop is dropped whatever the cleaning) and counts what they look at; ``c4_checks`` applies them.
"""

from __future__ import annotations

import re

from pydantic import Field, PrivateAttr, model_validator

from filters.gopher import Check, RuleFamilyConfig, Signals
from filters.text_units import Segmenter, count_sentences, sentence_end_pattern

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
    THRESHOLDS = ("drop_lorem_ipsum", "drop_curly_bracket", "min_sentences")

    drop_unterminated_lines: bool = Field(
        True,
        description="drop lines not ending with a line_end_marks character, or ending with '...' (C4; "
        "datatrove's filter_no_terminal_punct, off in FineWeb's recipe)",
    )
    line_end_marks: str = Field('.?!"', min_length=1, description="line-final marks for drop_unterminated_lines (C4)")
    sentence_end_marks: str = Field(".?!", min_length=1, description="sentence ends; ASCII ones need a space after")
    min_words_per_line: int | None = Field(
        3, ge=0, description="lines with fewer words (line.split()) are dropped (C4)"
    )
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


def c4_scores(text: str, cfg: C4Config, segmenter: Segmenter) -> tuple[Signals, str]:
    """The page's C4 signals and its text after line cleaning.

    Signals: ``sentences`` in the kept lines; ``lorem_ipsum`` and ``curly_bracket``, the lines that
    passed the line rules and hold the phrase or a ``{`` (a javascript line is dropped before the
    bracket is looked at, as in C4's code); ``bad_words``, matches in the lower-cased cleaned text.
    """
    kept: list[str] = []
    sentences = lorem_lines = bracket_lines = 0
    line_ends, sentence_end, policy = cfg._line_ends, cfg._sentence_end, cfg._policy
    for raw in text.splitlines():
        line = stripped = raw.strip()
        if (
            cfg.max_word_length is not None
            and len(line) > cfg.max_word_length
            and max(map(len, segmenter.line_words(line)), default=0) > cfg.max_word_length
        ):
            continue
        if cfg.remove_citations and "[" in line:
            line = _CITATION.sub("", line)
        if cfg.drop_unterminated_lines and (not line.endswith(line_ends) or line.endswith("...")):
            continue
        # words are counted before the citations are removed, as datatrove does
        if cfg.min_words_per_line is not None and len(segmenter.line_words(stripped)) < cfg.min_words_per_line:
            continue
        lower = line.lower()
        lorem_lines += "lorem ipsum" in lower
        if cfg.drop_javascript_lines and "javascript" in lower:
            continue
        bracket_lines += "{" in line
        if cfg.drop_policy_lines and any(phrase in lower for phrase in policy):
            continue
        sentences += segmenter.sentences(line) if segmenter.sentences else count_sentences(line, sentence_end)
        kept.append(line)
    cleaned = "\n".join(kept).strip()
    bad_words = len(cfg._bad_words.findall(cleaned.lower())) if cfg._bad_words is not None else 0
    signals = {"sentences": sentences, "lorem_ipsum": lorem_lines, "curly_bracket": bracket_lines}
    return {**signals, "bad_words": bad_words}, cleaned


def c4_checks(cfg: C4Config) -> list[Check]:
    return [
        Check("lorem_ipsum", "lorem_ipsum", high=0 if cfg.drop_lorem_ipsum else None),
        Check("curly_bracket", "curly_bracket", high=0 if cfg.drop_curly_bracket else None),
        Check("too_few_sentences", "sentences", low=cfg.min_sentences),
        Check("bad_words", "bad_words", high=0),
    ]
