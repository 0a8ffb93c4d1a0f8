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
_NEWLINE = ord("\n")


def _as_text(codes: np.ndarray) -> str:
    """The string of these code points (uint32), made without a Python object per character."""
    return codes.astype(np.uint32).tobytes().decode(_NATIVE_UCS4, "surrogatepass")


@functools.cache
def _kinds(keep_lines: bool) -> bytes:
    """Each code point's role (``WORD``, ...); built from regex scans over all code points (about 0.1 s)."""
    every = _as_text(np.arange(sys.maxunicode + 1, dtype=np.uint32))
    kinds = bytearray([ISOLATED]) * len(every)
    for match in re.finditer(f"[^\\W{CJK}]+", every):
        kinds[match.start() : match.end()] = bytes(match.end() - match.start())
    for match in re.finditer(r"\s", every):
        kinds[match.start()] = SEPARATOR
    if keep_lines:
        kinds[_NEWLINE] = LINE_BREAK
    return bytes(kinds)


def _mapped_code_points(lower: bool, normalize: Callable[[str], str] | None) -> tuple[np.ndarray, ...]:
    """What every code point but the line break becomes, as (codes, starts, ends, chars): ``codes[i]``
    becomes ``chars[starts[i]:ends[i]]``. ``str.lower`` and ``normalize`` are applied to 65,536 code
    points at a time, each followed by a line break (``normalize`` must map each character on its own
    and keep line breaks)."""
    codes = np.delete(np.arange(sys.maxunicode + 1, dtype=np.uint32), _NEWLINE)
    chunks = []
    for chunk in np.array_split(codes, len(codes) // 65_536 + 1):
        text = _as_text(np.column_stack([chunk, np.full_like(chunk, _NEWLINE)]).ravel())
        text = text.lower() if lower else text
        text = normalize(text) if normalize else text
        chunks.append(np.frombuffer(text.encode(_NATIVE_UCS4, "surrogatepass"), np.uint32))
    chars = np.concatenate(chunks)
    ends = np.flatnonzero(chars == _NEWLINE)
    if len(ends) != len(codes):
        raise ValueError(f"{normalize} must map each character on its own and keep line breaks")
    return codes, np.concatenate([[0], ends[:-1] + 1]), ends, chars


@functools.cache
def _table(keep_lines: bool, lower: bool, normalize: Callable[[str], str] | None) -> tuple[bytes, bytes]:
    """The C pass's (table, expansions), as ``filters/_tokens.c`` describes them (under 0.5 s, once)."""
    codes, starts, ends, chars = _mapped_code_points(lower, normalize)
    roles = np.frombuffer(_kinds(keep_lines), np.uint8).astype(np.uint32) << _ROLE_SHIFT
    entries = chars | roles[chars]
    table = np.zeros(sys.maxunicode + 1, np.uint32)
    table[_NEWLINE] = _NEWLINE | roles[_NEWLINE]
    single = ends - starts == 1
    table[codes[single]] = entries[starts[single]]
    expansions: list[int] = []
    for i in np.flatnonzero(~single):
        table[codes[i]] = _EXPANDED | len(expansions)
        expansions += [ends[i] - starts[i], *entries[starts[i] : ends[i]]]
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
