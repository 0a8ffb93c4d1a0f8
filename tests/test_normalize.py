from filters.normalize import length_reason, normalize_text
from stages.normalize import NormalizeConfig, NormalizeStage


def test_normalize_text_nfc_controls_and_whitespace():
    raw = "Cafe\u0301\x00  bar\r\n\r\n\r\n\r\nnext\tline  \u3000end\ufeff"
    assert normalize_text(raw) == "Café bar\n\nnext line end"


def test_normalize_keeps_chinese_and_single_newlines():
    assert normalize_text("你好，世界。\n第二行") == "你好，世界。\n第二行"


def test_length_reasons_at_boundaries():
    assert length_reason("", 3, 5) == "normalize:empty"
    assert length_reason("ab", 3, 5) == "normalize:too_short"
    assert length_reason("abc", 3, 5) is None
    assert length_reason("abcde", 3, 5) is None
    assert length_reason("abcdef", 3, 5) == "normalize:too_long"


def test_normalize_stage_on_dataframe(spark, stage_ctx):
    rows = [("a", "web", "  hello   world, this is fine  "), ("b", "web", "\x00\x01 "), ("c", "web", "tiny")]
    df = spark.createDataFrame(rows, "id string, source string, text string")
    out = NormalizeStage(NormalizeConfig(min_chars=10)).apply(df, stage_ctx)
    got = {r["id"]: (r["text"], r["reason"]) for r in out.collect()}
    assert got == {
        "a": ("hello world, this is fine", None),
        "b": ("", "normalize:empty"),
        "c": ("tiny", "normalize:too_short"),
    }
