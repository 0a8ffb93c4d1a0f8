"""MinHash for near-duplicate detection: normalisation, shingling, signatures, LSH parameters.

Signatures are bit-for-bit those of ``datasketch.MinHash`` (1.6.5) over the same shingles:
32-bit SHA-1 of the shingle bytes, permutations ``(a * h + b) mod (2^61 - 1)`` truncated to
32 bits, with ``(a, b)`` drawn pairwise from ``numpy.random.RandomState(seed)``. They are
computed for a whole batch of documents at once with numpy.

Memory: the permutation step works on blocks of ``block_shingles`` shingles (from one or
several documents), so its temporaries are ``block_shingles * num_perm * 8`` bytes whatever
the length of a document (a 1 MB document is about 170k shingles: unblocked, 175 MB per
temporary; blocked at 1024, 1 MB). Otherwise memory is linear in the document's length
(its tokens, one 20-byte digest and one 4-byte hash per shingle).
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

import numpy as np

MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint64((1 << 32) - 1)

# Scripts written without spaces between words: every character is a token, so their
# shingles are character n-grams. Thai, Lao, Tibetan, Myanmar, Khmer, CJK ideographs,
# kana, compatibility ideographs and the supplementary ideograph planes.
_NO_SPACE_RANGES = (
    "\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff"
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003134f"
)
_NO_SPACE_CHAR = re.compile(f"[{_NO_SPACE_RANGES}]")
# A token: one no-space-script character, or a run of other letters/digits. Punctuation,
# symbols, underscores and white space separate tokens and are dropped.
_TOKEN = re.compile(f"[{_NO_SPACE_RANGES}]|[^\\W_{_NO_SPACE_RANGES}]+")
_WORD = re.compile(r"[^\W_]+")  # the same, for text without no-space-script characters (faster)


def tokenize_pattern(text: str) -> re.Pattern:
    """The token regex for ``text`` (the simpler one when it has no no-space-script character)."""
    return _TOKEN if _NO_SPACE_CHAR.search(text) else _WORD


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; one token per CJK/kana/Thai/... character."""
    text = text.lower()
    return tokenize_pattern(text).findall(text)


def ngram_size(text: str, tokens: Sequence[str], word_ngram: int, char_ngram: int) -> int:
    """``char_ngram`` when at least half of the tokens of ``text`` are no-space-script characters."""
    no_space = len(_NO_SPACE_CHAR.findall(text))
    return char_ngram if tokens and 2 * no_space >= len(tokens) else word_ngram


def iter_shingles(text: str, word_ngram: int = 5, char_ngram: int = 5) -> Iterator[bytes]:
    """The document's shingles: n-grams of tokens joined by a space, UTF-8 encoded.

    A document with fewer tokens than n has a single shingle (all its tokens); an empty
    document has none.
    """
    text = text.lower()
    pattern = tokenize_pattern(text)
    tokens = pattern.findall(text)
    if not tokens:
        return iter(())
    n = word_ngram if pattern is _WORD else ngram_size(text, tokens, word_ngram, char_ngram)
    encoded = " ".join(tokens).encode("utf-8").split(b" ")
    if len(encoded) <= n:
        return iter((b" ".join(encoded),))
    return map(b" ".join, zip(*(encoded[i:] for i in range(n))))


_SHA1_DIGEST = type(hashlib.sha1()).digest  # unbound: cheaper per call than a lambda or methodcaller


def hash32(shingles: Iterable[bytes]) -> np.ndarray:
    """datasketch's ``sha1_hash32`` of each shingle (first 4 digest bytes, little endian)."""
    digests = b"".join(map(_SHA1_DIGEST, map(hashlib.sha1, shingles)))
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, 20)[:, :4].copy().view("<u4").ravel()


def shingle_hashes(text: str, word_ngram: int = 5, char_ngram: int = 5) -> np.ndarray:
    """32-bit hashes of the document's shingles (uint32, in text order, duplicates kept)."""
    return hash32(iter_shingles(text, word_ngram, char_ngram))


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(a, b)`` parameters of datasketch's permutations for ``num_perm`` and ``seed``."""
    gen = np.random.RandomState(seed)
    pairs = np.array(
        [
            (gen.randint(1, MERSENNE_PRIME, dtype=np.uint64), gen.randint(0, MERSENNE_PRIME, dtype=np.uint64))
            for _ in range(num_perm)
        ],
        dtype=np.uint64,
    )
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def signatures(
    hash_arrays: Sequence[np.ndarray], num_perm: int = 128, seed: int = 1, block_shingles: int = 1024
) -> np.ndarray:
    """MinHash signatures, one row per document, from each document's shingle hashes.

    Returns ``uint64 (len(hash_arrays), num_perm)`` equal to ``datasketch.MinHash(num_perm,
    seed)`` updated with the same shingles; a document without shingles gets datasketch's
    empty value (all ``2^32 - 1``). Shingles of all documents are concatenated and
    permuted in blocks of ``block_shingles`` (permutations x shingles, so numpy's inner
    loops run along the long axis); a block's minima are taken per document segment with
    ``np.minimum.reduceat``.
    """
    lengths = np.fromiter((len(h) for h in hash_arrays), dtype=np.int64, count=len(hash_arrays))
    out = np.full((num_perm, len(hash_arrays)), MAX_HASH, dtype=np.uint32)
    if lengths.sum():
        all_hashes = np.concatenate([np.asarray(h, dtype=np.uint64) for h in hash_arrays])
        _fill_signatures(out, all_hashes, lengths, permutations(num_perm, seed), block_shingles)
    return out.T.astype(np.uint64)


def _fill_signatures(
    out: np.ndarray,
    all_hashes: np.ndarray,
    lengths: np.ndarray,
    params: tuple[np.ndarray, np.ndarray],
    block_shingles: int,
) -> None:
    a, b = params[0][:, None], params[1][:, None]
    doc_start = np.cumsum(lengths) - lengths  # index of each document's first shingle
    x = np.empty((len(a), block_shingles), dtype=np.uint64)
    carry = np.empty_like(x)
    for start in range(0, len(all_hashes), block_shingles):
        hv = all_hashes[start : start + block_shingles]
        # Documents with shingles in this block, and where their segment starts in the block.
        first = np.searchsorted(doc_start, start, side="right") - 1
        last = np.searchsorted(doc_start, start + len(hv), side="left")
        docs = np.arange(first, last)
        docs = docs[lengths[docs] > 0]
        seg_starts = np.maximum(doc_start[docs] - start, 0)
        out[:, docs] = np.minimum(
            out[:, docs], _segment_minima(hv, a, b, x[:, : len(hv)], carry[:, : len(hv)], seg_starts)
        )


_LOW_WORD = 0 if sys.byteorder == "little" else 1


def _segment_minima(
    hv: np.ndarray, a: np.ndarray, b: np.ndarray, x: np.ndarray, carry: np.ndarray, seg_starts: np.ndarray
) -> np.ndarray:
    """Per permutation and segment of ``hv``: min of ``((a * hv + b) mod 2^64 mod (2^61 - 1)) & (2^32 - 1)``.

    With ``x = q * 2^61 + r``, ``x mod p = q + r`` unless ``q + r >= p``; since 2^61 has no
    low bits, the low 32 bits of ``x + q`` are those of ``q + r``. That exception needs
    ``r >= 2^61 - 8``, which leaves the low 32 bits of ``x + q`` within 8 of the 32-bit
    wrap-around; a block with any value there, or a minimum below 7 (together about 1 block
    in 2,000 at 128 x 1024), is recomputed
    with a true ``%``, so the result is exact either way.
    """
    np.multiply(a, hv, out=x)  # wraps modulo 2^64, as datasketch's uint64 arithmetic does
    np.add(x, b, out=x)
    np.right_shift(x, np.uint64(61), out=carry)
    np.add(x, carry, out=x)
    low32 = x.view(np.uint32)[:, _LOW_WORD::2]
    minima = np.minimum.reduceat(low32, seg_starts, axis=1)
    if low32.max() >= (1 << 32) - 8 or minima.min() <= 6:
        np.multiply(a, hv, out=x)
        np.add(x, b, out=x)
        np.remainder(x, MERSENNE_PRIME, out=x)
        minima = np.minimum.reduceat(x.view(np.uint32)[:, _LOW_WORD::2], seg_starts, axis=1)
    return minima


def jaccard(hashes_a: np.ndarray, hashes_b: np.ndarray) -> float:
    """Exact Jaccard similarity of two shingle-hash sets (0.0 when both are empty)."""
    return set_jaccard(np.unique(hashes_a), np.unique(hashes_b))


def set_jaccard(set_a: np.ndarray, set_b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sets of distinct shingle hashes (as :func:`shingle_set_from_bytes`
    returns them): :func:`jaccard` without making them unique again."""
    common = len(np.intersect1d(set_a, set_b, assume_unique=True))
    union = len(set_a) + len(set_b) - common
    return common / union if union else 0.0


def optimal_param(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """``(bands, rows)`` minimising the weighted false-positive + false-negative probability.

    The same search as ``datasketch.lsh._optimal_param``; the two integrals are computed
    with Gauss-Legendre quadrature, exact for these polynomials (degree <= num_perm).
    """
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 2)
    # Quadrature points mapped to [0, threshold] and [threshold, 1].
    s_fp = (nodes + 1) * threshold / 2
    s_fn = threshold + (nodes + 1) * (1 - threshold) / 2
    best, best_error = (0, 0), float("inf")
    for bands in range(1, num_perm + 1):
        rows = np.arange(1, num_perm // bands + 1)[:, None]
        p_fp = 1 - (1 - s_fp**rows) ** bands
        p_fn = (1 - s_fn**rows) ** bands
        fp = (p_fp * weights).sum(axis=1) * threshold / 2
        fn = (p_fn * weights).sum(axis=1) * (1 - threshold) / 2
        error = fp * false_positive_weight + fn * false_negative_weight
        i = int(np.argmin(error))
        if error[i] < best_error:
            best, best_error = (bands, i + 1), float(error[i])
    return best


def band_hashes(signature_rows: np.ndarray, bands: int, rows: int) -> list[list[int]]:
    """For each signature, ``bands`` signed 64-bit keys: BLAKE2b of each band's 32-bit values."""
    values = signature_rows[:, : bands * rows].astype("<u4")
    return [
        [
            int.from_bytes(hashlib.blake2b(band.tobytes(), digest_size=8).digest(), "little", signed=True)
            for band in doc.reshape(bands, rows)
        ]
        for doc in values
    ]


def shingle_set_bytes(hashes: np.ndarray) -> bytes:
    """A document's distinct shingle hashes, sorted, as little-endian 32-bit bytes (what a release stores)."""
    return np.unique(hashes).astype("<u4").tobytes()


def shingle_set_from_bytes(data: bytes) -> np.ndarray:
    """The inverse of :func:`shingle_set_bytes`; ``jaccard`` of it equals ``jaccard`` of the original hashes."""
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def union_jaccard(sets_a: Sequence[bytes], sets_b: Sequence[bytes]) -> float:
    """Exact Jaccard of two unions of shingle sets (each stored as by :func:`shingle_set_bytes`): two books
    compared whole from their pieces' sets (a shingle spanning two pieces is in neither)."""
    return jaccard(_union_of(sets_a), _union_of(sets_b))


def _union_of(sets: Sequence[bytes]) -> np.ndarray:
    arrays = [shingle_set_from_bytes(data) for data in sets]
    return np.unique(np.concatenate(arrays)) if arrays else np.empty(0, dtype=np.uint32)
