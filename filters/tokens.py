"""The model stages' tokens: single CJK characters, runs of letters/digits, single symbols.

A language-independent rule the quality classifier and the KenLM models both see ("Hello, 世界!"
-> ``Hello , 世 界 !``): each Han, Hiragana or Katakana character is a token (character-level
Chinese/Japanese); a maximal run of other word characters (Python's ``\\w``: ``str.isalnum`` or
``_``) is a token; every other character that is not white space is a token of its own. As a regular
expression: ``[CJK]|[^\\W CJK]+|[^\\w\\s]``.

Lower-casing and a per-character normalisation (cc_net's, for KenLM) come first, in the same pass.

The preparation is compiled (``filters/_tokens.c``, built by ``pip install -e .``): regexes, ``str.lower``
and a ``" ".join`` per line cost several times the model call itself (bench/results/model_prep.md). The C
pass reads per-code-point tables built here once per process from Python's own functions (``str.lower``,
the caller's normalisation, the ``\\w``/``\\s`` classes), so its output is exactly theirs
(tests/test_tokens.py checks every code point and real text).
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
from array import array
from collections.abc import Callable

from filters import _tokens

WORD, SEPARATOR, ISOLATED, LINE_BREAK = 0, 1, 2, 3
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# str.lower's one rule that looks at neighbours: a capital sigma becomes final sigma at a word's end.
CAPITAL_SIGMA = "\u03a3"
_NATIVE_UCS4 = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"


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


@functools.cache
def _code_point_map(lower: bool, normalize: Callable[[str], str] | None) -> tuple[bytes, bytes] | tuple[None, None]:
    """Every code point's replacement as (starts, chars) for the C pass, or (None, None) for none.

    Built by applying ``str.lower`` and ``normalize`` to all code points at once, separated by line
    breaks (about 0.5 s): ``normalize`` must map each character on its own and keep line breaks.
    """
    if not lower and normalize is None:
        return None, None
    newline = ord("\n")
    others = [code for code in range(sys.maxunicode + 1) if code != newline]
    text = "\n".join(map(chr, others))
    text = text.lower() if lower else text
    pieces = (normalize(text) if normalize else text).split("\n")
    if len(pieces) != len(others):
        raise ValueError(f"{normalize} must map each character on its own and keep line breaks")
    pieces.insert(newline, "\n")
    starts = array("I", itertools.accumulate(map(len, pieces), initial=0))
    return starts.tobytes(), "".join(pieces).encode(_NATIVE_UCS4, "surrogatepass")


def _prepared(text: str, keep_lines: bool, lower: bool, normalize: Callable[[str], str] | None) -> str:
    if lower and CAPITAL_SIGMA in text:
        # lower-cased here with the final sigma; the table's lower-casing leaves lower case as it is
        text = text.lower()
    return _tokens.joined_tokens(text, _kinds(keep_lines), *_code_point_map(lower, normalize))


def joined_tokens(text: str, *, lower: bool = False, normalize: Callable[[str], str] | None = None) -> str:
    """All tokens of ``normalize(text.lower())`` (``lower``: lower-cased first; ``normalize``: a
    per-character mapping) joined by single spaces (line breaks separate like spaces)."""
    return _prepared(text, False, lower, normalize)


def joined_token_lines(text: str, *, lower: bool = False, normalize: Callable[[str], str] | None = None) -> list[str]:
    """Each line's tokens (prepared as in ``joined_tokens``) joined by single spaces, one string per
    line (empty when it has none)."""
    return _prepared(text, True, lower, normalize).split("\n")
