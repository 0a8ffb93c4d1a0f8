"""The heuristics' fast paths give what their plain definitions give: per distinct token instead of
per token, n-grams counted in C (filters/_ngrams.c), jieba-rs for runs of Han characters.

Checked on real text from ../shared/data (web pages, the Debian handbook in Chinese) and on
random token sequences, against the one-line definitions the fast code replaces."""

from __future__ import annotations

import gzip
import json
import logging
import random
import sys
from collections import Counter

from filters.gopher import has_letter
from filters.text_units import TextUnits, TokenNgrams, TokenVocabulary, is_word, make_segmenter
from tests.conftest import shared_data
from tests.test_heuristics import datatrove_repeated_chars


def real_pages(path: str, limit: int) -> list[str]:
    with gzip.open(shared_data(*path.split("/")), "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for _, line in zip(range(limit), lines)]


def test_has_letter_is_any_isalpha_for_every_character():
    characters = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
    assert [has_letter(c) for c in characters] == [c.isalpha() for c in characters]
    assert has_letter("²b") and not has_letter("²½_9") and has_letter("world.") and not has_letter("...")


def test_vocabulary_counts_words_and_letters_as_the_token_list_does():
    for text in real_pages("web/pages_wet_like.jsonl.gz", 150):
        tokens = text.split()
        vocabulary = TokenVocabulary(tokens)
        words = [token for token in tokens if is_word(token)]
        assert vocabulary.words() == (len(words), sum(map(len, words)))
        assert vocabulary.count_where(has_letter) == sum(1 for t in tokens if any(c.isalpha() for c in t))
        assert vocabulary.distinct == list(dict.fromkeys(tokens))  # in order of first use
        assert [vocabulary.distinct[i] for i in vocabulary.token_ids] == tokens
        counts = Counter(tokens)
        assert vocabulary.counts.tolist() == [counts[token] for token in vocabulary.distinct]
    assert TokenVocabulary([]).words() == (0, 0) and TokenVocabulary([]).count_where(has_letter) == 0


def plain_top(tokens: list[str], n: int) -> tuple[int, int]:
    """The most frequent n-gram (the first seen of equally frequent ones): its count and characters."""
    ngrams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    counts = Counter(ngrams)
    best = max(counts.values())
    first = next(ngram for ngram in ngrams if counts[ngram] == best)
    return best, sum(map(len, first))


def test_ngrams_counted_in_c_match_counting_all_ngrams_and_datatroves_scan():
    rng = random.Random(11)
    cases = [[rng.choice("abcd") * rng.randint(1, 2) for _ in range(rng.randint(1, 80))] for _ in range(300)]
    cases += [[rng.choice("ab") for _ in range(rng.randint(200, 3000))] for _ in range(5)]  # long repeats
    cases += [page.split() for page in real_pages("web/pages_wet_like.jsonl.gz", 60) if page.split()]
    for tokens in cases:
        ngrams = TokenNgrams(TokenVocabulary(tokens), tokens)
        for n in range(1, min(len(tokens), 10) + 1):
            assert ngrams.top(n) == plain_top(tokens, n), (tokens, n)
            assert ngrams.repeated_chars(n) == datatrove_repeated_chars(tokens, n), (tokens, n)
        assert ngrams.top(len(tokens) + 1) == (0, 0) and ngrams.repeated_chars(len(tokens) + 1) == 0


def test_jieba_segmenter_gives_jiebas_tokens_on_real_chinese():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    reference = jieba.Tokenizer()
    text = "\n".join(real_pages("handbook/zh-CN.jsonl.gz", 25) + real_pages("handbook/zh-TW.jsonl.gz", 10))
    expected = [token for line in text.split("\n") for token in reference.lcut(line) if not token.isspace()]
    assert make_segmenter("jieba").tokens(text) == expected
    assert len(expected) > 50_000


def test_text_units_share_one_vocabulary():
    units = TextUnits("a b a c a b", make_segmenter("whitespace"))
    assert units.ngrams.top(2) == (2, 2) and units.vocabulary.counts.tolist() == [3, 2, 1]
