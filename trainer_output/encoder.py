"""Token ids of documents for the shards: tiktoken's BPE where it provably gives the trained tokenizer's ids.

The shards are defined by the trained HF ``tokenizers`` tokenizer (``tokenizer.json``). tiktoken encodes
about 4x faster per CPU second (bench/results/shards_speed.md) and gives the same ids when:

- the tokenizer is byte-level BPE with nothing tiktoken lacks (no normalizer, dropout, unknown token,
  subword prefix or suffix, byte fallback), pre-tokenized by ``ByteLevel`` (its GPT-2 regex, no prefix
  space), optionally after ``Digits(individual_digits=True)``, which ``DIGITS_PATTERN`` reproduces in one
  regex (every digit alone; a run of white space before a digit is whole, as at the end of a piece);
- merges create tokens in id order and every token encodes to itself by the merges alone: then the pair
  tiktoken merges (lowest id of the concatenation) is always the pair the merges would pick, because a pair
  whose concatenation is a token but not its merge can never be adjacent;
- its special tokens are matched literally (no strip, no whole-word rule) and none is a prefix of another.

Otherwise, and for a document tiktoken's regex engine refuses (its backtracking limit, e.g. a megabyte of
spaces), ``tokenizers`` encodes. The character classes of both regex engines (``\\s``, ``\\p{L}``, ``\\p{N}``,
Rust's ``is_numeric``) are checked equal over every code point by the tests, and the ids over real text.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

BYTE_LEVEL_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
DIGITS_PATTERN = r"""\p{N}|'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?=\p{N})|\s+(?!\S)|\s+"""
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
_PLAIN_BPE = {
    "dropout": None,
    "unk_token": None,
    "continuing_subword_prefix": None,
    "end_of_word_suffix": None,
    "byte_fallback": False,
    "ignore_merges": False,
}


@lru_cache(maxsize=1)
def byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet, as ``ByteLevel`` writes tokens: printable bytes as themselves, the rest
    shifted past 255."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = [b for b in range(256) if b not in printable]
    chars = [*map(chr, printable), *(chr(256 + i) for i in range(len(shifted)))]
    return dict(zip(chars, [*printable, *shifted]))


def tiktoken_pattern(spec: dict) -> str | None:
    """The one regex that splits text as the tokenizer's pre-tokenizer does, or None if there is none here."""
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") == "Sequence":
        steps = pre["pretokenizers"]
        digits = {"type": "Digits", "individual_digits": True}
        if len(steps) == 2 and steps[0] == digits and _is_byte_level(steps[1]):
            return DIGITS_PATTERN
        return None
    return BYTE_LEVEL_PATTERN if _is_byte_level(pre) else None


def _is_byte_level(step: dict) -> bool:
    return all(step.get(key) == value for key, value in _BYTE_LEVEL.items())


def why_not_tiktoken(spec: dict) -> str | None:
    """None if tiktoken gives this tokenizer's ids (``spec``: tokenizer.json), else the reason it may not."""
    model = spec["model"]
    if model.get("type") != "BPE" or any(model.get(key) != value for key, value in _PLAIN_BPE.items()):
        return "the model is not plain BPE"
    if spec.get("normalizer") is not None:
        return "the tokenizer normalizes text"
    if tiktoken_pattern(spec) is None:
        return "the pre-tokenizer is not ByteLevel (optionally after Digits)"
    added = [token["content"] for token in spec["added_tokens"]]
    if any(token["lstrip"] or token["rstrip"] or token["single_word"] for token in spec["added_tokens"]):
        return "a special token strips space or matches whole words only"
    if any(a != b and b.startswith(a) for a in added for b in added):
        return "a special token is a prefix of another"
    return _why_not_rank_order(model, set(added))


def _why_not_rank_order(model: dict, added: set[str]) -> str | None:
    """Merges must create tokens in id order, and every token must be its own encoding."""
    from tokenizers import Tokenizer, models

    alphabet = byte_of_char()
    vocab = {token: i for token, i in model["vocab"].items() if token not in added}
    if any(ch not in alphabet for token in vocab for ch in token) or not set(alphabet) <= set(vocab):
        return "the vocabulary is not byte-level"
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    ids = [vocab.get(a + b, -1) for a, b in merges]
    if min(ids, default=0) < 0 or any(x >= y for x, y in zip(ids, ids[1:])):
        return "merges do not create tokens in id order"
    bpe = Tokenizer(models.BPE(vocab, merges)).model
    if any([t.id for t in bpe.tokenize(token)] != [i] for token, i in vocab.items()):
        return "a token is not its own encoding"
    return None


class DocumentEncoder:
    """``encode_batch(texts)``: each text's token ids, special tokens in the text included (as tokenizers
    does); ``name`` says which library encodes."""

    def __init__(self, tokenizer_path: str | Path, use_tiktoken: bool):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tiktoken = (
            _tiktoken_encoding(json.loads(Path(tokenizer_path).read_text("utf-8"))) if use_tiktoken else None
        )
        self.name = "tiktoken" if self.tiktoken else "tokenizers"

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        if self.tiktoken is None:
            return [e.ids for e in self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
        return [self._encode(text) for text in texts]

    def _encode(self, text: str) -> list[int]:
        try:
            return self.tiktoken.encode(text, allowed_special="all")
        except ValueError:  # the regex engine's backtracking limit: tokenizers has none
            return self.tokenizer.encode(text, add_special_tokens=False).ids


def _tiktoken_encoding(spec: dict):
    import tiktoken

    alphabet = byte_of_char()
    special = {token["content"]: token["id"] for token in spec["added_tokens"]}
    ranks = {
        bytes(alphabet[ch] for ch in token): i for token, i in spec["model"]["vocab"].items() if token not in special
    }
    return tiktoken.Encoding("shards", pat_str=tiktoken_pattern(spec), mergeable_ranks=ranks, special_tokens=special)
