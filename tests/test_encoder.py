"""tiktoken gives the trained tokenizer's ids (trainer_output/encoder.py), or is not used."""

import gzip
import json
from functools import cache

import pytest
import tiktoken
from tokenizers import Regex, Tokenizer, pre_tokenizers

from tests.conftest import shared_data
from tokenizer_train.train import TokenizerConfig, bpe_trainer, build_tokenizer
from trainer_output.encoder import DocumentEncoder, why_not_tiktoken

EDGE_CASES = [
    "It's 2024: they'll pay $1,299.99 (or 12 500 €) on 3/4.",
    "spaces before digits   7 and\u00a0\u00a010 and\u3000\u30009 and tabs\t\t42\n\n\n1",
    "trailing white space   \n\n  ",
    "  leading white space and a line\r\n\r\nbreak",
    "数据清洗，去重。第3章 共１２页 Ⅻ ½ ٣ ৫",
    "mixed 中文English混合 text 😀👍🏽 and e\u0301 combining",
    "a special token <|endoftext|> inside, and a near one <|endoftext| and <|pad|><|reserved_0|>",
    "'S 'T 'RE 'Ve quotes ''s '''",
    "x" * 5000 + " " + "ab1" * 2000,
    " " * 300_000 + "tiktoken's regex engine gives up on this run of spaces",
    "",
]


@cache
def real_pieces() -> tuple[str, ...]:
    """Every 8th paragraph of the shared handbook (26 languages), web pages, e-mails and books."""
    texts = []
    for path in sorted(shared_data("handbook").glob("*.jsonl.gz")):
        texts += [json.loads(line)["text"] for line in gzip.open(path, "rt", encoding="utf-8")]
    for name in ("pages_wet_like.jsonl.gz", "spamassassin_emails.jsonl.gz"):
        texts += [json.loads(line)["text"] for line in gzip.open(shared_data("web", name), "rt", encoding="utf-8")]
    for lang in ("en", "zh"):
        for path in sorted(shared_data("reference", lang).glob("*.txt.gz")):
            texts += [gzip.open(path, "rt", encoding="utf-8", errors="replace").read()[:200_000]]
    pieces = [p for text in texts for p in text.split("\n\n") if p.strip()]
    return tuple(pieces[::8])


def trained(tmp_path, **settings) -> str:
    cfg = TokenizerConfig(vocab_size=2048, **settings)
    tokenizer = build_tokenizer(cfg)
    tokenizer.train_from_iterator(real_pieces()[::4], trainer=bpe_trainer(cfg))
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    return str(path)


def test_both_regex_engines_class_every_code_point_alike():
    """tokenizers' Oniguruma and tiktoken's fancy-regex: the same \\s, \\p{L} and \\p{N}, and Rust's is_numeric
    (the Digits pre-tokenizer) is \\p{N}, over every code point."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    byte_ranks = {bytes([b]): b for b in range(256)}
    for pattern in (r"\s", r"\p{L}", r"\p{N}"):
        removed = pre_tokenizers.Split(Regex(pattern), behavior="removed")
        probe = tiktoken.Encoding("probe", pat_str=pattern, mergeable_ranks=byte_ranks, special_tokens={})
        onig = [not removed.pre_tokenize_str(ch) for ch in chars]
        fancy = [bool(probe.encode_ordinary(ch)) for ch in chars]
        assert onig == fancy, pattern
        if pattern == r"\p{N}":
            digits = pre_tokenizers.Digits(individual_digits=True)
            assert [len(digits.pre_tokenize_str(f"a{ch}a")) == 3 for ch in chars] == fancy


@pytest.mark.parametrize("split_digits", [True, False])
def test_tiktoken_gives_the_trained_tokenizers_ids_on_real_text(tmp_path, split_digits):
    path = trained(tmp_path, split_digits=split_digits)
    assert why_not_tiktoken(json.loads(open(path).read())) is None
    fast, reference = DocumentEncoder(path, use_tiktoken=True), DocumentEncoder(path, use_tiktoken=False)
    assert (fast.name, reference.name) == ("tiktoken", "tokenizers")
    texts = [*real_pieces(), *EDGE_CASES]
    assert len(texts) > 5000
    assert fast.encode_batch(texts) == reference.encode_batch(texts)
    assert reference.encode_batch([EDGE_CASES[6]])[0].count(0) == 1  # the literal eos is the eos token


def test_tokenizers_encodes_what_tiktoken_cannot_reproduce(tmp_path):
    spec = json.loads(open(trained(tmp_path)).read())
    normalized = {**spec, "normalizer": {"type": "NFKC"}}
    assert why_not_tiktoken(normalized) == "the tokenizer normalizes text"
    prefixed = {**spec, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "use_regex": True}}
    assert why_not_tiktoken(prefixed).startswith("the pre-tokenizer")
    prefix_special = {**spec, "added_tokens": [*spec["added_tokens"], {**spec["added_tokens"][0], "content": "<|"}]}
    assert why_not_tiktoken(prefix_special) == "a special token is a prefix of another"
    vocab, merges = dict(spec["model"]["vocab"]), list(spec["model"]["merges"])
    first, second = (tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges[:2])
    swapped = {**spec, "model": {**spec["model"], "merges": [merges[1], merges[0], *merges[2:]]}}
    assert why_not_tiktoken(swapped) == "merges do not create tokens in id order"
    # a token reachable only through a pair the merges never make: tiktoken would merge it, tokenizers not
    orphan = "".join(first) + "".join(second)
    vocab[orphan] = len(vocab)
    unreachable = {**spec, "model": {**spec["model"], "vocab": vocab}}
    assert why_not_tiktoken(unreachable) == "a token is not its own encoding"


def test_an_ineligible_tokenizer_encodes_with_tokenizers(tmp_path):
    path = trained(tmp_path, normalization="NFKC")
    assert why_not_tiktoken(json.loads(open(path).read())) == "the tokenizer normalizes text"
    ids = DocumentEncoder(path, use_tiktoken=False).encode_batch(["Ｆｕｌｌ ｗｉｄｔｈ"])[0]
    assert ids == Tokenizer.from_file(path).encode("Full width", add_special_tokens=False).ids
