"""Heuristic rules (Gopher quality/repetition, C4, FineWeb) as signals and checks, the published
recipes per language, and the stage (scores once, decides again on a threshold change).

Each rule is checked at its threshold (kept) and just past it (rejected), on the definitions of
datatrove 0.10.1 (bench/bench_heuristics.py compares the two on real pages)."""

from __future__ import annotations

import gzip
import itertools
import json
import random
import re
import string

import numpy as np
import pytest
import yaml

from filters.c4 import C4Config, c4_checks, c4_scores
from filters.fineweb import FineWebConfig, fineweb_checks, fineweb_signals
from filters.gopher import (
    GopherQualityConfig,
    GopherRepetitionConfig,
    gopher_quality_checks,
    gopher_quality_signals,
    gopher_repetition_checks,
    gopher_repetition_signals,
)
from filters.heuristics import RECIPES, LanguageRules, decide, decide_columns, run_heuristics, score
from filters.text_units import (
    PUNCTUATION,
    TERMINAL_PUNCTUATION,
    Segmenter,
    TextUnits,
    count_sentences,
    make_segmenter,
    sentence_end_pattern,
)
from stages.heuristics import SIGNALS, HeuristicsConfig, HeuristicsStage
from tests.conftest import shared_data

GQ, GR, FW, C4 = GopherQualityConfig(), GopherRepetitionConfig(), FineWebConfig(), C4Config()
WS = make_segmenter("whitespace")
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
def spacy_en():
    return make_segmenter("spacy", "en")


@pytest.fixture(scope="module")
def rule_book():
    return HeuristicsConfig()


def units(text: str, segmenter: Segmenter = WS) -> TextUnits:
    return TextUnits(text, segmenter)


def words(n: int, word: str = "word") -> str:
    return " ".join([word] * n)


def failing(signals: dict, checks) -> list[str]:
    """Names of the checks that fail on these signals."""
    return [check.name for check in checks if check.failure(signals[check.signal]) is not None]


def quality(text: str, cfg: GopherQualityConfig = GQ, segmenter: Segmenter = WS) -> list[str]:
    return failing(gopher_quality_signals(units(text, segmenter), cfg), gopher_quality_checks(cfg))


def repetition(text: str, cfg: GopherRepetitionConfig = GR, segmenter: Segmenter = WS) -> list[str]:
    return failing(gopher_repetition_signals(units(text, segmenter), cfg), gopher_repetition_checks(cfg))


def fineweb(text: str, cfg: FineWebConfig = FW) -> list[str]:
    return failing(fineweb_signals(units(text), cfg), fineweb_checks(cfg))


def c4(text: str, cfg: C4Config = C4, segmenter: Segmenter = WS) -> tuple[list[str], str]:
    signals, cleaned = c4_scores(text, cfg, segmenter)
    return failing(signals, c4_checks(cfg)), cleaned


# --- text units ---------------------------------------------------------------------------


def test_units_follow_each_family_definition():
    u = units("  First line, here.  \n\n\n- second (line)\n \nthird -- «word»\n")
    assert u.physical_lines == ["  First line, here.  ", "", "", "- second (line)", " ", "third -- «word»"]
    assert u.line_runs == ["  First line, here.  ", "- second (line)", " ", "third -- «word»", ""]
    assert u.paragraphs == ["First line, here.  ", "- second (line)\n \nthird -- «word»"]  # the text is stripped
    assert u.nonblank_lines == ["  First line, here.  ", "- second (line)", "third -- «word»"]
    assert u.tokens == ["First", "line,", "here.", "-", "second", "(line)", "third", "--", "«word»"]
    assert u.words == ["First", "line,", "here.", "second", "(line)", "third", "«word»"]  # "-", "--": symbols


def test_punctuation_sets_are_datatroves():
    assert len(TERMINAL_PUNCTUATION) == 159 and {".", "!", "?", "。", "！", "？", "।", "؟", "\u17d6"} <= set(
        TERMINAL_PUNCTUATION
    )
    assert "\u2024" not in TERMINAL_PUNCTUATION and "\U00011f43" in TERMINAL_PUNCTUATION
    assert {"«", "»", "—", "…", "１", "\x01", "#"} <= PUNCTUATION and not {"\t", "\n", "a", "1", "•"} & PUNCTUATION


def test_segmenters(jieba_segmenter, spacy_en):
    assert jieba_segmenter.tokens("我们在2020年使用了 Python 和 Spark。") == [
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
    assert jieba_segmenter.line_words("我们使用了 Spark。") == ["我们", "使用", "了", "Spark"]
    script_runs = make_segmenter("script_runs")
    assert script_runs.tokens("私は日本語を勉強しています。Sparkを使う") == [
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
    # spaCy's English rules split punctuation and contractions off, as datatrove's tokens
    assert spacy_en.tokens("Hello, world.\n\nWe don't stop.") == [
        "Hello",
        ",",
        "world",
        ".",
        "We",
        "do",
        "n't",
        "stop",
        ".",
    ]
    assert spacy_en.sentences("One here. Two here! e.g. this") == 3
    assert make_segmenter("spacy", "zz").tokens("a b") == ["a", "b"]  # a language spaCy lacks: its xx rules


def test_spacy_segmenter_refreshes_its_pipeline_without_changing_tokens():
    segmenter = make_segmenter("spacy", "en")
    from filters.text_units import load_spacy_segmenter

    small = load_spacy_segmenter("en", refresh_after=2)
    texts = [GOOD_EN, BOILERPLATE, GOOD_EN, "Don't stop.", GOOD_EN]
    assert [small.tokens(text) for text in texts] == [segmenter.tokens(text) for text in texts]


def test_sentence_counting_latin_and_cjk():
    latin = sentence_end_pattern(".?!")
    assert count_sentences("One here. Two here! Three? Version 3.11 is out.", latin) == 4
    assert count_sentences('He said "stop." Then left.', latin) == 2
    assert count_sentences("no end mark", latin) == 1
    cjk = sentence_end_pattern(".?!。！？；")
    assert count_sentences("第一句。第二句！第三句？第四句；Fifth one.", cjk) == 5


# --- Gopher quality -------------------------------------------------------------------------


def test_word_count_bounds():
    assert "word_count" not in quality(words(50))
    assert "word_count" in quality(words(49))
    assert "word_count" not in quality(words(100_000, "abc"))
    assert "word_count" in quality(words(100_001, "abc"))
    # tokens made only of punctuation are not words
    assert "word_count" in quality(words(49) + " - | ...")


def test_mean_word_length_bounds():
    assert "mean_word_length" not in quality(words(50, "abc"))
    assert "mean_word_length" in quality(words(49, "abc") + " ab")
    assert "mean_word_length" not in quality(words(50, "abcdefghij"))
    assert "mean_word_length" in quality(words(49, "abcdefghij") + " abcdefghijk")
    # a white-space token keeps its punctuation, as the word it is (spaCy would split it off)
    assert gopher_quality_signals(units("(abc), (abc),"), GQ)["mean_word_length"] == 6


def test_hash_and_ellipsis_ratios_per_token():
    assert "hash_word_ratio" not in quality(words(90, "alpha") + " " + words(10, "alpha#"))
    assert "hash_word_ratio" in quality(words(89, "alpha") + " " + words(11, "alpha#"))
    assert "ellipsis_word_ratio" not in quality(words(90, "alpha") + " " + words(10, "alpha..."))
    assert "ellipsis_word_ratio" in quality(words(89, "alpha") + " " + words(11, "alpha…"))


def test_bullet_and_ellipsis_lines_count_blank_lines():
    bullets = ["• item one", "- item two", "  - item three"] * 3
    assert "bullet_lines" not in quality("\n".join(bullets + ["plain line"]))  # 9/10
    assert "bullet_lines" in quality("\n".join(bullets + ["- more", "plain line"]))  # 10/11
    assert "bullet_lines" not in quality("\n".join(["* star", "► arrow"] * 5))  # datatrove's bullets: • and -
    assert "bullet_lines" not in quality("\n\n".join(bullets))  # the 8 blank lines count: 9/17
    ending = ["it goes on...", "and on…", "and on...  "]
    assert "ellipsis_lines" not in quality("\n".join(ending + ["done."] * 7))  # 3/10
    assert "ellipsis_lines" in quality("\n".join(ending + ["more..."] + ["done."] * 9))  # 4/13


def test_alpha_ratio_counts_every_token():
    assert "alpha_words" not in quality(words(8) + " 123 |")  # 8/10
    assert "alpha_words" in quality(words(79) + " " + words(21, "2024"))
    signals = gopher_quality_signals(units("Hello, world.", make_segmenter("spacy", "en")), GQ)
    assert signals["alpha_words_ratio"] == 0.5  # spaCy: Hello , world . -> 2 of 4


def test_stop_words_are_tokens_matched_case_sensitively():
    assert gopher_quality_signals(units("The cat and the dog."), GQ)["stop_words"] == 2
    assert gopher_quality_signals(units("The cat, the dog. THE END"), GQ)["stop_words"] == 1
    assert gopher_quality_signals(units("to the, end"), GQ)["stop_words"] == 1  # "the," is not "the"


def test_gopher_quality_chinese_rules(rule_book, jieba_segmenter):
    zh = rule_book.rules_for("zh").gopher_quality
    assert "word_count" not in quality("北京，" * 50, zh, jieba_segmenter)
    assert "word_count" in quality("北京，" * 49, zh, jieba_segmenter)
    assert "mean_word_length" in quality("中华人民共和国。" * 60, zh, jieba_segmenter)  # 7 > 5 characters
    assert gopher_quality_signals(units("北京的天气在变化。", jieba_segmenter), zh)["stop_words"] == 2  # 的, 在
    assert quality(GOOD_ZH * 2, zh, jieba_segmenter) == []
    assert "word_count" in quality(GOOD_ZH)  # English rules: no spaces, a handful of "words"


# --- Gopher repetition ----------------------------------------------------------------------


def test_duplicate_line_and_paragraph_fractions():
    unique = [f"line number {i}" for i in range(8)]
    at = unique[:6] + ["dup"] * 4  # 10 lines, 3 repeat an earlier line: 0.3
    past = unique + ["dup"] * 5  # 13 lines, 4 repeats: 0.31
    assert "dup_line_frac" not in repetition("\n".join(at))
    assert "dup_line_frac" in repetition("\n".join(past))
    assert "dup_para_frac" not in repetition("\n\n".join(at))
    assert "dup_para_frac" in repetition("\n\n".join(past))
    assert gopher_repetition_signals(units("\n".join(past)), GR)["dup_para_frac"] == 0  # one paragraph
    # lines are runs between newlines, not stripped: a trailing newline adds an empty line
    assert units("a\nb\n").line_runs == ["a", "b", ""]


def test_duplicate_char_fractions_divide_by_the_text():
    repeated = "x" * 20
    at = "\n".join([repeated, repeated, "y" * 58])  # 100 chars, 20 in the repeat
    assert len(at) == 100
    assert "dup_line_char_frac" not in repetition(at)
    assert "dup_line_char_frac" in repetition(at[:-1])
    at_para = "\n\n".join([repeated, repeated, "y" * 56])
    assert len(at_para) == 100
    assert "dup_para_char_frac" not in repetition(at_para)
    assert "dup_para_char_frac" in repetition(at_para[:-1])


def test_top_ngram_counts_its_spaces_and_the_whole_text():
    # "a b" twice: 2 x len("a b") = 6 characters of the text
    at = " ".join(["a", "b", "a", "b"] + DISTINCT[2:14])  # 31 chars: 0.194
    assert len(at) == 31 and "top_2gram_char_frac" not in repetition(at)
    assert "top_2gram_char_frac" in repetition(" ".join(["a", "b", "a", "b"] + DISTINCT[2:13]))  # 6/29
    # as datatrove: of equally frequent n-grams the first seen counts, even when it occurs once
    assert gopher_repetition_signals(units("ab cd ef"), GR)["top_2gram_char_frac"] == 5 / 8


def datatrove_repeated_chars(tokens: list[str], n: int) -> int:
    """datatrove 0.10.1's find_all_duplicate, transcribed as the oracle."""
    unique, repeated, idx = set(), 0, 0
    while idx < len(tokens) - n + 1:
        ngram = tuple(tokens[idx : idx + n])
        if ngram in unique:
            repeated += sum(map(len, ngram))
            idx += n
        else:
            unique.add(ngram)
            idx += 1
    return repeated


def test_duplicated_ngrams_follow_datatroves_scan():
    rng = random.Random(7)
    for _ in range(300):
        tokens = [rng.choice("abcde") * rng.randint(1, 3) for _ in range(rng.randint(0, 60))]
        for n in (1, 2, 3, 5, 7):
            assert units(" ".join(tokens)).ngrams.repeated_chars(n) == datatrove_repeated_chars(tokens, n)
    five = ["a", "b", "c", "d", "e"]
    only5 = GopherRepetitionConfig(max_dup_ngram_char_frac={5: 0.1})
    at = " ".join(five + DISTINCT[5:19] + ["tt"] + five)  # 5 repeated characters of 50
    assert len(at) == 50 and "dup_5gram_char_frac" not in repetition(at, only5)
    assert "dup_5gram_char_frac" in repetition(" ".join(five + DISTINCT[5:19] + five), only5)  # 5/47


def test_repetition_chinese_words(rule_book, jieba_segmenter):
    zh = rule_book.rules_for("zh").gopher_repetition
    assert repetition(GOOD_ZH, zh, jieba_segmenter) == []
    assert "top_2gram_char_frac" in repetition("欢迎光临本店，" * 30, zh, jieba_segmenter)


# --- C4 -----------------------------------------------------------------------------------

SENTENCE = "This is a complete sentence."


def test_c4_sentences_and_cleaning():
    assert c4("\n".join([SENTENCE] * 5)) == ([], "\n".join([SENTENCE] * 5))
    assert c4("\n".join([SENTENCE] * 4))[0] == ["too_few_sentences"]
    one_line = "One is here. Two is here. Three is here. Four is here. Five is here."
    assert c4(one_line) == ([], one_line)


def test_c4_line_rules():
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
    assert c4("\n".join(dropped + body)) == ([], "\n".join(body))
    kept = ["Click here now.", 'He said "yes."', "A word " + "w" * 1000 + " is fine."]
    assert c4("\n".join(kept + body)) == ([], "\n".join(kept + body))
    # FineWeb's C4 keeps lines without terminal punctuation (datatrove's filter_no_terminal_punct=False)
    fineweb_c4 = C4Config(drop_unterminated_lines=False)
    assert c4("\n".join(dropped[:1] + dropped[2:3] + body), fineweb_c4)[1] == "\n".join(
        dropped[:1] + dropped[2:3] + body
    )


def test_c4_citations_are_removed_and_words_counted_before():
    assert c4("\n".join(["Paris is the capital of France.[1]"] + [SENTENCE] * 4))[1].split("\n")[0] == (
        "Paris is the capital of France."
    )
    assert c4("\n".join(["See [1] [2]."] + [SENTENCE] * 5))[1].split("\n")[0] == "See  ."  # 3 words before


def test_c4_page_rules_are_signals():
    body = "\n".join([SENTENCE] * 5)
    signals, cleaned = c4_scores("Lorem ipsum dolor sit amet.\n" + body, C4, WS)
    assert signals["lorem_ipsum"] == 1 and cleaned.startswith("Lorem ipsum")  # cleaned as if the rule were off
    assert c4("Lorem ipsum dolor sit amet.\n" + body)[0] == ["lorem_ipsum"]
    assert c4("Use the {braces} with care.\n" + body)[0] == ["curly_bracket"]
    # as in C4's code, the page rules look at lines that survived the line rules
    assert c4("var x = {a: 1}\n" + body)[0] == []
    assert c4("Enable javascript {now} please.\n" + body)[0] == []  # a javascript line goes before its bracket
    off = C4Config(drop_lorem_ipsum=False, drop_curly_bracket=False)
    assert c4("Lorem ipsum dolor sit amet.\n" + body, off)[0] == []


def test_c4_bad_words():
    cfg = C4Config(bad_words=("badword",))
    body = [SENTENCE] * 4
    assert c4("\n".join(body + ["This has a BadWord in it."]), cfg)[0] == ["bad_words"]
    assert c4("\n".join(body + ["This has badwords in it."]), cfg)[0] == []
    assert c4("\n".join(body + ["This has a badword in it."]))[0] == []


def test_c4_chinese_adaptation(rule_book, jieba_segmenter):
    zh = rule_book.rules_for("zh").c4
    five = "第一句话很短。第二句话也短！第三句话呢？第四句话在这；第五句话完了。"
    assert c4(five, zh, jieba_segmenter) == ([], five)
    assert c4(five[: five.index("第五")], zh, jieba_segmenter)[0] == ["too_few_sentences"]
    assert c4("首页 | 关于我们\n" + five, zh, jieba_segmenter) == ([], five)
    assert c4(five)[0] == ["too_few_sentences"]  # English C4 keeps no line of it


def test_c4_sentences_with_spacy_sentencizer(spacy_en):
    line = "It costs 3.5 dollars, e.g. in Paris. Really!"
    assert c4_scores(line, C4Config(min_words_per_line=1), spacy_en)[0]["sentences"] == 2
    assert c4_scores(line, C4Config(min_words_per_line=1), WS)[0]["sentences"] == 3  # the regex: "e.g." ends one


# --- FineWeb ------------------------------------------------------------------------------


def test_fineweb_line_punct_ratio_on_unstripped_lines():
    at = ["Ends with a stop."] * 3 + ["no stop here"] * 22  # 3/25 = 0.12
    past = ["Ends with a stop."] * 2 + ["no stop here"] * 15  # 2/17
    assert "line_punct_ratio" not in fineweb("\n".join(at))
    assert "line_punct_ratio" in fineweb("\n".join(past))
    assert "line_punct_ratio" not in fineweb("\n".join(["中文句子。"] * 2 + ["没有句号"] * 14))  # 2/16
    assert fineweb_signals(units("Ends here. \nno"), FW)["line_punct_ratio"] == 0  # a trailing space hides the stop


def test_fineweb_short_line_ratio():
    short, long = "s" * 30, "l" * 31
    assert "short_line_ratio" not in fineweb("\n".join([short] * 67 + [long] * 33))
    assert "short_line_ratio" in fineweb("\n".join([short] * 68 + [long] * 32))


def test_fineweb_char_dup_ratio():
    repeated = "r" * 10
    at = "\n".join([repeated, repeated, "u" * 980])  # 10 / 1000 non-newline characters
    assert "char_dup_ratio" not in fineweb(at)
    assert "char_dup_ratio" in fineweb(at[:-1])


def test_fineweb_newline_ratio():
    assert "newline_ratio" not in fineweb("w w w\nw w\nw w\nw w w")  # 3 / 10
    assert "newline_ratio" in fineweb("w w w\nw w\n\nw w\nw w w")  # 4 / 10


# --- recipes, languages, config ---------------------------------------------------------------


def test_published_defaults():
    assert (GQ.min_words, GQ.max_words, GQ.min_mean_word_length, GQ.max_mean_word_length) == (50, 100_000, 3, 10)
    assert (GQ.max_hash_word_ratio, GQ.max_bullet_lines_ratio, GQ.max_ellipsis_lines_ratio) == (0.1, 0.9, 0.3)
    assert (GQ.min_alpha_words_ratio, GQ.min_stop_words, GQ.bullets) == (0.8, 2, "•-")
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
    assert C4.drop_unterminated_lines
    assert (FW.min_line_punct_ratio, FW.max_short_line_ratio, FW.short_line_length) == (0.12, 0.67, 30)
    assert (FW.max_char_dup_ratio, FW.max_newline_ratio) == (0.01, 0.3)


def test_recipes_reproduce_their_sources_in_order_and_parameters():
    assert RECIPES["fineweb"].steps == ("gopher_repetition", "gopher_quality", "c4", "fineweb")
    assert RECIPES["fineweb2"].steps == ("gopher_repetition", "fineweb", "gopher_quality")
    assert (RECIPES["c4"].steps, RECIPES["gopher"].steps) == (("c4",), ("gopher_quality", "gopher_repetition"))
    fineweb_rules = HeuristicsConfig().rules_for("en")
    assert fineweb_rules.recipe == "fineweb" and not fineweb_rules.c4.drop_unterminated_lines
    assert HeuristicsConfig(recipe="c4").rules_for("en").c4.drop_unterminated_lines  # the original C4
    zh = HeuristicsConfig().rules_for("zh")
    assert (zh.recipe, zh.steps()) == ("fineweb2", ("gopher_repetition", "fineweb", "gopher_quality"))
    assert (zh.fineweb.max_char_dup_ratio, zh.fineweb.max_short_line_ratio) == (0.1, None)
    rep = zh.gopher_repetition
    assert (rep.max_dup_para_frac, rep.max_dup_para_char_frac, rep.max_dup_line_char_frac) == (None, None, None)
    assert (rep.max_dup_line_frac, zh.fineweb.min_line_punct_ratio, zh.gopher_quality.max_mean_word_length) == (
        0.287,
        0.106,
        5,
    )


def test_fineweb_judges_the_lines_c4_keeps_without_terminal_punctuation():
    """FineWeb's C4 step keeps lines without terminal punctuation, so its own line-punctuation rule
    sees a page of menu lines and rejects it (C4's full cleaning first would leave only sentences)."""
    menu = "\n".join(" ".join(f"{word}{i}" for word in ("news", "sport", "media", "shop")) for i in range(60))
    page = menu + "\n" + GOOD_EN
    fineweb_rules = HeuristicsConfig().rules_for("en")
    assert decide(score(page, fineweb_rules, WS).signals, fineweb_rules) == (
        "fineweb:line_punct_ratio",
        "line_punct_ratio 0.09091 < 0.12",  # 6 of 66 lines
    )
    full_c4_first = fineweb_rules.model_copy(update={"c4": C4Config()})
    assert run_heuristics(page, full_c4_first, WS) == (None, GOOD_EN)


def test_rules_per_language(rule_book):
    assert rule_book.rules_for("en").gopher_quality.min_stop_words == 2
    assert rule_book.rules_for(None).segmenter == "whitespace"  # default_language en
    zh = rule_book.rules_for("zh")
    assert zh is rule_book.rules_for("zh-Hans") is rule_book.rules_for("zh_CN")
    assert zh.segmenter == "jieba" and rule_book.rules_for("ja").segmenter == "script_runs"
    assert rule_book.rules_for("de").gopher_quality.stop_words[:3] == ("der", "und", "die")
    # a language without an entry keeps the recipe and thresholds but not the English word lists
    pl = rule_book.rules_for("pl")
    assert (pl.recipe, pl.gopher_quality.min_stop_words, pl.gopher_quality.min_words) == ("fineweb", None, 50)


def test_settings_apply_in_order_top_level_recipe_entry():
    cfg = HeuristicsConfig(
        segmenter="spacy",
        fineweb={"max_char_dup_ratio": 0.05},
        gopher_quality={"min_words": 20},
        languages={"zh": {"gopher_quality": {"min_words": 10}}, "pl": {"recipe": "c4"}},
    )
    assert cfg.rules_for("en").fineweb.max_char_dup_ratio == 0.05 and cfg.rules_for("en").segmenter == "spacy"
    assert cfg.rules_for("de").gopher_quality.min_words == 20  # a top-level setting is for every language
    assert cfg.rules_for("de").fineweb.max_char_dup_ratio == 0.1  # but the recipe's own settings make it
    assert cfg.rules_for("zh").gopher_quality.min_words == 10  # the entry last
    assert cfg.rules_for("zh").segmenter == "spacy"  # the built-in zh entry (jieba) was replaced
    assert cfg.rules_for("ja").segmenter == "script_runs"  # other built-in entries stay
    assert cfg.rules_for("pl").steps() == ("c4",)
    # the full C4 cleaning for English under the fineweb recipe: in its language entry
    full_c4 = HeuristicsConfig(languages={"en": {"c4": {"drop_unterminated_lines": True}}})
    assert full_c4.rules_for("en").c4.drop_unterminated_lines and full_c4.rules_for("en").recipe == "fineweb"


def test_a_printed_default_config_loads_as_the_defaults():
    """`corpus stages` prints every field with its default: loaded back, the rules are the defaults'."""
    printed = json.loads(HeuristicsConfig().model_dump_json(exclude={"languages"}))
    assert HeuristicsConfig(**printed).rule_book == HeuristicsConfig().rule_book
    assert HeuristicsConfig(**{**printed, "recipe": "c4"}).rules_for("en").c4.drop_unterminated_lines


def test_bad_settings_name_their_key():
    with pytest.raises(ValueError, match=r"stages\.heuristics\.languages\.zh\.gopher_quality"):
        HeuristicsConfig(languages={"zh": {"gopher_quality": {"min_wrds": 3}}})
    with pytest.raises(ValueError, match="segmenter"):
        HeuristicsConfig(languages={"zh": {"segmenter": "mecab"}})
    with pytest.raises(ValueError, match="recipe"):
        HeuristicsConfig(recipe="refinedweb")
    # a top-level setting the recipe overrides would be ignored: one error names it and the way out
    with pytest.raises(ValueError, match=r"stages\.heuristics\.fineweb\.max_char_dup_ratio: the fineweb2 recipe"):
        HeuristicsConfig(recipe="fineweb2", fineweb={"max_char_dup_ratio": 0.05})


def test_scoring_settings_leave_thresholds_out():
    base = HeuristicsStage(HeuristicsConfig()).scoring_config()
    assert HeuristicsStage(HeuristicsConfig(fineweb={"min_line_punct_ratio": 0.2})).scoring_config() == base
    assert HeuristicsStage(HeuristicsConfig(c4={"min_sentences": 3})).scoring_config() == base
    assert HeuristicsStage(HeuristicsConfig(fineweb={"short_line_length": 20})).scoring_config() != base
    assert HeuristicsStage(HeuristicsConfig(recipe="gopher")).scoring_config() != base
    assert HeuristicsStage(HeuristicsConfig(segmenter="spacy")).scoring_config() != base


def test_decisions_apply_thresholds_to_signals_without_rescoring():
    rules = HeuristicsConfig().rules_for("en")
    signals = score(GOOD_EN, rules, WS).signals
    assert signals["gopher_quality"]["word_count"] == 96 and decide(signals, rules) is None
    stricter = HeuristicsConfig(gopher_quality={"min_words": 100}).rules_for("en")
    assert decide(signals, stricter) == ("gopher_quality:word_count", "word_count 96 < 100")
    # C4 cleaning of the fineweb recipe: the cookie line goes (policy), the menu line stays (3+ words)
    page = BOILERPLATE + GOOD_EN
    assert run_heuristics(page, rules, WS) == (None, page.replace(BOILERPLATE.split("\n")[1] + "\n", ""))


def test_whole_documents_per_language(rule_book, jieba_segmenter):
    script_runs = make_segmenter("script_runs")
    relaxed = HeuristicsConfig(gopher_quality={"min_words": 10})
    assert run_heuristics(GOOD_EN, rule_book.rules_for("en"), WS) == (None, GOOD_EN)
    assert run_heuristics(GOOD_ZH, relaxed.rules_for("zh"), jieba_segmenter) == (None, GOOD_ZH)
    assert run_heuristics(GOOD_JA, relaxed.rules_for("ja"), script_runs) == (None, GOOD_JA)
    # English rules on Chinese: a few long white-space "words"; the recipe's first step already rejects
    # (datatrove's top n-gram counts the first bigram even when it occurs once)
    assert run_heuristics(GOOD_ZH, rule_book.rules_for("en"), WS)[0] == "gopher_repetition:top_2gram_char_frac"


def test_family_switch_removes_its_step():
    rules = LanguageRules(gopher_quality={"enabled": False}, gopher_repetition={"enabled": False})
    assert rules.steps() == ("c4", "fineweb")
    assert run_heuristics("Buy now!", rules, WS)[0] == "c4:too_few_sentences"


# --- the stage ----------------------------------------------------------------------------


def test_stage_scores_then_decides_like_the_pure_functions(spark, stage_ctx, jieba_segmenter):
    repeated = "\n".join(["Subscribe to our newsletter for the latest news."] * 8 + [GOOD_EN])
    rows = [
        ("a", "web", BOILERPLATE + GOOD_EN, "en"),
        ("b", "web", GOOD_EN + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.", "en"),
        ("c", "web", "Buy now!", "en"),
        ("d", "web", GOOD_ZH * 3, "zh"),
        ("e", "web", GOOD_ZH, None),
        ("f", "web", repeated, "en"),
    ]
    # one partition: one Python worker loads jieba
    df = spark.createDataFrame(rows, "id string, source string, text string, lang string").coalesce(1)
    config = HeuristicsConfig()
    stage = HeuristicsStage(config)
    out = stage.apply(df, stage_ctx)
    got = {r["id"]: r for r in out.collect()}
    segmenters = {"en": WS, "zh": jieba_segmenter}
    for doc_id, _, text, lang in rows:
        expected = run_heuristics(text, config.rules_for(lang), segmenters[lang or "en"])
        assert (got[doc_id]["reason"], got[doc_id]["text"]) == expected, doc_id
        assert (got[doc_id]["detail"] is None) == (expected[0] is None)
        assert got[doc_id]["c4_chars_removed"] == len(text) - len(expected[1])
    assert got["b"]["reason"] == "c4:lorem_ipsum" and got["b"]["detail"] == "lorem_ipsum 1 > 0"
    assert got["f"]["reason"] == "gopher_repetition:dup_line_frac" and got["a"]["reason"] is None
    assert got["a"]["text"] != rows[0][2] and got["a"]["c4_chars_removed"] > 0  # C4 line cleaning
    signals = score(rows[0][2], config.rules_for("en"), WS).signals
    assert got["a"][SIGNALS]["fineweb"].asDict() == signals["fineweb"]
    assert got["d"][SIGNALS]["c4"] is None and got["d"][SIGNALS]["fineweb"] is not None  # FineWeb-2: no C4
    assert "heuristics_cleaned_text" not in out.columns
    kept, rejected = out.filter("reason is null"), out.filter("reason is not null")
    summary = stage.summarize(kept, rejected)
    assert summary["chars_out"] == sum(len(r["text"]) for r in got.values() if r["reason"] is None)
    assert summary["recipes"]["en"] == "fineweb" and summary["recipes"]["zh"] == "fineweb2"


def test_stage_without_lang_column(spark, stage_ctx):
    df = spark.createDataFrame([("a", "web", GOOD_ZH)], "id string, source string, text string").coalesce(1)
    relaxed = {"gopher_quality": {"min_words": 10}}
    out = HeuristicsStage(HeuristicsConfig(default_language="zh", **relaxed)).apply(df, stage_ctx)
    assert [r["reason"] for r in out.collect()] == [None]  # the zh rules (jieba); the en rules would reject it


def _stage_config(path, pages, heuristics: dict) -> str:
    path.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(path.parent / "unused"), "partitions": 4},
                "sources": [{"name": "web", "format": "jsonl", "paths": [str(pages)]}],
                "stages": {"heuristics": heuristics},
            }
        )
    )
    return str(path)


def test_a_threshold_change_reapplies_the_decision_without_rescoring(spark, tmp_path, capsys):
    """`corpus stage heuristics` on real pages: the second run with one threshold changed reuses the
    scores, takes a fraction of the first run's time and writes what a fresh run with that threshold does."""
    from pipeline.cli import main

    pages = tmp_path / "pages.jsonl"
    with gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt", encoding="utf-8") as lines:
        pages.write_text("".join(next(lines) for _ in range(120)), encoding="utf-8")
    scored = {"segmenter": "spacy"}  # datatrove's tokens: the costly part a threshold change must not redo
    first = _stage_config(tmp_path / "a.yaml", pages, scored)
    changed = _stage_config(tmp_path / "b.yaml", pages, {**scored, "fineweb": {"min_line_punct_ratio": 0.3}})
    out, fresh = tmp_path / "out", tmp_path / "fresh"

    def run(config: str, output) -> dict:
        assert main(["stage", "heuristics", "--config", config, "--input", str(pages), "--output", str(output)]) == 0
        return json.loads((output / "stats.json").read_text())

    before = run(first, out)
    capsys.readouterr()
    after = main(
        [
            "stage",
            "heuristics",
            "--config",
            changed,
            "--input",
            str(pages),
            "--output",
            str(out),
            "--show-rejects",
            "200",
        ]
    )
    assert after == 0
    after = json.loads((out / "stats.json").read_text())
    printed = capsys.readouterr().out
    assert before["scores"]["skipped"] is False and after["scores"]["skipped"] is True
    assert after["elapsed_s"] < 0.8 * before["elapsed_s"], (before["elapsed_s"], after["elapsed_s"])
    assert after["reasons"]["fineweb:line_punct_ratio"] > before["reasons"].get("fineweb:line_punct_ratio", 0)
    assert "fineweb:line_punct_ratio  (line_punct_ratio " in printed and " < 0.3)" in printed

    assert run(changed, fresh)["scores"]["skipped"] is False
    for folder in ("data", "rejects"):
        resumed = spark.read.parquet(str(out / folder)).orderBy("id").collect()
        assert resumed == spark.read.parquet(str(fresh / folder)).orderBy("id").collect()


DETAIL_SHAPE = re.compile(r"(?P<signal>\w+) (?P<value>\S+) [<>] (?P<limit>\S+)")


def test_a_detail_is_a_signal_against_its_threshold_and_never_quotes_the_text(rule_book):
    """The stage publishes its rejects' `detail` without the pii engine (`details_quote_text = False`): every
    detail any recipe can give is a signal name and two numbers, here on real pages and at every check."""
    assert HeuristicsStage.details_quote_text is False
    recipes = {**rule_book.rule_book.all_rules(), "code": LanguageRules(recipe="code")}
    for lang, rules in recipes.items():
        signals = {name for names in rules.signal_names().values() for name in names}
        for family, check in rules.checks():
            for value in (-1e9, -0.5, 0.0, 0.5, 1e9, float("inf")):
                detail = check.failure(value)
                if detail is not None:
                    shape = DETAIL_SHAPE.fullmatch(detail)
                    assert shape and shape["signal"] == check.signal in signals, (lang, family, detail)
                    float(shape["value"]), float(shape["limit"])
    with gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt", encoding="utf-8") as lines:
        pages = [json.loads(next(lines))["text"] for _ in range(300)]
    en = rule_book.rules_for("en")
    en_signals = {name for names in en.signal_names().values() for name in names}
    rejected = [failed[1] for failed in (decide(score(page, en, WS).signals, en) for page in pages) if failed]
    assert len(rejected) > 50
    for detail in rejected:
        shape = DETAIL_SHAPE.fullmatch(detail)
        assert shape and shape["signal"] in en_signals, detail
        float(shape["value"]), float(shape["limit"])


def test_deciding_columns_at_once_gives_each_documents_decision(rule_book):
    """``decide_columns`` (the stage's: thresholds as arrays, per language) against ``decide`` on real pages in
    five languages, with rows whose families are all missing (NaN signals) mixed in."""
    docs = []
    with gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt", encoding="utf-8") as lines:
        docs += [("en", json.loads(next(lines))["text"]) for _ in range(200)]
    for lang, name in (("de", "de-DE"), ("fr", "fr-FR"), ("zh", "zh-CN"), ("ru", "ru-RU")):
        with gzip.open(shared_data("handbook", f"{name}.jsonl.gz"), "rt", encoding="utf-8") as lines:
            docs += [(lang, json.loads(line)["text"]) for line in itertools.islice(lines, 40)]
    signals = []
    for lang, text in docs:
        rules = rule_book.rules_for(lang)
        signals.append(score(text, rules, make_segmenter(rules.segmenter, lang)).signals)
    docs.append(("en", "")), signals.append({})
    names = sorted({f"{f}.{s}" for rules in rule_book.rule_book.all_rules().values() for f, s in _signal_keys(rules)})
    columns = {
        name: np.array([(sig.get(name.split(".")[0]) or {}).get(name.split(".")[1], np.nan) for sig in signals])
        for name in names
    }
    langs = [lang for lang, _ in docs]
    reasons, details = decide_columns(langs, columns, rule_book.rules_for)
    expected = [decide(sig, rule_book.rules_for(lang)) for lang, sig in zip(langs, signals)]
    assert list(zip(reasons, details)) == [e or (None, None) for e in expected]
    assert 30 < sum(e is not None for e in expected) < len(expected) - 30


def _signal_keys(rules: LanguageRules) -> list[tuple[str, str]]:
    return [(family, signal) for family, signals in rules.signal_names().items() for signal in signals]
