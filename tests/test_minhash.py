import numpy as np
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from filters.minhash import (
    MAX_HASH,
    MERSENNE_PRIME,
    _segment_minima,
    band_hashes,
    iter_shingles,
    jaccard,
    ngram_size,
    optimal_param,
    shingle_hashes,
    signatures,
    tokenize,
)

TEXTS = [
    "The quick brown fox jumps over the lazy dog, again and again: 2024 times!",
    "你好，世界。这是一个用来检查中文字符分片的测试文档。",
    "",
    "too short",
    "Debian est une distribution Linux. " * 40,
    "日本語のテキストも、文字単位で分割されます。",
]


def datasketch_hashvalues(text, num_perm, seed):
    m = MinHash(num_perm=num_perm, seed=seed)
    for shingle in iter_shingles(text):
        m.update(shingle)
    return m.hashvalues


@pytest.mark.parametrize("num_perm,seed,block", [(128, 1, 1024), (64, 7, 5), (16, 42, 1)])
def test_signatures_equal_datasketch(num_perm, seed, block):
    sigs = signatures([shingle_hashes(t) for t in TEXTS], num_perm, seed, block_shingles=block)
    assert sigs.dtype == np.uint64 and sigs.shape == (len(TEXTS), num_perm)
    for text, row in zip(TEXTS, sigs):
        np.testing.assert_array_equal(row, datasketch_hashvalues(text, num_perm, seed))


def test_empty_document_has_datasketch_empty_signature():
    assert (signatures([shingle_hashes("")], 8)[0] == MAX_HASH).all()
    assert signatures([], 8).shape == (0, 8)


@pytest.mark.parametrize("x0", [(1 << 61) - 1, (1 << 64) - 1, (1 << 61) - 8, (1 << 61) - 9, 12345])
def test_segment_minima_exact_at_mersenne_wraparound(x0):
    """a=1, b=0, h=x0 gives x = x0: values at the q + r >= p corner take the exact path."""
    a, b = np.array([[1]], dtype=np.uint64), np.array([[0]], dtype=np.uint64)
    hv = np.array([x0, 1 << 40], dtype=np.uint64)  # second segment: an ordinary value
    x, carry = np.empty((1, 2), np.uint64), np.empty((1, 2), np.uint64)
    got = _segment_minima(hv, a, b, x, carry, np.array([0, 1]))
    assert got.tolist() == [[(x0 % ((1 << 61) - 1)) & 0xFFFFFFFF, ((1 << 40) % ((1 << 61) - 1)) & 0xFFFFFFFF]]
    assert int(MERSENNE_PRIME) == (1 << 61) - 1


def test_tokenize_and_shingles_words_and_characters():
    assert tokenize("Hello, WORLD_wide-web 42!") == ["hello", "world", "wide", "web", "42"]
    assert list(iter_shingles("a b c d e f", word_ngram=5)) == [b"a b c d e", b"b c d e f"]
    assert list(iter_shingles("Only four words here", word_ngram=5)) == [b"only four words here"]
    assert list(iter_shingles("...", word_ngram=5)) == []
    # Chinese: one token per character, character n-grams.
    assert list(iter_shingles("你好，世界！", char_ngram=3)) == [s.encode() for s in ("你 好 世", "好 世 界")]
    # Mostly Latin text with a few CJK characters stays on word n-grams.
    assert len(list(iter_shingles("one two three four five six 中", word_ngram=5, char_ngram=2))) == 3


def test_ngram_size_switches_at_half_no_space_tokens():
    half, less = "ab cd 你好", "ab cd ef 你好"
    assert ngram_size(half, tokenize(half), 5, 3) == 3
    assert ngram_size(less, tokenize(less), 5, 3) == 5
    assert ngram_size("", [], 5, 3) == 5


def test_jaccard_exact():
    a = shingle_hashes("a b c d e f g")  # shingles abcde bcdef cdefg
    b = shingle_hashes("a b c d e f h")  # abcde bcdef cdefh
    assert jaccard(a, b) == pytest.approx(2 / 4)
    assert jaccard(a, a) == 1.0
    assert jaccard(np.empty(0, np.uint32), np.empty(0, np.uint32)) == 0.0


@pytest.mark.parametrize(
    "threshold,num_perm,weights",
    [
        (0.8, 128, (0.5, 0.5)),
        (0.5, 64, (0.5, 0.5)),
        (0.9, 256, (0.5, 0.5)),
        (0.7, 128, (0.3, 0.7)),
    ],
)
def test_optimal_param_matches_datasketch(threshold, num_perm, weights):
    assert optimal_param(threshold, num_perm, *weights) == _optimal_param(threshold, num_perm, *weights)


def test_band_hashes_change_only_the_band_that_differs():
    sig = signatures([shingle_hashes(TEXTS[0])], 12)
    other = sig.copy()
    other[0, 1] ^= 1  # a value in band 0 (rows 0-3)
    keys, other_keys = band_hashes(sig, 3, 4)[0], band_hashes(other, 3, 4)[0]
    assert len(keys) == 3 and keys[0] != other_keys[0] and keys[1:] == other_keys[1:]
    assert all(-(1 << 63) <= k < (1 << 63) for k in keys)
