"""Language identification: the fastText wrapper, the decision rule and the Spark stage."""

from __future__ import annotations

import gzip
from itertools import islice

import pytest
from conftest import shared_data

from filters.langid import UNDETERMINED, bundled_model_path, identify, langid_reason, load_model
from filters.model_files import ModelFileError
from stages.langid import LangIdConfig, LangIdStage

SENTENCES = {
    "en": "The committee will publish its final report on the new railway line next spring.",
    "de": "Der Ausschuss wird seinen Abschlussbericht über die neue Bahnstrecke im nächsten Frühjahr veröffentlichen.",
    "fr": "Le comité publiera son rapport final sur la nouvelle ligne de chemin de fer au printemps prochain.",
    "es": "El comité publicará su informe final sobre la nueva línea de ferrocarril la próxima primavera.",
    "ru": "Комитет опубликует свой окончательный доклад о новой железнодорожной линии следующей весной.",
    "zh": "委员会将于明年春天发布关于这条新铁路线的最终报告。",
    "ja": "委員会は来年の春に新しい鉄道路線に関する最終報告書を公表する予定です。",
    "ko": "위원회는 내년 봄에 새 철도 노선에 관한 최종 보고서를 발표할 예정이다.",
    "ar": "ستنشر اللجنة تقريرها النهائي عن خط السكك الحديدية الجديد في الربيع المقبل.",
}
MIXED_EN_ZH = "Spark 是一个用于大规模数据处理的统一分析引擎。It provides high-level APIs in Java, Scala, Python and R."


@pytest.fixture(scope="module")
def model():
    return load_model(bundled_model_path())


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_identifies_languages(model, lang):
    predicted, score = identify(model, SENTENCES[lang])
    assert predicted == lang and score >= 0.65


def test_newlines_are_spaces(model):
    text = SENTENCES["en"].replace(" ", "\n")
    assert identify(model, text) == identify(model, SENTENCES["en"])


def test_mixed_english_chinese_gets_one_of_them_with_a_lower_score(model):
    lang, score = identify(model, MIXED_EN_ZH)
    assert lang in {"en", "zh"}
    assert 0.2 < score < min(identify(model, SENTENCES["en"])[1], identify(model, SENTENCES["zh"])[1])
    # uncertain at the default threshold; an explicit lower threshold keeps it
    assert langid_reason(lang, score, frozenset({"en", "zh"}), 0.65, {}) == "langid:below_threshold"
    assert langid_reason(lang, score, frozenset({"en", "zh"}), 0.65, {lang: 0.2}) is None


def test_very_short_and_empty_texts(model):
    assert identify(model, "") == (UNDETERMINED, 0.0)
    assert identify(model, "12345") == (UNDETERMINED, 0.0)
    assert identify(model, "今天天气很好")[0] == "zh"
    lang, score = identify(model, "ok")
    assert lang == "en" and 0 < score < 1
    assert langid_reason(*identify(model, ""), frozenset(), 0.65, {}) == "langid:below_threshold"


def test_reason_at_thresholds():
    allowed = frozenset({"en", "zh"})
    assert langid_reason("en", 0.65, allowed, 0.65, {}) is None
    assert langid_reason("en", 0.6499, allowed, 0.65, {}) == "langid:below_threshold"
    assert langid_reason("zh", 0.5, allowed, 0.65, {"zh": 0.5}) is None
    assert langid_reason("zh", 0.4999, allowed, 0.65, {"zh": 0.5}) == "langid:below_threshold"
    assert langid_reason("de", 0.99, allowed, 0.65, {}) == "langid:not_allowed"
    assert langid_reason("de", 0.99, frozenset(), 0.65, {}) is None  # empty list: every language
    assert langid_reason("de", 0.5, allowed, 0.65, {}) == "langid:below_threshold"  # uncertain first


def test_lingua_sentences_accuracy(model):
    root = shared_data("lid", "lingua-sentences")
    for lang in ("en", "de", "fr", "es", "ru", "zh", "ja", "ko", "ar", "pl"):
        with gzip.open(root / f"{lang}.txt.gz", "rt", encoding="utf-8") as lines:
            sentences = [line.strip() for line in islice(lines, 100)]
        correct = sum(identify(model, sentence)[0] == lang for sentence in sentences)
        assert correct >= 90, (lang, correct)


def test_mixed_handbook_pages_are_english_or_chinese(model):
    import json

    with gzip.open(shared_data("handbook", "zh-CN.jsonl.gz"), "rt", encoding="utf-8") as lines:
        pages = [json.loads(line)["text"] for line in islice(lines, 40)]
    assert {identify(model, page)[0] for page in pages} <= {"en", "zh"}


def test_missing_and_corrupt_model_files_name_their_path(tmp_path, spark, stage_ctx):
    df = spark.createDataFrame([("a", "web", "hello")], "id string, source string, text string")
    missing = tmp_path / "nope.ftz"
    with pytest.raises(ModelFileError, match=str(missing)):
        LangIdStage(LangIdConfig(model_path=str(missing))).apply(df, stage_ctx)
    corrupt = tmp_path / "corrupt.ftz"
    corrupt.write_bytes(b"\x00not a fasttext model" * 100)
    with pytest.raises(ModelFileError, match=str(corrupt)):
        LangIdStage(LangIdConfig(model_path=str(corrupt))).apply(df, stage_ctx)


def test_relative_model_path_is_taken_from_the_current_folder(tmp_path, monkeypatch):
    import shutil

    from filters.langid import check_model

    (tmp_path / "models").mkdir()
    shutil.copy(bundled_model_path(), tmp_path / "models" / "lid.ftz")
    monkeypatch.chdir(tmp_path)
    stage = LangIdStage(LangIdConfig(model_path="models/lid.ftz"))
    assert stage.model_path() == tmp_path / "models" / "lid.ftz"
    check_model(stage.model_path())  # the probe runs in the project folder: it gets the absolute path


def test_config_validation():
    with pytest.raises(ValueError):
        LangIdConfig(threshold=1.5)
    with pytest.raises(ValueError, match="thresholds"):
        LangIdConfig(thresholds={"zh": -0.1})
    with pytest.raises(ValueError):
        LangIdConfig(languages=["en"], unknown_key=1)


def test_langid_stage_on_dataframe(spark, stage_ctx):
    rows = [(lang, "web", text) for lang, text in SENTENCES.items()]
    rows += [("mixed", "web", MIXED_EN_ZH), ("empty", "web", ""), ("null", "web", None)]
    df = spark.createDataFrame(rows, "id string, source string, text string")
    config = LangIdConfig(languages=["en", "zh", "ja", "de"], thresholds={"de": 0.999})
    out = LangIdStage(config).apply(df, stage_ctx)
    got = {r["id"]: (r["lang"], r["lang_score"], r["reason"]) for r in out.collect()}
    assert len(got) == len(rows)
    reasons = {key: reason for key, (_, _, reason) in got.items()}
    assert reasons["en"] is None and reasons["zh"] is None and reasons["ja"] is None
    assert reasons["de"] == "langid:below_threshold"  # 0.997 < its own threshold 0.999
    assert all(0 < score <= 1 for key, (_, score, _) in got.items() if key in SENTENCES)
    assert reasons["fr"] == reasons["es"] == reasons["ru"] == reasons["ko"] == reasons["ar"] == "langid:not_allowed"
    assert reasons["mixed"] == "langid:below_threshold"
    assert got["empty"] == got["null"] == (UNDETERMINED, 0.0, "langid:below_threshold")
    assert all(lang == key for key, (lang, _, _) in got.items() if key in SENTENCES)
