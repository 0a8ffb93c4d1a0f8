import json

import pytest
from pydantic import ValidationError
from tokenizers import Tokenizer

from tests.conftest import shared_data
from tokenizer_train.evaluate import count_words
from tokenizer_train.train import TokenizerConfig, build_tokenizer, cut_long_runs, sample_rates, train_tokenizer
from trainer_output.indexed_dataset import sha256_file

EN = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Pretraining data pipelines remove boilerplate, duplicates and personal data.",
    "A tokenizer maps text to integer ids; the model never sees raw bytes.",
]
ZH = [
    "数据清洗流程会删除重复的网页和个人信息。",
    "分词器把文本变成整数编号，模型只看到这些编号。",
    "今天天气很好，我们去公园散步吧。",
]


def corpus_rows():
    rows = []
    for i in range(60):
        rows.append((f"en{i}", "web", "en", f"{EN[i % 3]} Item {i} costs {i * 37} dollars."))
        rows.append((f"zh{i}", "wiki", "zh", f"{ZH[i % 3]}第{i}条，价格{i * 37}元。"))
    return rows


@pytest.fixture(scope="module")
def trained(spark, tmp_path_factory):
    docs = spark.createDataFrame(corpus_rows(), "id string, source string, lang string, text string")
    cfg = TokenizerConfig(vocab_size=1000, reserved_tokens=4, heldout_fraction=0.2, sample_chars=10_000_000)
    out = tmp_path_factory.mktemp("tok")
    stats = train_tokenizer(docs, cfg, out, seed=3)
    return docs, cfg, out, stats


def test_vocab_size_rounds_up_to_128():
    assert TokenizerConfig(vocab_size=1024).vocab_size == 1024
    assert TokenizerConfig(vocab_size=1025).vocab_size == 1152
    assert TokenizerConfig(vocab_size=500).vocab_size == 512


def test_config_rejects_unknown_keys_and_tiny_vocab():
    with pytest.raises(ValidationError):
        TokenizerConfig(vocab=1000)
    with pytest.raises(ValidationError, match="no room for merges"):
        TokenizerConfig(vocab_size=256, reserved_tokens=0)
    assert TokenizerConfig(vocab_size=384, reserved_tokens=125).vocab_size == 384  # 256 + 127 specials < 384
    with pytest.raises(ValidationError, match="no room for merges"):
        TokenizerConfig(vocab_size=384, reserved_tokens=126)


def test_sample_rates_follow_weights_languages_and_cap():
    chars = {("web", "en"): 900, ("web", "de"): 100, ("wiki", "en"): 1000}
    rates = sample_rates(chars, sample_chars=1000, weights={"web": 1, "wiki": 1}, language_alpha=1.0, max_repeats=1.0)
    assert rates[("web", "en")] == pytest.approx(450 / 900)
    assert rates[("web", "de")] == pytest.approx(50 / 100)
    assert rates[("wiki", "en")] == pytest.approx(0.5)
    # alpha 0.5: web languages weighted 30:10 instead of 90:10
    lifted = sample_rates(chars, 400, {"web": 1, "wiki": 1}, language_alpha=0.5, max_repeats=1.0)
    assert lifted[("web", "de")] == pytest.approx(200 * 0.25 / 100)
    assert lifted[("web", "en")] == pytest.approx(200 * 0.75 / 900)
    # default weights: characters available; capped at max_repeats
    natural = sample_rates(chars, 4000, None, 1.0, max_repeats=1.5)
    assert natural[("wiki", "en")] == pytest.approx(1.5)
    assert sample_rates(chars, 1000, {"web": 1}, 1.0, 1.0)[("wiki", "en")] == 0.0
    # a source with a weight but no documents in the pool (all held out) is left out
    assert sample_rates(chars, 1000, {"web": 1, "books": 5}, 1.0, 1.0) == sample_rates(
        chars, 1000, {"web": 1}, 1.0, 1.0
    )


def test_build_tokenizer_digits_and_normalization_options():
    split = build_tokenizer(TokenizerConfig()).pre_tokenizer.pre_tokenize_str("ab 123")
    assert [piece for piece, _ in split] == ["ab", "Ġ", "1", "2", "3"]
    whole = build_tokenizer(TokenizerConfig(split_digits=False)).pre_tokenizer.pre_tokenize_str("ab 123")
    assert [piece for piece, _ in whole] == ["ab", "Ġ123"]
    assert build_tokenizer(TokenizerConfig()).normalizer is None
    assert build_tokenizer(TokenizerConfig(normalization="NFKC")).normalizer.normalize_str("ﬁ①") == "fi1"


def test_long_runs_are_cut_for_training_only(trained):
    pieces = [piece for piece, _ in cut_long_runs(16).pre_tokenize_str("ab " + "x" * 40 + " cd" + " " * 20 + "e")]
    assert pieces == ["ab ", "x" * 16, "x" * 16, "x" * 8 + " cd", " " * 16, "    e"]
    normal = "Ordinary text, 普通的中文句子，and words under the limit."
    assert [piece for piece, _ in cut_long_runs(16).pre_tokenize_str(normal)] == [normal]
    _, cfg, out, _ = trained  # the saved tokenizer splits text as it was built to, without the training cut
    saved = json.loads((out / "tokenizer.json").read_text())["pre_tokenizer"]
    assert saved == json.loads(build_tokenizer(cfg).to_str())["pre_tokenizer"]


def test_count_words_latin_and_cjk():
    assert count_words("Hello, world 42") == 3
    assert count_words("你好世界") == 4
    assert count_words("abc中文 snake_case") == 5


def test_trained_tokenizer_loads_and_round_trips(trained):
    _, cfg, out, stats = trained
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tok.get_vocab_size(with_added_tokens=True) == 1024 == stats["vocab_size"]
    assert stats["padding_tokens_added"] == 1024 - stats["learned_vocab_size"] > 0
    assert tok.token_to_id("<|endoftext|>") == 0 and tok.token_to_id("<|pad|>") == 1
    assert tok.token_to_id("<|reserved_3|>") == 5
    assert tok.token_to_id(f"<|reserved_{3 + stats['padding_tokens_added']}|>") == 1023
    assert json.loads(tok.to_str())["model"]["unk_token"] is None
    for text in ["Hello wörld 🙂 12345", "你好，世界！", " leading space\n\ttabs", "\x00\u200b"]:
        assert tok.decode(tok.encode(text).ids, skip_special_tokens=False) == text
    assert len(tok.encode("12345").ids) == 5  # each digit its own token
    assert tok.encode("<|endoftext|>").ids == [0]
    assert stats["sha256"] == sha256_file(out / "tokenizer.json")


def test_evaluation_per_language_on_heldout(trained):
    from pyspark.sql import functions as F

    from trainer_output.mixture import unit_hash

    docs, cfg, out, stats = trained
    hashed = docs.withColumn("u", unit_hash(F.col("id"), seed=3, salt="tokenizer_heldout")).collect()
    heldout = []  # below the fraction, or among the heldout_min_documents lowest hashes of its language
    for lang in ("en", "zh"):
        ranked = sorted((r for r in hashed if r["lang"] == lang), key=lambda r: r["u"])
        assert sum(r["u"] < cfg.heldout_fraction for r in ranked) < cfg.heldout_min_documents == 20
        heldout += ranked[: cfg.heldout_min_documents]
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    evaluation = stats["evaluation"]
    assert set(evaluation) == {"en", "zh", "all"}
    for lang in ("en", "zh"):
        texts = [r["text"] for r in heldout if r["lang"] == lang]
        n_bytes = sum(len(t.encode()) for t in texts)
        tokens = sum(len(tok.encode(t).ids) for t in texts)
        words = sum(count_words(t) for t in texts)
        assert evaluation[lang] == {
            "documents": len(texts),
            "bytes": n_bytes,
            "tokens": tokens,
            "words": words,
            "bytes_per_token": n_bytes / tokens,
            "tokens_per_word": tokens / words,
        }
    assert evaluation["all"]["documents"] == len(heldout) == 40
    assert stats["sample"]["documents"] + len(heldout) == 120


def test_training_is_deterministic(trained, tmp_path):
    docs, cfg, out, stats = trained
    again = train_tokenizer(docs.repartition(3), cfg, tmp_path, seed=3)
    assert again["sha256"] == stats["sha256"]
    assert again["sample"] == stats["sample"]


def test_loads_in_transformers(trained):
    import transformers

    _, _, out, _ = trained
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"), eos_token="<|endoftext|>")
    assert fast.eos_token_id == 0
    assert fast.decode(fast("Hello 你好")["input_ids"]) == "Hello 你好"
    auto = transformers.AutoTokenizer.from_pretrained(str(out))
    assert auto.pad_token == "<|pad|>"


def test_every_language_is_evaluated_on_at_least_the_minimum_of_held_out_documents(spark, tmp_path):
    """Real handbook pages: a large, a middle and a tiny language, with a fraction that alone would hold
    out one or two English pages and nothing else."""
    import gzip

    rows = []
    for lang, code, count in (("en-US", "en", 117), ("de-DE", "de", 30), ("zh-CN", "zh", 5)):
        with gzip.open(shared_data("handbook", f"{lang}.jsonl.gz"), "rt", encoding="utf-8") as f:
            pages = [json.loads(line) for line in f][:count]
        rows += [(f"{code}-{p['id']}", "handbook", code, p["text"]) for p in pages]
    docs = spark.createDataFrame(rows, "id string, source string, lang string, text string")
    cfg = TokenizerConfig(vocab_size=2048, heldout_fraction=0.01, heldout_min_documents=10, sample_chars=400_000)
    stats = train_tokenizer(docs, cfg, tmp_path, seed=7)
    evaluation = stats["evaluation"]
    assert {lang: evaluation[lang]["documents"] for lang in ("en", "de", "zh")} == {"en": 10, "de": 10, "zh": 2}
    assert all(evaluation[lang]["bytes_per_token"] > 1 for lang in ("en", "de", "zh"))
    planned = {row["lang"]: row["documents"] for row in stats["sample_plan"]}
    assert planned == {"en": 107, "de": 20, "zh": 3}, "held-out documents are not in the training pool"
