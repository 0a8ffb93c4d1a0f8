"""KenLM perplexity as cc_net computes it: normalise, tokenise, score line by line.

The same ``prepare_lines`` feeds ``jobs/train_kenlm.py`` (training text) and
``document_perplexity`` (scoring), so a model only ever sees text prepared one way.

Normalisation (cc_net ``text_normalizer.normalize``): lower case, accents removed (NFD, drop
combining marks), every digit to ``0``, Unicode punctuation mapped to ASCII, control
characters removed.

Tokenisation (a simple, language-independent rule instead of SentencePiece): ``filters.tokens``
(single CJK characters, runs of letters/digits, single symbols), so "Hello, 世界!" -> ``hello , 世 界 !``.
"""

from __future__ import annotations

import re
import unicodedata

from filters.model_files import load_model_file
from filters.text_units import UNICODE_PUNCT
from filters.tokens import token_lines

KENLM_JOB = "jobs/train_kenlm.py"

_PUNCT_TABLE = str.maketrans(UNICODE_PUNCT)
# Control characters (C0 except the newline, DEL, C1), removed like cc_net's non-printing chars.
_NON_PRINTING = re.compile("[" + "".join(map(chr, [*range(0, 10), *range(11, 32), *range(127, 160)])) + "]")
_DIGIT = re.compile(r"\d")


def cc_net_normalize(text: str) -> str:
    """cc_net's steps after lower-casing: accents stripped (NFD, combining marks dropped), digits to
    0, punctuation unified, control characters removed; line breaks are kept.

    Each step maps characters independently, so ``prepare_lines`` applies it through a table of every
    code point's result, inside the compiled pass (``filters.tokens``).
    """
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = _DIGIT.sub("0", text)
    text = text.translate(_PUNCT_TABLE)
    return _NON_PRINTING.sub("", text)


def prepare_lines(text: str) -> list[str]:
    """The document's lines as the language model sees them: lower-cased, ``cc_net_normalize``d,
    tokens joined by single spaces; lines without tokens are left out."""
    return _lines_and_tokens(text)[0]


def _lines_and_tokens(text: str) -> tuple[list[str], int]:
    """``prepare_lines`` and the number of tokens on them, counted by the same pass."""
    return token_lines(text, lower=True, normalize=cc_net_normalize)


def document_perplexity(model, text: str) -> float | None:
    """cc_net document perplexity: ``10 ** (-sum(log10 p) / length)`` over the lines.

    Each line is scored with sentence boundaries (``<s>`` ... ``</s>``); its length is its
    token count plus one for ``</s>``. None when the document has no tokens.
    """
    lines, tokens = _lines_and_tokens(text)
    if not lines:
        return None
    score, log10_prob = model.score, 0.0
    for line in lines:
        log10_prob += score(line, True, True)  # bos, eos (positional: keywords cost 15% of the call)
    return 10.0 ** (-log10_prob / (tokens + len(lines)))


def load_kenlm_model(path: str):
    """Load a KenLM model (ARPA or binary) or raise ``ModelFileError`` naming the training job."""
    import kenlm

    return load_model_file(path, kenlm.Model, "KenLM", KENLM_JOB)
