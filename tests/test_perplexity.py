import json
import math
import random

import pytest
from conftest import ROOT

from filters.model_files import ModelFileError
from filters.perplexity import cc_net_normalize, document_perplexity, load_kenlm_model, prepare_lines
from filters.tokens import joined_tokens
from jobs.train_kenlm import main as train_kenlm_main
from model_training.inputs import read_texts
from model_training.kenlm import DEFAULT_BIN_DIR, KenlmTrainConfig, kenlm_tool
from stages.perplexity import PerplexityConfig, PerplexityStage

LMPLZ = DEFAULT_BIN_DIR / "lmplz"
needs_lmplz = pytest.mark.skipif(
    not LMPLZ.exists() or not (DEFAULT_BIN_DIR / "build_binary").exists(),
    reason=f"KenLM tools not built ({LMPLZ}); run scripts/build_kenlm.sh",
)


def test_normalize_like_cc_net():
    """cc_net's steps after lower-casing (tests/test_tokens.py checks them against cc_net's own,
    inside the compiled pass, on every code point)."""
    assert cc_net_normalize("café déjà vu 2024！") == "cafe deja vu 0000!"
    assert cc_net_normalize("“quote”—dash…\x07ok\nnext") == '"quote" - dash...ok\nnext'
    assert cc_net_normalize("你好，世界。（测试）") == "你好,世界.(测试)"


def test_tokens_words_symbols_and_cjk_characters():
    assert joined_tokens("hello , world's 00") == "hello , world ' s 00"
    assert joined_tokens("中文abc 日本語です") == "中 文 abc 日 本 語 で す"
    assert joined_tokens("   ") == ""


def test_prepare_lines_drops_empty_lines():
    assert prepare_lines("First LINE, Café 2024.\n\n  \n第二行") == ["first line , cafe 0000 .", "第 二 行"]


class FixedScoreModel:
    """Scores every line log10 p = -1 and records what it was asked."""

    def __init__(self):
        self.lines = []

    def score(self, line, bos, eos):
        assert bos and eos
        self.lines.append(line)
        return -1.0


def test_document_perplexity_is_cc_net_formula():
    model = FixedScoreModel()
    # lines "a b" (2 tokens + </s>) and "c" (1 token + </s>): 10 ** (2 / 5)
    assert document_perplexity(model, "A B\n\nc") == pytest.approx(10 ** (2 / 5))
    assert model.lines == ["a b", "c"]
    assert document_perplexity(model, " \n ") is None


def test_missing_and_corrupt_kenlm_models_name_path_and_job(tmp_path):
    with pytest.raises(ModelFileError, match=r"not found: .*en\.binary.*jobs/train_kenlm\.py"):
        load_kenlm_model(str(tmp_path / "en.binary"))
    corrupt = tmp_path / "corrupt.binary"
    corrupt.write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\x00" + b"\x01" * 64)
    with pytest.raises(ModelFileError, match=r"corrupt\.binary could not be loaded.*jobs/train_kenlm\.py"):
        load_kenlm_model(str(corrupt))


def test_missing_kenlm_tool_says_how_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="scripts/build_kenlm.sh"):
        kenlm_tool("lmplz", str(tmp_path))


def test_train_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="extra"):
        KenlmTrainConfig.model_validate({"orders": 3})


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A 3-gram model on 300 book paragraphs, trained through the job's main() and YAML section."""
    tmp = tmp_path_factory.mktemp("kenlm")
    if not LMPLZ.exists():
        pytest.skip(f"KenLM tools not built ({LMPLZ}); run scripts/build_kenlm.sh")
    paragraphs = next(read_texts(ROOT / "data/train/en/gutenberg.txt.gz")).split("\n")
    train, heldout = paragraphs[:300], [p for p in paragraphs[300:] if len(p.split()) >= 12][:40]
    (tmp / "train.txt").write_text("\n\n".join(train), encoding="utf-8")
    config = {
        "train": {
            "kenlm": {
                "languages": {"en": [str(tmp / "train.txt")]},
                "output_dir": str(tmp / "models"),
                "order": 3,
                "memory": "64M",
                "heldout_fraction": 0.1,
            }
        }
    }
    (tmp / "pipeline.yaml").write_text(json.dumps(config), encoding="utf-8")
    assert train_kenlm_main(["--config", str(tmp / "pipeline.yaml")]) == 0
    return tmp / "models" / "en.binary", heldout


@needs_lmplz
def test_kenlm_job_writes_model_and_card(tiny_lm):
    path, _ = tiny_lm
    card = json.loads((path.parent / "model_card.json").read_text())
    entry = card["languages"]["en"]
    assert entry["order"] == 3 and entry["data"]["heldout_lines"] == 30
    assert entry["heldout_perplexity"] > 1 and "--discount_fallback" in entry["lmplz_options"]
    assert "| en | 3 |" in (path.parent / "model_card.md").read_text()


@needs_lmplz
def test_in_domain_text_has_lower_perplexity_than_shuffled(tiny_lm):
    path, heldout = tiny_lm
    model = load_kenlm_model(str(path))
    rng = random.Random(0)
    lower = 0
    for paragraph in heldout:
        words = paragraph.split()
        rng.shuffle(words)
        lower += document_perplexity(model, paragraph) < document_perplexity(model, " ".join(words))
    assert lower == len(heldout)


def _docs(spark, texts, lang="en"):
    rows = [(f"d{i:03d}", "web", text, lang) for i, text in enumerate(texts)]
    return spark.createDataFrame(rows, "id string, source string, text string, lang string")


@needs_lmplz
def test_buckets_follow_corpus_percentiles(spark, stage_ctx, tiny_lm):
    path, heldout = tiny_lm
    rng = random.Random(1)
    texts = []
    for paragraph in heldout:  # 40 paragraphs, each intact, half shuffled and fully shuffled: 120 documents
        words = paragraph.split()
        half = words[: len(words) // 2] + rng.sample(words[len(words) // 2 :], len(words) - len(words) // 2)
        texts += [paragraph, " ".join(half), " ".join(rng.sample(words, len(words)))]
    stage = PerplexityStage(PerplexityConfig(models={"en": str(path)}, keep_buckets=["head", "middle"]))
    rows = stage.apply(_docs(spark, texts), stage_ctx).collect()
    pps = sorted(r["perplexity"] for r in rows)
    assert len(set(pps)) == len(pps) == 120
    head_max, middle_max = stage.cutoffs_used["en"]
    assert (head_max, middle_max) == (pps[35], pps[71])  # the 30th and 60th percentiles of 120 values
    counts = {b: sum(r["pp_bucket"] == b for r in rows) for b in ("head", "middle", "tail")}
    assert counts == {"head": 36, "middle": 36, "tail": 48}
    assert all((r["reason"] == "perplexity:bucket_tail") == (r["pp_bucket"] == "tail") for r in rows)


@needs_lmplz
def test_given_cutoffs_max_perplexity_and_no_model(spark, stage_ctx, tiny_lm):
    path, heldout = tiny_lm
    model = load_kenlm_model(str(path))
    texts = heldout[:3]
    pp = sorted(document_perplexity(model, t) for t in texts)
    df = _docs(spark, texts).unionByName(
        _docs(spark, ["bonjour le monde"], lang="fr").selectExpr("'fr0' as id", "source", "text", "lang")
    )
    cfg = PerplexityConfig(
        models={"en": str(path)},
        cutoffs={"en": (pp[0], pp[1])},
        keep_buckets=["head", "middle"],
        max_perplexity=pp[1],
        no_model="reject",
    )
    rows = {r["id"]: r for r in PerplexityStage(cfg).apply(df, stage_ctx).collect()}
    by_pp = sorted((r for r in rows.values() if r["lang"] == "en"), key=lambda r: r["perplexity"])
    assert [r["pp_bucket"] for r in by_pp] == ["head", "middle", "tail"]  # at head_max: head; at middle_max: middle
    assert [r["reason"] for r in by_pp] == [None, None, "perplexity:max"]  # at max: kept; above: rejected
    assert by_pp[2]["detail"] == f"perplexity {pp[2]:.4g} > {pp[1]:g}"
    assert rows["fr0"]["perplexity"] is None and rows["fr0"]["reason"] == "perplexity:no_model"
    assert rows["fr0"]["detail"] == "no model for lang fr"
    tail_only = PerplexityConfig(models={"en": str(path)}, cutoffs={"en": (pp[0], pp[1])}, keep_buckets=["head"])
    rows = {r["id"]: r for r in PerplexityStage(tail_only).apply(df, stage_ctx).collect()}
    assert rows[by_pp[2]["id"]]["detail"] == (
        f"perplexity {pp[2]:.4g} in bucket tail (head <= {pp[0]:.4g} < middle <= {pp[1]:.4g} < tail), not kept"
    )


def test_scoring_config_leaves_the_decision_out():
    base = PerplexityStage(PerplexityConfig()).scoring_config()
    decisions = {
        "cutoffs": {"en": (1.0, 2.0)},
        "percentiles": (10.0, 20.0),
        "keep_buckets": ["head"],
        "max_perplexity": 9.0,
    }
    assert PerplexityStage(PerplexityConfig(**decisions, no_model="reject")).scoring_config() == base
    assert PerplexityStage(PerplexityConfig(models={"en": "other.binary"})).scoring_config() != base


@needs_lmplz
def test_corpus_percentiles_do_not_depend_on_partitioning(spark, stage_ctx, tiny_lm):
    """50k documents scored and bucketed with 1, 3 and 8 input partitions: identical cut-offs and buckets,
    equal to the exact nearest-rank percentiles."""
    path, heldout = tiny_lm
    vocabulary = sorted({w for paragraph in heldout for w in paragraph.split()})
    rng = random.Random(7)
    texts = [" ".join(rng.choices(vocabulary, k=rng.randint(3, 12))) for _ in range(50_000)]
    docs = _docs(spark, texts)
    stage = PerplexityStage(PerplexityConfig(models={"en": str(path)}))
    runs = []
    for partitions in (1, 3, 8):
        out = stage.apply(docs.repartition(partitions), stage_ctx)
        runs.append((stage.cutoffs_used["en"], sorted(out.select("id", "pp_bucket").collect())))
    assert runs[0] == runs[1] == runs[2]
    pps = sorted(r["perplexity"] for r in stage.apply(docs.repartition(3), stage_ctx).select("perplexity").collect())
    assert runs[0][0] == (pps[math.ceil(0.3 * len(pps)) - 1], pps[math.ceil(0.6 * len(pps)) - 1])
