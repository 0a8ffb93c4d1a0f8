"""The model stages' tokens: single CJK characters, runs of letters/digits, single symbols.

A language-independent rule the quality classifier and the KenLM models both see ("Hello, 世界!"
-> ``Hello , 世 界 !``): each Han, Hiragana or Katakana character is a token (character-level
Chinese/Japanese); a maximal run of other word characters (Python's ``\\w``: ``str.isalnum`` or
``_``) is a token; every other character that is not white space is a token of its own. As a regular
expression: ``[CJK]|[^\\W CJK]+|[^\\w\\s]``.

The joining is compiled (``filters/_tokens.c``, built by ``pip install -e .``): the regex and a
``" ".join`` per line cost several times the model call itself (bench/results/model_prep.md); the C
pass reads a per-code-point table built here once per process from Python's own character classes,
so the tokens are exactly the regex's (tests/test_tokens.py checks every code point and real text).
"""

from __future__ import annotations

import functools
import re
import sys

from filters import _tokens

WORD, SEPARATOR, ISOLATED, LINE_BREAK = 0, 1, 2, 3
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"


@functools.cache
def _kinds(keep_lines: bool) -> bytes:
    """Each code point's role; built from regex scans over all code points (about 0.1 s)."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    kinds = bytearray([ISOLATED]) * len(every)
    for match in re.finditer(f"[^\\W{CJK}]+", every):
        kinds[match.start() : match.end()] = bytes(match.end() - match.start())
    for match in re.finditer(r"\s", every):
        kinds[match.start()] = SEPARATOR
    if keep_lines:
        kinds[ord("\n")] = LINE_BREAK
    return bytes(kinds)


def joined_tokens(text: str) -> str:
    """All of ``text``'s tokens joined by single spaces (line breaks separate like spaces)."""
    return _tokens.joined_tokens(text, _kinds(False))


def joined_token_lines(text: str) -> list[str]:
    """Each line's tokens joined by single spaces, one string per line (empty when it has none)."""
    return _tokens.joined_tokens(text, _kinds(True)).split("\n")
