"""Heuristic rules (Gopher quality/repetition, C4, FineWeb), per language, and the Spark stage.

Each rule is checked at its threshold (kept) and just past it (rejected)."""

from __future__ import annotations

import string

import pytest

from filters import fineweb, gopher
from filters.c4 import C4Config, c4_clean
from filters.fineweb import FineWebConfig
from filters.gopher import GopherQualityConfig, GopherRepetitionConfig
from filters.heuristics import LanguageRules, RuleBook, run_heuristics
from filters.text_units import TextUnits, count_sentences, make_segmenter, script_run_tokens, sentence_end_pattern
from stages.heuristics import HeuristicsConfig, HeuristicsStage

GQ, GR, FW, C4 = GopherQualityConfig(), GopherRepetitionConfig(), FineWebConfig(), C4Config()
DISTINCT = list(string.ascii_lowercase + string.digits)  # 36 distinct one-character words

GOOD_EN = (
    "The history of the printing press is closely tied to the spread of literacy in Europe.\n"
    "Before its invention, books had to be copied by hand, and that made them rare and expensive.\n"
    "Johannes Gutenberg combined movable metal type with an oil-based ink and a wooden press around 1450.\n"
    "Within a few decades, printing shops had opened in more than two hundred cities across the continent.\n"
    "The new technology lowered the cost of books and helped scholars to share their ideas with each other.\n"
    "Historians still debate how quickly ordinary people gained access to printed material."
)
BOILERPLATE = "Home | News | Contact\nWe use cookies to improve your experience on this site.\n"
GOOD_ZH = (
    "数据处理是机器学习的重要环节。我们在清洗网页文本的时候，需要去掉重复的段落和广告。\n"
    "高质量的中文语料对于训练语言模型非常有帮助。这个项目使用Spark来并行处理大量的文档。\n"
    "每一个阶段都会记录被过滤掉的原因，方便以后分析。"
)
GOOD_JA = (
    "私は毎日日本語を勉強しています。東京の天気は今日とても良いです。\n"
    "このプロジェクトではSparkを使って大量の文書を処理します。各段階で除外された理由を記録します。\n"
    "高質なデータは言語モデルの学習にとても役に立ちます。週末には友達と一緒に公園を散歩しました。\n"
    "図書館で新しい本を三冊借りて、夜遅くまで読んでいました。"
)


@pytest.fixture(scope="module")
def jieba_segmenter():
    return make_segmenter("jieba")


@pytest.fixture(scope="module")
def rule_book():
    return HeuristicsConfig()


def units(text: str, segmenter=str.split) -> TextUnits:
    return TextUnits(text, segmenter)


def words(n: int, word: str = "word") -> str:
    return " ".join([word] * n)


# --- text units ---------------------------------------------------------------------------


def test_units_lines_paragraphs_words():
    u = units("  First line, here.  \n\n\n- second (line)\n \nthird -- «word»")
    assert u.lines == ["First line, here.", "- second (line)", "third -- «word»"]
    assert u.paragraphs == ["First line, here.", "- second (line)", "third -- «word»"]
    assert u.tokens == ["First", "line,", "here.", "-", "second", "(line)", "third", "--", "«word»"]
    assert u.words == ["First", "line", "here", "second", "line", "third", "word"]


def test_chinese_segmentation_and_japanese_script_runs(jieba_segmenter):
    assert jieba_segmenter("我们在2020年使用了 Python 和 Spark。") == [
        "我们",
        "在",
        "2020",
        "年",
        "使用",
        "了",
        "Python",
        "和",
        "Spark",
        "。",
    ]
    assert script_run_tokens("私は日本語を勉強しています。Sparkを使う") == [
        "私",
        "は",
        "日本語",
        "を",
        "勉強",
        "しています",
        "。",
        "Spark",
        "を",
        "使",
        "う",
    ]


def test_sentence_counting_latin_and_cjk():
    latin = sentence_end_pattern(".?!")
    assert count_sentences("One here. Two here! Three? Version 3.11 is out.", latin) == 4
    assert count_sentences('He said "stop." Then left.', latin) == 2
    assert count_sentences("no end mark", latin) == 1
    cjk = sentence_end_pattern(".?!。！？；")
    assert count_sentences("第一句。第二句！第三句？第四句；Fifth one.", cjk) == 5


# --- Gopher quality -------------------------------------------------------------------------


def test_word_count_bounds():
    assert gopher.word_count(units(words(50)), GQ) is None
    assert gopher.word_count(units(words(49)), GQ) == "gopher_quality:word_count"
    assert gopher.word_count(units(words(100_000, "a")), GQ) is None
    assert gopher.word_count(units(words(100_001, "a")), GQ) == "gopher_quality:word_count"
    # punctuation-only tokens are not words
    assert gopher.word_count(units(words(49) + " - | ..."), GQ) == "gopher_quality:word_count"


def test_mean_word_length_bounds():
    assert gopher.mean_word_length(units(words(50, "abc")), GQ) is None
    assert gopher.mean_word_length(units(words(49, "abc") + " ab"), GQ) == "gopher_quality:mean_word_length"
    assert gopher.mean_word_length(units(words(50, "abcdefghij")), GQ) is None
    assert (
        gopher.mean_word_length(units(words(49, "abcdefghij") + " abcdefghijk"), GQ)
        == "gopher_quality:mean_word_length"
    )
    # surrounding punctuation does not count towards the length
    assert gopher.mean_word_length(units(words(50, "(abc),")), GQ) is None


def test_hash_and_ellipsis_word_ratios():
    assert gopher.hash_word_ratio(units(words(90, "alpha") + " " + words(10, "alpha#")), GQ) is None
    assert (
        gopher.hash_word_ratio(units(words(89, "alpha") + " " + words(11, "alpha#")), GQ)
        == "gopher_quality:hash_word_ratio"
    )
    assert gopher.ellipsis_word_ratio(units(words(90, "alpha") + " " + words(10, "alpha...")), GQ) is None
    assert (
        gopher.ellipsis_word_ratio(units(words(89, "alpha") + " " + words(11, "alpha…")), GQ)
        == "gopher_quality:ellipsis_word_ratio"
    )


def test_bullet_and_ellipsis_lines():
    bullets = ["• item one", "- item two", "* item three"] * 3
    assert gopher.bullet_lines(units("\n".join(bullets + ["plain line"])), GQ) is None  # 9/10
    assert (
        gopher.bullet_lines(units("\n".join(bullets + ["• more", "plain line"])), GQ) == "gopher_quality:bullet_lines"
    )  # 10/11
    ending = ["it goes on...", "and on…", "and on..."]
    assert gopher.ellipsis_lines(units("\n".join(ending + ["done."] * 7)), GQ) is None  # 3/10
    assert (
        gopher.ellipsis_lines(units("\n".join(ending + ["more..."] + ["done."] * 9)), GQ)
        == "gopher_quality:ellipsis_lines"
    )  # 4/13


def test_alpha_words_ratio():
    assert gopher.alpha_words(units(words(8) + " 123 |"), GQ) is None  # 8/10
    assert gopher.alpha_words(units(words(79) + " " + words(21, "2024")), GQ) == "gopher_quality:alpha_words"


def test_stop_words_case_insensitive_with_punctuation():
    assert gopher.stop_words(units("The cat, and the dog."), GQ) is None
    assert gopher.stop_words(units("The cat, the dog. THE END"), GQ) == "gopher_quality:stop_words"


def test_gopher_quality_chinese_rules(rule_book, jieba_segmenter):
    zh = rule_book.rules_for("zh").gopher_quality
    assert gopher.word_count(units("北京，" * 50, jieba_segmenter), zh) is None
    assert gopher.word_count(units("北京，" * 49, jieba_segmenter), zh) == "gopher_quality:word_count"
    assert (
        gopher.mean_word_length(units("中华人民共和国。" * 60, jieba_segmenter), zh)
        == "gopher_quality:mean_word_length"
    )  # 7 > 5 characters per word
    assert gopher.stop_words(units("北京的天气在变化。", jieba_segmenter), zh) is None  # 的, 在
    assert gopher.stop_words(units("北京的天气。", jieba_segmenter), zh) == "gopher_quality:stop_words"
    good = units(GOOD_ZH, jieba_segmenter)
    assert [rule(good, zh) for rule in gopher.GOPHER_QUALITY_RULES] == [None] * 8
    # the English rules would reject the same Chinese text: no spaces, so only a few "words"
    assert gopher.word_count(units(GOOD_ZH), GQ) == "gopher_quality:word_count"


# --- Gopher repetition ----------------------------------------------------------------------


def test_duplicate_line_and_paragraph_fractions():
    unique = [f"line number {i}" for i in range(8)]
    at = unique[:6] + ["dup"] * 4  # 10 lines, 3 repeat an earlier line: 0.3
    past = unique + ["dup"] * 5  # 13 lines, 4 repeats: 0.31
    assert units("\n".join(at)).duplicate_lines == (3, 9)
    assert gopher.dup_line_frac(units("\n".join(at)), GR) is None
    assert gopher.dup_line_frac(units("\n".join(past)), GR) == "gopher_repetition:dup_line_frac"
    assert gopher.dup_para_frac(units("\n\n".join(at)), GR) is None
    assert gopher.dup_para_frac(units("\n\n".join(past)), GR) == "gopher_repetition:dup_para_frac"
    # single newlines do not separate paragraphs
    assert units("\n".join(past)).duplicate_paragraphs == (0, 0)


def test_duplicate_line_and_paragraph_char_fractions():
    repeated = "x" * 20
    at = "\n".join([repeated, repeated, "y" * 58])  # 100 chars, 20 in the repeat
    past = "\n".join([repeated, repeated, "y" * 57])  # 99 chars
    assert len(at) == 100
    assert gopher.dup_line_char_frac(units(at), GR) is None
    assert gopher.dup_line_char_frac(units(past), GR) == "gopher_repetition:dup_line_char_frac"
    at_para = "\n\n".join([repeated, repeated, "y" * 56])
    assert len(at_para) == 100
    assert gopher.dup_para_char_frac(units(at_para), GR) is None
    assert gopher.dup_para_char_frac(units(at_para[:-1]), GR) == "gopher_repetition:dup_para_char_frac"


def test_top_ngram_char_fraction():
    # "a b" twice: 2 * 2 characters; 16 or 15 more one-character words
    at = " ".join(["a", "b", "a", "b"] + DISTINCT[2:18])  # 4 / 20 = 0.2
    past = " ".join(["a", "b", "a", "b"] + DISTINCT[2:17])  # 4 / 19
    assert gopher.top_ngram_char_frac(units(at), GR) is None
    assert gopher.top_ngram_char_frac(units(past), GR) == "gopher_repetition:top_2gram_char_frac"
    only3 = GopherRepetitionConfig(max_top_ngram_char_frac={3: 0.2})
    at3 = " ".join(["a", "b", "c", "a", "b", "c"] + DISTINCT[3:27])  # 6 / 30
    assert gopher.top_ngram_char_frac(units(at3), only3) is None
    assert gopher.top_ngram_char_frac(units(at3.rsplit(" ", 1)[0]), only3) == "gopher_repetition:top_3gram_char_frac"
    # an n-gram seen once is not repetition, however short the text
    assert gopher.top_ngram_char_frac(units("just three words"), GR) is None


def test_duplicated_ngram_char_fraction():
    only5 = GopherRepetitionConfig(max_dup_ngram_char_frac={5: 0.25})
    five = ["a", "b", "c", "d", "e"]
    at = " ".join(five + DISTINCT[5:15] + five)  # 5 repeated characters / 20
    past = " ".join(five + DISTINCT[5:14] + five)  # 5 / 19
    assert gopher.dup_ngram_char_frac(units(at), only5) is None
    assert gopher.dup_ngram_char_frac(units(past), only5) == "gopher_repetition:dup_5gram_char_frac"
    # overlapping repeats count each word once: 7 x "x" -> the last 6 words are covered
    assert units(words(7, "x")).ngrams.repeated_chars(5) == 6
    # a repeated 6-gram covering 6/41 = 0.146 of the characters: under the 5-gram limit (0.15),
    # over the 6-gram limit (0.14)
    six = DISTINCT[:6]
    text = " ".join(six + DISTINCT[6:35] + six)
    assert gopher.dup_ngram_char_frac(units(text), GR) == "gopher_repetition:dup_6gram_char_frac"
    assert gopher.dup_ngram_char_frac(units(" ".join(DISTINCT)), GR) is None


def test_repetition_chinese_words(rule_book, jieba_segmenter):
    zh = rule_book.rules_for("zh").gopher_repetition
    good = units(GOOD_ZH, jieba_segmenter)
    assert [rule(good, zh) for rule in gopher.GOPHER_REPETITION_RULES] == [None] * 6
    spam = units("欢迎光临本店，" * 30, jieba_segmenter)
    assert gopher.top_ngram_char_frac(spam, zh) == "gopher_repetition:top_2gram_char_frac"


# --- C4 -----------------------------------------------------------------------------------

SENTENCE = "This is a complete sentence."


def test_c4_keeps_five_sentences_and_drops_the_fifth_missing():
    assert c4_clean("\n".join([SENTENCE] * 5), C4, str.split) == (None, "\n".join([SENTENCE] * 5))
    assert c4_clean("\n".join([SENTENCE] * 4), C4, str.split)[0] == "c4:too_few_sentences"
    one_line = "One is here. Two is here. Three is here. Four is here. Five is here."
    assert c4_clean(one_line, C4, str.split) == (None, one_line)


def test_c4_line_filters():
    body = [SENTENCE] * 5
    dropped = [
        "Home | About us",  # no terminal punctuation
        "Click here.",  # 2 words
        "It goes on and on...",  # ellipsis
        "Please enable JavaScript to view this page.",
        "This site uses cookies to improve your experience.",
        "Read our Privacy Policy for details.",
        "A word " + "w" * 1001 + " is too long.",
    ]
    reason, cleaned = c4_clean("\n".join(dropped + body), C4, str.split)
    assert reason is None and cleaned == "\n".join(body)
    kept = ["Click here now.", 'He said "yes."', "A word " + "w" * 1000 + " is fine."]
    assert c4_clean("\n".join(kept + body), C4, str.split) == (None, "\n".join(kept + body))


def test_c4_citations_are_stripped():
    reason, cleaned = c4_clean("\n".join(["Paris is the capital of France.[1]"] + [SENTENCE] * 4), C4, str.split)
    assert reason is None and cleaned.split("\n")[0] == "Paris is the capital of France."


def test_c4_page_filters():
    body = "\n".join([SENTENCE] * 5)
    assert c4_clean("Lorem ipsum dolor sit amet.\n" + body, C4, str.split)[0] == "c4:lorem_ipsum"
    assert c4_clean("Use the {braces} with care.\n" + body, C4, str.split)[0] == "c4:curly_bracket"
    # as in C4's code, the page filters look at lines that survived the line filters
    assert c4_clean("var x = {a: 1}\n" + body, C4, str.split)[0] is None
    no_c4_page_filters = C4Config(drop_lorem_ipsum=False, drop_curly_bracket=False)
    assert c4_clean("Lorem ipsum dolor sit amet.\n" + body, no_c4_page_filters, str.split)[0] is None


def test_c4_bad_words():
    cfg = C4Config(bad_words=("badword",))
    body = [SENTENCE] * 4
    assert c4_clean("\n".join(body + ["This has a BadWord in it."]), cfg, str.split)[0] == "c4:bad_words"
    assert c4_clean("\n".join(body + ["This has badwords in it."]), cfg, str.split)[0] is None
    assert c4_clean("\n".join(body + ["This has a badword in it."]), C4, str.split)[0] is None


def test_c4_chinese(rule_book, jieba_segmenter):
    zh = rule_book.rules_for("zh").c4
    five = "第一句话很短。第二句话也短！第三句话呢？第四句话在这；第五句话完了。"
    assert c4_clean(five, zh, jieba_segmenter) == (None, five)
    assert c4_clean(five[: five.index("第五")], zh, jieba_segmenter)[0] == "c4:too_few_sentences"
    reason, cleaned = c4_clean("首页 | 关于我们\n" + five, zh, jieba_segmenter)
    assert reason is None and cleaned == five
    # English C4 rules would keep no line of it
    assert c4_clean(five, C4, str.split)[0] == "c4:too_few_sentences"
    bad = C4Config(**{**zh.model_dump(), "bad_words": ("坏词",)})
    assert c4_clean(five + "这里有坏词语。", bad, jieba_segmenter)[0] == "c4:bad_words"


# --- FineWeb ------------------------------------------------------------------------------


def test_fineweb_line_punct_ratio():
    at = ["Ends with a stop."] * 3 + ["no stop here"] * 22  # 3/25 = 0.12
    past = ["Ends with a stop."] * 2 + ["no stop here"] * 15  # 2/17
    assert fineweb.line_punct_ratio(units("\n".join(at)), FW) is None
    assert fineweb.line_punct_ratio(units("\n".join(past)), FW) == "fineweb:line_punct_ratio"
    assert fineweb.line_punct_ratio(units("\n".join(["中文句子。"] * 2 + ["没有句号"] * 14)), FW) is None  # 2/16


def test_fineweb_short_line_ratio():
    short, long = "s" * 30, "l" * 31
    assert fineweb.short_line_ratio(units("\n".join([short] * 67 + [long] * 33)), FW) is None
    assert fineweb.short_line_ratio(units("\n".join([short] * 68 + [long] * 32)), FW) == "fineweb:short_line_ratio"


def test_fineweb_char_dup_ratio():
    repeated = "r" * 10
    at = "\n".join([repeated, repeated, "u" * 980])  # 10 / 1000 non-newline characters
    assert fineweb.char_dup_ratio(units(at), FW) is None
    assert fineweb.char_dup_ratio(units(at[:-1]), FW) == "fineweb:char_dup_ratio"


def test_fineweb_newline_ratio():
    assert fineweb.newline_ratio(units("w w w\nw w\nw w\nw w w"), FW) is None  # 3 / 10
    assert fineweb.newline_ratio(units("w w w\nw w\n\nw w\nw w w"), FW) == "fineweb:newline_ratio"  # 4 / 10


# --- families, languages, config ------------------------------------------------------------


def test_published_defaults():
    assert (GQ.min_words, GQ.max_words, GQ.min_mean_word_length, GQ.max_mean_word_length) == (50, 100_000, 3, 10)
    assert (GQ.max_hash_word_ratio, GQ.max_bullet_lines_ratio, GQ.max_ellipsis_lines_ratio) == (0.1, 0.9, 0.3)
    assert (GQ.min_alpha_words_ratio, GQ.min_stop_words) == (0.8, 2)
    assert GQ.stop_words == ("the", "be", "to", "of", "and", "that", "have", "with")
    assert (GR.max_dup_line_frac, GR.max_dup_para_frac, GR.max_dup_line_char_frac, GR.max_dup_para_char_frac) == (
        0.3,
        0.3,
        0.2,
        0.2,
    )
    assert GR.max_top_ngram_char_frac == {2: 0.2, 3: 0.18, 4: 0.16}
    assert GR.max_dup_ngram_char_frac == {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.1}
    assert (C4.min_words_per_line, C4.min_sentences, C4.max_word_length, C4.line_end_marks) == (3, 5, 1000, '.?!"')
    assert (FW.min_line_punct_ratio, FW.max_short_line_ratio, FW.short_line_length) == (0.12, 0.67, 30)
    assert (FW.max_char_dup_ratio, FW.max_newline_ratio) == (0.01, 0.3)


def test_rules_per_language(rule_book):
    assert rule_book.rules_for("en").gopher_quality.min_stop_words == 2
    assert rule_book.rules_for(None).segmenter == "whitespace"  # default_language en
    zh = rule_book.rules_for("zh")
    assert zh is rule_book.rules_for("zh-Hans") is rule_book.rules_for("zh_CN")
    assert (zh.segmenter, zh.gopher_quality.max_mean_word_length, zh.fineweb.min_line_punct_ratio) == (
        "jieba",
        5,
        0.106,
    )
    assert rule_book.rules_for("ja").segmenter == "script_runs"
    assert rule_book.rules_for("de").gopher_quality.stop_words[:3] == ("der", "und", "die")
    # a language without an entry keeps the thresholds but not the English word lists
    pl = rule_book.rules_for("pl")
    assert pl.gopher_quality.min_stop_words is None and pl.gopher_quality.min_words == 50


def test_language_entries_replace_only_their_language():
    cfg = HeuristicsConfig(languages={"zh": {"gopher_quality": {"min_words": 10}}, "pl": {"segmenter": "whitespace"}})
    assert cfg.rules_for("zh").gopher_quality.min_words == 10
    assert cfg.rules_for("zh").segmenter == "whitespace"  # the built-in zh entry was replaced
    assert cfg.rules_for("ja").segmenter == "script_runs"  # other built-in entries stay
    assert cfg.rules_for("pl").gopher_quality.min_stop_words == 2


def test_bad_language_entry_names_its_key():
    with pytest.raises(ValueError, match=r"stages\.heuristics\.languages\.zh\.gopher_quality"):
        HeuristicsConfig(languages={"zh": {"gopher_quality": {"min_wrds": 3}}})
    with pytest.raises(ValueError, match="segmenter"):
        HeuristicsConfig(languages={"zh": {"segmenter": "mecab"}})


def test_run_heuristics_order_switches_and_cleaning(jieba_segmenter):
    base = LanguageRules()
    english = RuleBook.build(base, "en", {}).for_language("en")
    reason, text = run_heuristics(BOILERPLATE + GOOD_EN, english, str.split)
    assert reason is None and text == GOOD_EN
    assert run_heuristics("Buy now!", english, str.split) == ("gopher_quality:word_count", "Buy now!")
    no_gopher = LanguageRules(gopher_quality={"enabled": False}, gopher_repetition={"enabled": False})
    assert run_heuristics("Buy now!", no_gopher, str.split)[0] == "c4:too_few_sentences"
    nothing = LanguageRules(
        **{family: {"enabled": False} for family in ("gopher_quality", "gopher_repetition", "c4", "fineweb")}
    )
    assert run_heuristics("Buy now!", nothing, str.split) == (None, "Buy now!")


def test_whole_documents_per_language(rule_book, jieba_segmenter):
    assert run_heuristics(GOOD_EN, rule_book.rules_for("en"), str.split) == (None, GOOD_EN)
    assert run_heuristics(GOOD_ZH, rule_book.rules_for("zh"), jieba_segmenter) == (None, GOOD_ZH)
    assert run_heuristics(GOOD_JA, rule_book.rules_for("ja"), script_run_tokens) == (None, GOOD_JA)
    assert run_heuristics(GOOD_ZH, rule_book.rules_for("en"), str.split)[0] == "gopher_quality:word_count"


# --- the stage ----------------------------------------------------------------------------


def test_heuristics_stage_on_dataframe(spark, stage_ctx):
    repeated = "\n".join(["Subscribe to our newsletter for the latest news."] * 8 + [GOOD_EN])
    rows = [
        ("a", "web", BOILERPLATE + GOOD_EN, "en"),
        ("b", "web", GOOD_EN + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.", "en"),
        ("c", "web", "Buy now!", "en"),
        ("d", "web", GOOD_ZH, "zh"),
        ("e", "web", GOOD_ZH, None),
        ("f", "web", repeated, "en"),
    ]
    # one partition: one Python worker loads jieba
    df = spark.createDataFrame(rows, "id string, source string, text string, lang string").coalesce(1)
    stage = HeuristicsStage()
    out = stage.apply(df, stage_ctx)
    got = {r["id"]: r for r in out.collect()}
    assert {key: row["reason"] for key, row in got.items()} == {
        "a": None,
        "b": "c4:lorem_ipsum",
        "c": "gopher_quality:word_count",
        "d": None,
        "e": "gopher_quality:word_count",  # no lang: the default language (en) applies
        "f": "gopher_repetition:dup_line_frac",
    }
    assert got["a"]["text"] == GOOD_EN and got["a"]["c4_chars_removed"] == len(BOILERPLATE)
    assert got["b"]["text"] == rows[1][2] and got["b"]["c4_chars_removed"] == 0  # rejects keep their text
    assert got["d"]["text"] == GOOD_ZH and got["d"]["c4_chars_removed"] == 0
    kept, rejected = out.filter("reason is null"), out.filter("reason is not null")
    assert stage.summarize(kept, rejected) == {
        "c4_chars_removed": len(BOILERPLATE),
        "chars_out": len(GOOD_EN) + len(GOOD_ZH),
    }


def test_heuristics_stage_without_lang_column(spark, stage_ctx):
    df = spark.createDataFrame([("a", "web", GOOD_ZH)], "id string, source string, text string").coalesce(1)
    out = HeuristicsStage(HeuristicsConfig(default_language="zh")).apply(df, stage_ctx)
    assert [r["reason"] for r in out.collect()] == [None]
