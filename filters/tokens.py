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
import re
import sys
from collections.abc import Callable

import numpy as np

from filters import _tokens

WORD, SEPARATOR, ISOLATED, LINE_BREAK = 0, 1, 2, 3
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# str.lower's one rule that looks at neighbours: a capital sigma becomes final sigma at a word's end.
CAPITAL_SIGMA = "\u03a3"
_NATIVE_UCS4 = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"
_ROLE_SHIFT, _EXPANDED = 21, 1 << 31  # the table's layout (filters/_tokens.c)


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


def _mapped_code_points(lower: bool, normalize: Callable[[str], str] | None) -> list[str]:
    """What each code point becomes: ``str.lower`` and ``normalize`` applied to all code points at
    once, separated by line breaks (``normalize`` must map each character on its own and keep line
    breaks)."""
    newline = ord("\n")
    others = [code for code in range(sys.maxunicode + 1) if code != newline]
    text = "\n".join(map(chr, others))
    text = text.lower() if lower else text
    pieces = (normalize(text) if normalize else text).split("\n")
    if len(pieces) != len(others):
        raise ValueError(f"{normalize} must map each character on its own and keep line breaks")
    pieces.insert(newline, "\n")
    return pieces


@functools.cache
def _table(keep_lines: bool, lower: bool, normalize: Callable[[str], str] | None) -> tuple[bytes, bytes]:
    """The C pass's (table, expansions), as ``filters/_tokens.c`` describes them (about 1 s, once)."""
    pieces = _mapped_code_points(lower, normalize)
    lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
    chars = np.frombuffer("".join(pieces).encode(_NATIVE_UCS4, "surrogatepass"), np.uint32)
    entries = chars | np.frombuffer(_kinds(keep_lines), np.uint8)[chars].astype(np.uint32) << _ROLE_SHIFT
    starts = np.concatenate([[0], np.cumsum(lengths)])
    table = np.zeros(len(pieces), np.uint32)
    single = lengths == 1
    table[single] = entries[starts[:-1][single]]
    expansions: list[int] = []
    for code in np.flatnonzero(~single):
        table[code] = _EXPANDED | len(expansions)
        expansions += [lengths[code], *entries[starts[code] : starts[code + 1]]]
    return table.tobytes(), np.array(expansions, np.uint32).tobytes()


def _mapped_text(text: str, lower: bool) -> str:
    """``text`` for the tables: with a capital sigma, lower-cased here, where its neighbours are
    known (the tables' lower-casing keeps lower case as it is)."""
    return text.lower() if lower and CAPITAL_SIGMA in text else text


def joined_tokens(text: str, *, lower: bool = False, normalize: Callable[[str], str] | None = None) -> str:
    """All tokens of ``normalize(text.lower())`` (``lower``: lower-cased first; ``normalize``: a
    per-character mapping) joined by single spaces (line breaks separate like spaces)."""
    return _tokens.joined_tokens(_mapped_text(text, lower), *_table(False, lower, normalize))


def token_lines(
    text: str, *, lower: bool = False, normalize: Callable[[str], str] | None = None
) -> tuple[list[str], int]:
    """Each line's tokens (prepared as in ``joined_tokens``) joined by single spaces, one string per
    line that has any; and the number of tokens in them."""
    return _tokens.token_lines(_mapped_text(text, lower), *_table(True, lower, normalize))
