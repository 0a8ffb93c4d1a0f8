import gzip
import json
import math

import pytest
from conftest import ROOT

from filters.model_files import ModelFileError, out_of_distribution_warning
from filters.quality_model import (
    load_quality_model,
    pareto_draw,
    pareto_keep,
    prepare_text,
    quality_score,
    uniform_from_id,
)
from model_training.inputs import read_texts, split_document
from model_training.quality_classifier import (
    ClassifierData,
    QualityClassifierTrainConfig,
    classification_metrics,
    train_quality_classifiers,
)
from stages.base import MissingColumnError
from stages.quality_classifier import QualityClassifierConfig, QualityClassifierStage

TRAIN_DATA = ROOT / "data" / "train" / "en"


def _chunks(path, limit):
    return [c for text in read_texts(path) for c in split_document(text, 600)][:limit]


def _write_jsonl(path, texts):
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    """A classifier trained on 120 book chunks vs 120 spam emails; 30 of each held out."""
    tmp = tmp_path_factory.mktemp("quality")
    reference = _chunks(TRAIN_DATA / "gutenberg.txt.gz", 150)
    spam = _chunks(TRAIN_DATA / "spam.jsonl.gz", 150)
    cfg = QualityClassifierTrainConfig(
        languages={
            "en": ClassifierData(
                positives=[_write_jsonl(tmp / "ref.jsonl", reference[:120])],
                negatives=[_write_jsonl(tmp / "spam.jsonl", spam[:120])],
            )
        },
        output_dir=str(tmp / "models"),
        doc_chars=600,
        epoch=10,
        lr=0.5,  # a sharp tiny model (scores near 0 and 1) for the stage tests, not the demo recipe's
        word_ngrams=2,
        bucket=20_000,
        dim=16,
    )
    card = train_quality_classifiers(cfg)
    return tmp / "models" / "en.bin", reference[120:], spam[120:], card


def test_prepare_text_lowercases_tokenizes_and_drops_newlines():
    assert prepare_text("Hello,\nWORLD!  Don't") == "hello , world ! don ' t"
    assert prepare_text("中文测试\nABC") == "中 文 测 试 abc"


def test_read_texts_joins_wrapped_lines_into_paragraphs(tmp_path):
    path = tmp_path / "book.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("First line\nwrapped here.\r\n\r\nSecond\n\n\n")
    assert list(read_texts(path)) == ["First line wrapped here.\nSecond"]
    other = tmp_path / "x.csv"
    other.write_text("a")
    with pytest.raises(ValueError, match="expected .txt"):
        list(read_texts(other))


def test_split_document_respects_max_chars():
    assert split_document("aa\nbb\n\ncc", 5) == ["aa\nbb", "cc"]
    assert split_document("aa\nbbb", 5) == ["aa", "bbb"]
    assert split_document("abcdefg", 3) == ["abc", "def", "g"]


def test_classification_metrics_at_threshold():
    m = classification_metrics([0.5, 0.9, 0.2], [0.49, 0.5], threshold=0.5)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (2, 1, 1, 1)
    assert m["precision"] == pytest.approx(2 / 3, abs=1e-4) and m["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["roc_auc"] == pytest.approx((1 + 0.5 + 1 + 1 + 0 + 0) / 6, abs=1e-4)


def test_classifier_ranks_heldout_reference_above_spam(tiny_classifier):
    path, reference, spam, card = tiny_classifier
    model = load_quality_model(str(path))
    ref_scores = [quality_score(model, t) for t in reference]
    spam_scores = [quality_score(model, t) for t in spam]
    wins = sum(r > s for r in ref_scores for s in spam_scores) / (len(ref_scores) * len(spam_scores))
    assert wins >= 0.95
    assert sum(ref_scores) / len(ref_scores) > 0.5 > sum(spam_scores) / len(spam_scores)
    metrics = card["languages"]["en"]["heldout_metrics"]
    assert metrics["f1"] >= 0.8 and card["languages"]["en"]["data"]["documents"]["positive_heldout"] == 24
    saved = json.loads((path.parent / "model_card.json").read_text())
    assert saved["languages"]["en"]["heldout_metrics"] == metrics
    assert "| en |" in (path.parent / "model_card.md").read_text()


def test_missing_and_corrupt_models_name_path_and_job(tmp_path):
    missing = tmp_path / "nope.bin"
    with pytest.raises(ModelFileError, match=r"not found: .*nope\.bin.*jobs/train_quality_classifier\.py"):
        load_quality_model(str(missing))
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelFileError, match=r"corrupt\.bin could not be loaded.*jobs/train_quality_classifier\.py"):
        load_quality_model(str(corrupt))


def test_model_with_other_labels_is_rejected(tmp_path):
    import fasttext

    sources = (("a", "gutenberg.txt.gz"), ("b", "spam.jsonl.gz"))
    lines = [
        f"__label__{label} {prepare_text(text)}" for label, path in sources for text in _chunks(TRAIN_DATA / path, 60)
    ]
    train = tmp_path / "train.txt"
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path / "other.bin"
    fasttext.train_supervised(input=str(train), epoch=5, bucket=1000, dim=8, thread=11, verbose=0).save_model(str(path))
    with pytest.raises(ModelFileError, match=r"labels are \['__label__a', '__label__b'\]"):
        load_quality_model(str(path))


def test_pareto_keep_is_deterministic_and_follows_the_pareto_tail():
    ids = [f"doc-{i}" for i in range(20_000)]
    first = [pareto_keep(i, 7, 0.9, 9.0) for i in ids]
    assert first == [pareto_keep(i, 7, 0.9, 9.0) for i in ids]
    assert first != [pareto_keep(i, 8, 0.9, 9.0) for i in ids]
    # P(keep) = P(pareto(alpha) > 1 - score) = (2 - score) ** -alpha
    assert sum(first) / len(ids) == pytest.approx(1.1**-9, abs=0.015)
    assert sum(pareto_keep(i, 7, 0.2, 9.0) for i in ids) / len(ids) == pytest.approx(1.8**-9, abs=0.005)


def test_pareto_keep_boundary_matches_the_draw():
    u = uniform_from_id("x", 3)
    draw = (1 - u) ** (-1 / 9.0) - 1
    assert pareto_keep("x", 3, 1 - draw + 1e-9, 9.0)
    assert not pareto_keep("x", 3, 1 - draw - 1e-9, 9.0)
    assert math.isclose(draw, math.exp(-math.log1p(-u) / 9.0) - 1)


def _docs(spark, rows):
    return spark.createDataFrame(rows, "id string, source string, text string, lang string")


def test_stage_threshold_rule_no_model_and_boundary(spark, stage_ctx, tiny_classifier):
    path, reference, spam, _ = tiny_classifier
    model = load_quality_model(str(path))
    score = quality_score(model, reference[0])
    rows = [
        ("r", "web", reference[0], "en"),
        ("s", "web", spam[0], "en"),
        ("f", "web", "bonjour", "fr"),
        ("n", "web", "no language", None),
    ]
    df = _docs(spark, rows)

    at = QualityClassifierStage(QualityClassifierConfig(models={"en": str(path)}, threshold=score)).apply(df, stage_ctx)
    got = {r["id"]: (r["quality_score"], r["reason"], r["detail"]) for r in at.collect()}
    assert got["r"] == (pytest.approx(score), None, None)
    assert got["s"][1:] == ("quality_classifier:below_threshold", f"quality_score {got['s'][0]:.4g} < {score:g}")
    assert got["f"] == (None, None, None) and got["n"] == (None, None, None)

    past = QualityClassifierConfig(models={"en": str(path)}, threshold=min(score + 1e-6, 1.0), no_model="reject")
    got = {r["id"]: r["reason"] for r in QualityClassifierStage(past).apply(df, stage_ctx).collect()}
    assert got == {
        "r": "quality_classifier:below_threshold",
        "s": "quality_classifier:below_threshold",
        "f": "quality_classifier:no_model",
        "n": "quality_classifier:no_model",
    }


def test_stage_pareto_rule_is_seeded_by_id(spark, stage_ctx, tiny_classifier):
    path, reference, spam, _ = tiny_classifier
    texts = reference[:15] + spam[:15]
    df = _docs(spark, [(f"d{i}", "web", t, "en") for i, t in enumerate(texts)])
    stage = QualityClassifierStage(QualityClassifierConfig(models={"en": str(path)}, keep_rule="pareto"))
    rows = stage.apply(df, stage_ctx).collect()
    for row in rows:  # each decision is the pure, seeded pareto_keep of the document id
        keep = pareto_keep(row["id"], stage_ctx.seed, row["quality_score"], 9.0)
        assert row["reason"] == (None if keep else "quality_classifier:pareto")
        draw = pareto_draw(row["id"], stage_ctx.seed, 9.0)
        assert keep or row["detail"] == f"pareto draw {draw:.4g} <= 1 - quality_score {1 - row['quality_score']:.4g}"
    assert {r["reason"] for r in rows} == {None, "quality_classifier:pareto"}
    tag_only = QualityClassifierStage(QualityClassifierConfig(models={"en": str(path)}, keep_rule="none"))
    tagged = tag_only.apply(df, stage_ctx).collect()
    assert all(r["reason"] is None and r["quality_score"] is not None for r in tagged)


def test_stage_fails_on_driver_for_missing_model(spark, stage_ctx, tmp_path):
    df = _docs(spark, [("a", "web", "text", "en")])
    stage = QualityClassifierStage(QualityClassifierConfig(models={"en": str(tmp_path / "en.bin")}))
    with pytest.raises(ModelFileError, match=r"en\.bin.*jobs/train_quality_classifier\.py"):
        stage.apply(df, stage_ctx)
    with pytest.raises(ModelFileError):  # a missing model is named first, with or without languages
        stage.apply(df.drop("lang"), stage_ctx)


def test_stage_without_languages_says_to_run_langid_first(spark, stage_ctx, tiny_classifier):
    df = _docs(spark, [("a", "web", "text", "en")]).drop("lang")
    stage = QualityClassifierStage(QualityClassifierConfig(models={"en": str(tiny_classifier[0])}))
    with pytest.raises(MissingColumnError, match="needs the `lang` column: run the langid stage before it"):
        stage.apply(df, stage_ctx)


def test_a_threshold_change_decides_again_on_the_same_scores(spark, stage_ctx, tiny_classifier, tmp_path):
    """Through the runner: the scores are written once; a new threshold or keep rule reuses them, a
    retrained model (a new file) scores again."""
    import os

    from pipeline.resume import combine, scoring_hash, stage_hash
    from pipeline.runner import run_stage

    path, reference, spam, _ = tiny_classifier
    model = tmp_path / "en.bin"
    model.write_bytes(path.read_bytes())
    df = _docs(spark, [(f"d{i}", "web", t, "en") for i, t in enumerate(reference[:10] + spam[:10])])

    def run(**settings) -> dict:
        stage = QualityClassifierStage(QualityClassifierConfig(models={"en": str(model)}, **settings))
        out = tmp_path / "out"
        upstream = combine(input="upstream")
        hashes = {"step_hash": stage_hash(upstream, stage), "scores_hash": scoring_hash(upstream, stage)}
        return run_stage(
            stage, df, stage_ctx, out, tmp_path / "rejects", **hashes, reject_text_chars=100, label="[q]"
        ).stats

    first = run(threshold=0.5)
    assert first["scores"]["skipped"] is False
    strict = run(threshold=0.999)
    assert strict["scores"]["skipped"] is True and strict["rows_rejected"] > first["rows_rejected"]
    assert run(keep_rule="none")["scores"]["skipped"] is True
    os.utime(model, ns=(0, 0))  # the model file changed: its scores are stale
    assert run(keep_rule="none")["scores"]["skipped"] is False
    scores = QualityClassifierStage(QualityClassifierConfig(models={"en": str(model)}, threshold=0.1))
    assert (
        scores.scoring_config()
        == QualityClassifierStage(QualityClassifierConfig(models={"en": str(model)})).scoring_config()
    )


def test_model_card_reports_auc_on_the_hand_labelled_real_pages(tiny_classifier):
    path, _, _, card = tiny_classifier
    ood = card["languages"]["en"]["out_of_distribution"]
    assert (ood["high"], ood["low"], ood["unscored"]) == (137, 46, 0)
    assert 0.0 <= ood["roc_auc"] <= 1.0 and ood["devset"] == "data/quality/labels.tsv"
    assert f"{ood['roc_auc']} (137/46); half B {ood['roc_auc_half_b']}" in (path.parent / "model_card.md").read_text()
    assert out_of_distribution_warning(path) is None
