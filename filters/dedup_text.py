"""Exact-span deduplication helpers: sentence/line splitting, normalisation, hashing, n-grams.

Used by sentence-level dedup (spans of consecutive sentences or lines, as cc_net and
datatrove's SentenceDedup) and by decontamination (word n-grams shared with eval sets).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from filters.minhash import tokenize_pattern

# A sentence ends after Latin/Arabic/Devanagari terminal punctuation (plus closing quotes
# or brackets) followed by spaces, after CJK full stops/marks (no space needed), or at a
# line break. Breaks are kept inside the sentence they end, so the spans tile the text.
_SENTENCE_END = re.compile(
    r"[.!?…؟।]+[\"'”’)\]»]*[ \t]+"
    r"|[。！？｡]+[」』”’）》\"']*[ \t]*"
    r"|\n+"
)
_LINE_END = re.compile(r"\n+")
# cc_net's normalisation for dedup: lower case, digits -> 0, no punctuation or
# non-printing characters, single spaces.
_DIGIT = re.compile(r"\d")
_PUNCT_OR_NON_PRINTING = re.compile(r"[^\w\s]|_|[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")
ORDER_KEY_WIDTH = 6


def split_units(text: str, mode: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (``mode="sentences"``) or lines (``"lines"``).

    Consecutive spans tile the whole text: each unit keeps its trailing separator.
    """
    boundary = {"sentences": _SENTENCE_END, "lines": _LINE_END}[mode]
    spans, start = [], 0
    for match in boundary.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def normalize_unit(unit: str) -> str:
    """cc_net-style normal form of a sentence or line, for exact-duplicate hashing."""
    unit = _DIGIT.sub("0", unit.strip().lower())
    return _SPACES.sub(" ", _PUNCT_OR_NON_PRINTING.sub("", unit)).strip()


def hash64(data: str) -> int:
    """Signed 64-bit hash (first 8 bytes of SHA-1, as cc_net) of a string, stable across processes."""
    return int.from_bytes(hashlib.sha1(data.encode("utf-8")).digest()[:8], "little", signed=True)


def span_windows(text: str, mode: str, span: int) -> tuple[list[tuple[int, int]], list[tuple[int, list[int]]]]:
    """Units of ``text`` and its windows of ``span`` consecutive non-empty units.

    Returns ``(unit_spans, windows)``; each window is ``(hash, unit indices)``. Units whose
    normal form is empty (punctuation only, blank) are skipped by windows and never removed.
    A text with fewer than ``span`` non-empty units has no windows.
    """
    units = split_units(text, mode)
    normal = [(i, normalize_unit(text[s:e])) for i, (s, e) in enumerate(units)]
    normal = [(i, n) for i, n in normal if n]
    windows = []
    for w in range(len(normal) - span + 1):
        members = normal[w : w + span]
        windows.append((hash64("\n".join(n for _, n in members)), [i for i, _ in members]))
    return units, windows


def window_hashes(text: str, mode: str, span: int) -> list[int]:
    """Distinct window hashes of a text, sorted."""
    return sorted({h for h, _ in span_windows(text, mode, span)[1]})


def remove_windows(text: str, mode: str, span: int, duplicate_hashes: Iterable[int]) -> str:
    """``text`` without the units covered by any window whose hash is in ``duplicate_hashes``."""
    duplicates = set(duplicate_hashes)
    if not duplicates:
        return text
    units, windows = span_windows(text, mode, span)
    removed = {i for h, members in windows if h in duplicates for i in members}
    if not removed:
        return text
    return "".join(text[s:e] for i, (s, e) in enumerate(units) if i not in removed).strip()


def doc_order_key(source: str | None, doc_id: str, source_priority: Sequence[str]) -> str:
    """A string that sorts documents by source priority (listed first wins), then id.

    Sources not in ``source_priority`` rank after all listed ones. Comparing these keys as
    strings (Python, or Spark's UTF-8 byte order) gives the same order.
    """
    rank = source_priority.index(source) if source in source_priority else len(source_priority)
    return f"{rank:0{ORDER_KEY_WIDTH - 1}d}:{doc_id}"


# ---- word n-grams (decontamination) --------------------------------------------------

_NGRAM_MULTIPLIERS_SEED = 13


def _token_hash(token: str) -> int:
    """64-bit BLAKE2b of a token, made odd so that 0 can mean "not in any evaluation set"."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little") | 1


def _window_hashes(token_hashes: np.ndarray, n: int) -> np.ndarray:
    """``sum_j token_hash[i + j] * K_j mod 2^64`` for every window of ``n`` tokens (fixed odd random ``K_j``)."""
    windows = len(token_hashes) - n + 1
    if windows <= 0:
        return np.empty(0, dtype=np.uint64)
    multipliers = np.random.RandomState(_NGRAM_MULTIPLIERS_SEED).randint(
        0, 1 << 63, size=n, dtype=np.uint64
    ) * np.uint64(2) + np.uint64(1)
    out = np.zeros(windows, dtype=np.uint64)
    for j in range(n):
        out += token_hashes[j : j + windows] * multipliers[j]
    return out


def _token_matches(text: str) -> tuple[list[str], list[re.Match]]:
    """Lower-cased tokens (as :func:`filters.minhash.tokenize`) and their matches in ``text``.

    The whole text is lower-cased once; only when that changes its length (a few letters such
    as U+0130 lower-case to two characters) are tokens lower-cased one by one.
    """
    lowered = text.lower()
    if len(lowered) == len(text):
        matches = list(tokenize_pattern(lowered).finditer(lowered))
        return [m.group() for m in matches], matches
    matches = list(tokenize_pattern(text).finditer(text))
    return [m.group().lower() for m in matches], matches


@dataclass(frozen=True)
class EvalNgrams:
    """Evaluation sets as sorted n-gram hashes, with the hash of every token they contain.

    A document token outside ``token_hashes`` cannot be part of a matching n-gram, so documents
    are hashed by dictionary look-ups only.
    """

    n: int
    token_hashes: dict[str, int]
    sets: dict[str, np.ndarray]


def build_eval_ngrams(eval_sets: dict[str, Iterable[str]], n: int) -> EvalNgrams:
    """Index the examples of each named evaluation set (examples shorter than ``n`` tokens add nothing)."""
    token_hashes: dict[str, int] = {}
    sets = {}
    for name, texts in eval_sets.items():
        arrays = [np.empty(0, dtype=np.uint64)]
        for text in texts:
            tokens = _token_matches(text)[0]
            for token in tokens:
                if token not in token_hashes:
                    token_hashes[token] = _token_hash(token)
            arrays.append(
                _window_hashes(
                    np.fromiter(map(token_hashes.__getitem__, tokens), dtype=np.uint64, count=len(tokens)), n
                )
            )
        sets[name] = np.unique(np.concatenate(arrays))
    return EvalNgrams(n, token_hashes, sets)


def merge_eval_ngrams(first: EvalNgrams, *others: EvalNgrams) -> EvalNgrams:
    """One index of several with the same ``n``: sets of the same name united, token hashes joined (a token's
    hash depends on the token alone)."""
    token_hashes, sets = dict(first.token_hashes), dict(first.sets)
    for other in others:
        token_hashes.update(other.token_hashes)
        for name, hashes in other.sets.items():
            sets[name] = np.union1d(sets[name], hashes) if name in sets else hashes
    return EvalNgrams(first.n, token_hashes, sets)


def read_eval_texts(path: str | Path, text_field: str = "text") -> list[str]:
    """Examples of an evaluation set: JSONL (``text_field`` of each object) or plain text, one per line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"evaluation set not found: {path}")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix not in (".jsonl", ".json"):
        return lines
    texts = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number}: not JSON ({err})") from err
        if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
            raise ValueError(f"{path}:{number}: no string field {text_field!r}")
        texts.append(record[text_field])
    return texts


def contaminated_spans(text: str, evals: EvalNgrams) -> dict[str, list[tuple[int, int]]]:
    """For each eval set sharing an n-gram with ``text``: the merged character spans of those n-grams
    (in the order of ``evals.sets``)."""
    n = evals.n
    tokens, matches = _token_matches(text)
    if len(tokens) < n or not any(len(hashes) for hashes in evals.sets.values()):
        return {}
    lookup = evals.token_hashes.get
    token_hashes = np.fromiter((lookup(token, 0) for token in tokens), dtype=np.uint64, count=len(tokens))
    unknown = np.concatenate(([0], np.cumsum(token_hashes == 0)))
    candidates = np.flatnonzero(unknown[n:] == unknown[:-n])  # windows made only of eval-set tokens
    if not len(candidates):
        return {}
    hashes = _window_hashes(token_hashes, n)[candidates]
    found = {}
    for name, eval_hashes in evals.sets.items():
        if not len(eval_hashes):
            continue
        position = np.minimum(np.searchsorted(eval_hashes, hashes), len(eval_hashes) - 1)
        hits = candidates[eval_hashes[position] == hashes]
        if len(hits):
            found[name] = _merge_token_runs(hits, n, matches)
    return found


def _merge_token_runs(starts: np.ndarray, n: int, matches: list[re.Match]) -> list[tuple[int, int]]:
    """Character spans covering tokens ``[s, s + n)`` for each start, overlapping runs merged."""
    spans: list[tuple[int, int]] = []
    run_start, run_end = int(starts[0]), int(starts[0]) + n
    for s in starts[1:]:
        s = int(s)
        if s <= run_end:
            run_end = s + n
        else:
            spans.append((matches[run_start].start(), matches[run_end - 1].end()))
            run_start, run_end = s, s + n
    spans.append((matches[run_start].start(), matches[run_end - 1].end()))
    return spans


def cut_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` without the given character spans (overlaps allowed), white space tidied at the cuts."""
    pieces, pos = [], 0
    for start, end in sorted(spans):
        if start > pos:
            pieces.append(text[pos:start])
        pos = max(pos, end)
    pieces.append(text[pos:])
    return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()
