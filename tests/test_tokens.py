"""The compiled token joining (filters/_tokens.c) against the rule it implements, as a regex."""

import gzip
import json
import re
import sys

import pytest
from conftest import ROOT

from filters.tokens import CJK, joined_token_lines, joined_tokens

TOKEN = re.compile(f"[{CJK}]|[^\\W{CJK}]+|[^\\w\\s]")
SHARED = ROOT.parent / "shared" / "data"


def reference_lines(text: str) -> list[str]:
    return [" ".join(TOKEN.findall(line)) for line in text.split("\n")]


def real_texts() -> list[str]:
    texts = []
    for path in [SHARED / "web" / "pages_wet_like.jsonl.gz", *(SHARED / "handbook").glob("[jkrz]*.jsonl.gz")]:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines][:300]
    return texts


def test_examples():
    assert joined_tokens("Hello, 世界!\n  don't_stop 42") == "Hello , 世 界 ! don ' t_stop 42"
    assert joined_token_lines("Hello, 世界!\n\n  \n x") == ["Hello , 世 界 !", "", "", "x"]
    assert joined_tokens("") == "" and joined_token_lines("") == [""]


def test_every_code_point_between_word_characters():
    """Each code point (surrogates included) next to word characters, a space and a CJK character."""
    text = "".join(f"a{chr(code)}b {chr(code)}中" for code in range(sys.maxunicode + 1))
    assert joined_tokens(text) == " ".join(TOKEN.findall(text))
    assert joined_token_lines(text) == reference_lines(text)


@pytest.mark.skipif(not SHARED.exists(), reason="shared real data not present")
def test_real_pages_in_many_scripts():
    for text in real_texts():
        assert joined_tokens(text) == " ".join(TOKEN.findall(text))
        assert joined_token_lines(text) == reference_lines(text)
