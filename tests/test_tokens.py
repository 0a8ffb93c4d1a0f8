"""The compiled preparation (filters/_tokens.c) against the rules it implements, in pure Python:
the token regex, ``str.lower`` and cc_net's normalisation over the whole string."""

import gzip
import json
import re
import sys
import unicodedata

import numpy as np
import pytest
from conftest import ROOT

from filters import _tokens
from filters.perplexity import cc_net_normalize
from filters.text_units import UNICODE_PUNCT
from filters.tokens import CJK, joined_tokens, token_lines

TOKEN = re.compile(f"[{CJK}]|[^\\W{CJK}]+|[^\\w\\s]")
SHARED = ROOT.parent / "shared" / "data"
NON_PRINTING = re.compile("[" + "".join(map(chr, [*range(0, 10), *range(11, 32), *range(127, 160)])) + "]")


def cc_net_reference(text: str) -> str:
    """cc_net's text_normalizer.normalize, step by step over the whole string (line breaks kept)."""
    text = text.lower()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = re.sub(r"\d", "0", text)
    text = "".join(UNICODE_PUNCT.get(c, c) for c in text)
    return NON_PRINTING.sub("", text)


def reference_lines(text: str) -> tuple[list[str], int]:
    """The lines with tokens, their tokens joined by spaces, and the number of tokens."""
    lines = [tokens for line in text.split("\n") if (tokens := TOKEN.findall(line))]
    return [" ".join(tokens) for tokens in lines], sum(map(len, lines))


# (keyword arguments of the compiled preparation, the same preparation in plain Python)
PREPARATIONS = [
    ({}, lambda text: text),
    ({"lower": True}, str.lower),
    ({"lower": True, "normalize": cc_net_normalize}, cc_net_reference),
]


def assert_like_reference(text: str) -> None:
    for options, reference in PREPARATIONS:
        assert joined_tokens(text, **options) == " ".join(TOKEN.findall(reference(text))), options
        assert token_lines(text, **options) == reference_lines(reference(text)), options


def real_texts() -> list[str]:
    texts = []
    paths = [SHARED / "web" / "pages_wet_like.jsonl.gz"]
    paths += [SHARED / "handbook" / f"{lang}.jsonl.gz" for lang in ("en-US", "zh-CN", "ja-JP", "ru-RU", "de-DE")]
    paths += [SHARED / "handbook" / f"{lang}.jsonl.gz" for lang in ("ar-MA", "el-GR", "vi-VN")]
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines][:50]
    with gzip.open(SHARED / "reference" / "zh" / "红楼梦.txt.gz", "rt", encoding="utf-8") as novel:
        texts.append(novel.read(50_000))
    return texts


def test_examples():
    assert joined_tokens("Hello, 世界!\n  don't_stop 42") == "Hello , 世 界 ! don ' t_stop 42"
    assert token_lines("Hello, 世界!\n\n  \n x\n") == (["Hello , 世 界 !", "x"], 6)
    assert joined_tokens("") == "" and token_lines("", lower=True) == ([], 0)
    assert joined_tokens("Ça VA, ÉTÉ", lower=True) == "ça va , été"
    assert joined_tokens("Ça VA 42…", lower=True, normalize=cc_net_normalize) == "ca va 00 . . ."


def test_every_code_point_between_word_characters():
    """Each code point (surrogates included) next to word characters, a space, a CJK character
    and a line break, unchanged; lower-cased and normalised, each code point between spaces (the
    real texts below mix the two)."""
    text = "".join(f"a{chr(code)}b {chr(code)}中\n" for code in range(sys.maxunicode + 1))
    assert joined_tokens(text) == " ".join(TOKEN.findall(text))
    assert token_lines(text) == reference_lines(text)
    assert_like_reference(" ".join(map(chr, range(sys.maxunicode + 1))))


def test_final_sigma_depends_on_its_neighbours():
    """str.lower's one rule that looks beyond the character: a capital sigma ending a word is ς."""
    text = "ΟΔΟΣ ΟΔΟΣ. Σ ΑΣ'Β ΑΣΑ Σ̈Α ΟΔΟΣ\nΟΔΟΣ"
    assert "ς" in text.lower()
    assert_like_reference(text)


def test_characters_that_change():
    assert_like_reference(
        "İstanbul ŞİŞLİ Ǆemal ①② ١٢٣ 𝟘𝟙 e\u0301 ﬁ \x85\u200b 한국어 がぎ 𠀀\ttab [x]-^\\ "
        "“Ελληνικά” — Ünïcödé… ５０％ 【注意】：「引用」\nnext line\r\n"
    )


def test_lower_case_is_kept_by_lower_casing():
    """Why a text with a capital sigma may be lower-cased before the table's own lower-casing."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert every.lower().lower() == every.lower()


def test_mapping_must_be_per_character():
    with pytest.raises(ValueError, match="each character on its own"):
        joined_tokens("x", normalize=lambda text: text.replace("\n", ""))


@pytest.mark.skipif(not SHARED.exists(), reason="shared real data not present")
def test_real_pages_in_many_scripts():
    for text in real_texts():
        assert_like_reference(text)


def test_malformed_tables_are_refused():
    table = np.zeros(sys.maxunicode + 1, np.uint32)
    with pytest.raises(ValueError, match="one uint32 per code point"):
        _tokens.joined_tokens("x", table[:-1].tobytes(), b"")
    table[ord("x")] = 1 << 31  # "x" expands from offset 0 of an empty expansions table
    with pytest.raises(ValueError, match="outside expansions"):
        _tokens.token_lines("x", table.tobytes(), b"")
