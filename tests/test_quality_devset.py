"""The hand-labelled development set of real pages (data/quality/) and how models are scored on it."""

import csv
import gzip
import json
import logging
import random

import pytest
from conftest import ROOT

from filters.model_files import check_model_files, out_of_distribution_warning
from model_training.evaluation import DevsetConfig, DevsetError, devset_figures, devset_half, load_devset, roc_auc
from model_training.inputs import read_texts
from model_training.kenlm import DEFAULT_LANGUAGES as KENLM_INPUTS
from model_training.quality_classifier import DEFAULT_LANGUAGES as CLASSIFIER_INPUTS
from model_training.quality_classifier import ClassifierData, QualityClassifierTrainConfig, train_quality_classifiers

DEVSET = ROOT / "data" / "quality" / "devset.jsonl.gz"
LABELS = ROOT / "data" / "quality" / "labels.tsv"


@pytest.fixture(scope="module")
def devset():
    return load_devset(DEVSET, LABELS)


def test_devset_has_400_real_pages_with_both_labels_per_language(devset):
    assert len(devset) >= 400
    by_lang = {}
    for doc in devset:
        by_lang.setdefault(doc.lang, []).append(doc.high_quality)
    assert set(by_lang) == {"en", "de", "zh"}
    for lang, labels in by_lang.items():
        assert any(labels) and not all(labels), lang
    assert len(by_lang["en"]) >= 150 and len(by_lang["de"]) >= 150
    with gzip.open(DEVSET, "rt", encoding="utf-8") as handle:
        sources = {json.loads(line)["source"] for line in handle}
    assert sources == {"web/pages_wet_like.jsonl.gz", "handbook/zh-CN.jsonl.gz", "handbook/zh-TW.jsonl.gz"}


def test_no_training_input_shares_a_document_with_the_devset(devset):
    """Never train on the development set: no default training file of either job holds a
    development-set text (a 200-character excerpt from the middle of each page is searched)."""
    paths = {p for data in CLASSIFIER_INPUTS.values() for p in data.positives + data.negatives}
    paths |= {p for files in KENLM_INPUTS.values() for p in files}
    training = "\n".join(text for path in sorted(paths) for text in read_texts(ROOT / path))
    training = " ".join(training.split())
    for doc in devset:
        words = " ".join(doc.text.split())
        excerpt = words[len(words) // 2 : len(words) // 2 + 200]
        assert len(excerpt) < 50 or excerpt not in training, doc.id


def test_roc_auc_matches_the_pairwise_definition_with_ties():
    rng = random.Random(7)
    for _ in range(20):
        pos = [rng.choice([0.1, 0.2, 0.5, 0.7, 0.9]) for _ in range(rng.randint(1, 12))]
        neg = [rng.choice([0.1, 0.2, 0.5, 0.7]) for _ in range(rng.randint(1, 12))]
        pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
        assert roc_auc(pos, neg) == pytest.approx(sum(pairs) / len(pairs))
    assert roc_auc([1.0], []) is None


def test_devset_figures_rank_unscorable_documents_lowest(devset):
    english = [d for d in devset if d.lang == "en"]
    perfect = devset_figures(devset, "en", lambda text: float(next(d.high_quality for d in english if d.text == text)))
    assert perfect["roc_auc"] == 1.0 and perfect["high"] + perfect["low"] == len(english)
    unscored = devset_figures(devset, "en", lambda text: None)
    assert unscored["roc_auc"] == 0.5 and unscored["unscored"] == len(english)


def test_devset_halves_are_fixed_by_the_id_and_hold_both_labels(devset):
    english = [d for d in devset if d.lang == "en"]
    halves = {d.id: devset_half(d.id) for d in english}
    assert halves == {d.id: devset_half(d.id) for d in reversed(english)}  # a function of the id alone
    half_b = [d for d in english if halves[d.id] == "B"]
    assert 0.4 < len(half_b) / len(english) < 0.6
    assert any(d.high_quality for d in half_b) and not all(d.high_quality for d in half_b)
    by_length = devset_figures(devset, "en", len)  # any score: half B's figure is its pages' own AUC
    expected = roc_auc(
        [len(d.text) for d in half_b if d.high_quality], [len(d.text) for d in half_b if not d.high_quality]
    )
    assert by_length["roc_auc_half_b"] == round(expected, 4) != by_length["roc_auc"]


def test_default_english_recipe_ranks_the_labelled_pages_at_auc_080(tmp_path):
    """Issue 17's bar (0.80) for the demo English quality model, on all English pages and on half B (recipes
    are compared on half A). fastText's threads and seeds move the figure by up to 0.006, so the guard is
    0.795: the recipe before (0.773) fails it."""
    recipe = CLASSIFIER_INPUTS["en"]
    cfg = QualityClassifierTrainConfig(
        languages={
            "en": ClassifierData(
                positives=[str(ROOT / p) for p in recipe.positives], negatives=[str(ROOT / p) for p in recipe.negatives]
            )
        },
        output_dir=str(tmp_path),
        devset=DevsetConfig(documents=str(DEVSET), labels=str(LABELS)),
    )
    figures = train_quality_classifiers(cfg)["languages"]["en"]["out_of_distribution"]
    assert (figures["high"], figures["low"]) == (137, 46)
    assert figures["roc_auc"] >= 0.795 and figures["roc_auc_half_b"] >= 0.795, figures


def test_malformed_labels_name_file_and_line(tmp_path):
    labels = tmp_path / "labels.tsv"
    labels.write_text("id\tlang\tlabel\nabc\ten\thigh\nabd\ten\tgood\n", encoding="utf-8")
    with pytest.raises(DevsetError, match=r"labels.tsv:3: expected id, lang and label high or low"):
        load_devset(DEVSET, labels)
    labels.write_text("id\tlang\tlabel\nnot-an-id\ten\thigh\n", encoding="utf-8")
    with pytest.raises(DevsetError, match="1 labelled ids have no text"):
        load_devset(DEVSET, labels)


def test_labels_file_lists_every_devset_document_once():
    with LABELS.open(encoding="utf-8", newline="") as handle:
        ids = [row["id"] for row in csv.DictReader(handle, delimiter="\t")]
    with gzip.open(DEVSET, "rt", encoding="utf-8") as handle:
        documents = [json.loads(line)["id"] for line in handle]
    assert sorted(ids) == sorted(documents) and len(set(ids)) == len(ids)


def _card(tmp_path, entry):
    (tmp_path / "en.bin").write_bytes(b"model")
    card = {"languages": {"en": {"model": "somewhere/else/en.bin", **entry}}}
    (tmp_path / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    return tmp_path / "en.bin"


def test_warning_when_a_model_card_has_no_out_of_distribution_figure(tmp_path):
    model = _card(tmp_path, {"out_of_distribution": {"roc_auc": 0.77, "high": 3, "low": 2}})
    assert out_of_distribution_warning(model) is None
    model = _card(tmp_path, {"heldout_metrics": {"roc_auc": 0.998}})
    assert "has no out-of-distribution ROC AUC for en.bin" in out_of_distribution_warning(model)
    (tmp_path / "model_card.json").unlink()
    assert "has no readable model card" in out_of_distribution_warning(model)


def test_stage_model_check_logs_the_warning_once(tmp_path, caplog):
    model = _card(tmp_path, {"heldout_metrics": {"roc_auc": 0.998}})
    with caplog.at_level(logging.WARNING, logger="filters.model_files"):
        check_model_files({"en": str(model)}, lambda path: None)
        check_model_files({"en": str(model)}, lambda path: None)  # preflight, then the run
    warnings = [r for r in caplog.records if "out-of-distribution" in r.getMessage()]
    assert len(warnings) == 1 and str(model.name) in warnings[0].getMessage()
