import dataclasses
import json
import random
from collections import Counter

import pytest

from core.errors import ConfigError
from filters.dedup_text import (
    build_eval_ngrams,
    contaminated_spans,
    cut_spans,
    doc_order_key,
    normalize_unit,
    read_eval_texts,
    remove_windows,
    split_units,
    window_hashes,
)
from filters.minhash import jaccard, shingle_hashes
from stages.decontaminate import DecontaminateConfig, DecontaminateStage
from stages.dedup_minhash import DedupMinhashConfig, DedupMinhashStage, connected_components
from stages.dedup_sentence import CHARS_REMOVED, DedupSentenceConfig, DedupSentenceStage

SCHEMA = "id string, source string, text string"


def words(seed, count):
    rng = random.Random(seed)
    return [f"w{rng.randrange(100000)}" for _ in range(count)]


# ---- filters ------------------------------------------------------------------------


def test_split_units_latin_chinese_and_lines():
    text = "Hello world. This is it! Really? Yes.\n第一句。第二句！第三句？最后\nline two"
    assert [text[s:e] for s, e in split_units(text, "sentences")] == [
        "Hello world. ",
        "This is it! ",
        "Really? ",
        "Yes.\n",
        "第一句。",
        "第二句！",
        "第三句？",
        "最后\n",
        "line two",
    ]
    assert [text[s:e] for s, e in split_units(text, "lines")] == [
        "Hello world. This is it! Really? Yes.\n",
        "第一句。第二句！第三句？最后\n",
        "line two",
    ]
    assert split_units("3.14 is pi", "sentences") == [(0, 10)]


def test_normalize_unit_like_cc_net():
    assert normalize_unit("  Hello,   World 2024!! ") == "hello world 0000"
    assert normalize_unit("你好，世界。") == "你好世界"
    assert normalize_unit(" ... ") == ""


def test_remove_windows_needs_the_whole_span():
    text = "One fish. Two fish. Red fish. Blue fish. Done here."
    three = window_hashes("Zero. One fish. Two fish. Red fish.", "sentences", 3)
    two = window_hashes("Zero. One fish. Two fish. Other.", "sentences", 3)
    assert remove_windows(text, "sentences", 3, three) == "Blue fish. Done here."
    assert remove_windows(text, "sentences", 3, two) == text
    assert window_hashes("Only. Two.", "sentences", 3) == []


def test_doc_order_key_source_priority_then_id():
    priority = ["wiki", "web"]
    keys = sorted(
        [
            doc_order_key("web", "a", priority),
            doc_order_key("wiki", "z", priority),
            doc_order_key("code", "0", priority),
            doc_order_key(None, "b", priority),
        ]
    )
    assert [k.split(":", 1)[1] for k in keys] == ["z", "a", "0", "b"]


def test_decontamination_spans_at_ngram_boundary():
    example = " ".join(words(1, 20))
    evals = build_eval_ngrams({"ev": [example], "short": ["too short"]}, 13)
    thirteen = " ".join(example.split()[2:15])
    twelve = " ".join(example.split()[2:14])
    text = f"Intro text. {thirteen} outro."
    assert contaminated_spans(text, evals) == {"ev": [(12, 12 + len(thirteen))]}
    assert contaminated_spans(f"Intro text. {twelve} outro.", evals) == {}
    assert contaminated_spans(text.upper(), evals) == {"ev": [(12, 12 + len(thirteen))]}
    assert cut_spans(text, [(12, 12 + len(thirteen))]) == "Intro text. outro."
    assert evals.sets["short"].size == 0


def test_decontamination_merges_overlapping_windows_and_keeps_offsets_after_case_folding():
    example = " ".join(words(1, 30))
    evals = build_eval_ngrams({"ev": [example]}, 13)
    text = "İstanbul. " + " ".join(example.split()[:20]) + " end. " + " ".join(example.split()[10:24])
    first = text.index(example.split()[0])
    second = text.rindex(example.split()[10])
    assert contaminated_spans(text, evals) == {
        "ev": [(first, first + len(" ".join(example.split()[:20]))), (second, len(text))]
    }


def test_read_eval_texts_jsonl_plain_and_errors(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"question": "q1"}\n\n{"question": "q2"}\n')
    (tmp_path / "b.txt").write_text("first\nsecond\n")
    (tmp_path / "bad.jsonl").write_text('{"text": 1}\n')
    assert read_eval_texts(tmp_path / "a.jsonl", "question") == ["q1", "q2"]
    assert read_eval_texts(tmp_path / "b.txt") == ["first", "second"]
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_eval_texts(tmp_path / "bad.jsonl")
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_eval_texts(tmp_path / "missing.txt")


# ---- dedup_minhash --------------------------------------------------------------------


def shifted(base, shift, length=200):
    return " ".join(base[shift : shift + length])


@pytest.fixture(scope="module")
def minhash_docs():
    """Chain a0~a1~a2 (a0, a2 not similar); b pair at J 0.806 and c pair at J 0.798; cross-source copy."""
    a, b, c, d = words(10, 260), words(11, 260), words(12, 260), words(13, 260)
    return [
        ("a0", "web", shifted(a, 0)),
        ("a1", "web", shifted(a, 15)),
        ("a2", "web", shifted(a, 30)),
        ("b0", "web", shifted(b, 0)),
        ("b1", "web", shifted(b, 21)),
        ("c0", "web", shifted(c, 0)),
        ("c1", "web", shifted(c, 22)),
        ("d-web", "web", shifted(d, 0)),
        ("d-wiki", "wiki", shifted(d, 0) + " Edited."),
        ("e", "web", "短文本。"),
        ("f", "web", ""),
    ]


MINHASH_CFG = DedupMinhashConfig(bands=32, rows=4)  # every pair above 0.7 becomes a candidate


def run_minhash(spark, ctx, rows, partitions=2, config=MINHASH_CFG):
    df = spark.createDataFrame(rows, SCHEMA).repartition(partitions)
    out = DedupMinhashStage(config).apply(df, ctx)
    return {r["id"]: (r["reason"], r["minhash_cluster"]) for r in out.collect()}


def test_minhash_fixture_jaccards(minhash_docs):
    text = {i: t for i, _, t in minhash_docs}

    def j(x, y):
        return jaccard(shingle_hashes(text[x]), shingle_hashes(text[y]))

    assert j("a0", "a1") >= 0.8 and j("a1", "a2") >= 0.8 and j("a0", "a2") < 0.8
    assert j("b0", "b1") == pytest.approx(175 / 217) and j("c0", "c1") == pytest.approx(174 / 218)


EXPECTED_CLUSTERS = {
    "a0": (None, "a0"),
    "a1": ("dedup:minhash:a0", "a0"),
    "a2": ("dedup:minhash:a0", "a0"),
    "b0": (None, "b0"),
    "b1": ("dedup:minhash:b0", "b0"),
    "c0": (None, "c0"),
    "c1": (None, "c1"),
    "d-web": ("dedup:minhash:d-wiki", "d-wiki"),
    "d-wiki": (None, "d-wiki"),
    "e": (None, "e"),
    "f": (None, "f"),
}


def test_minhash_clusters_chain_threshold_and_source_priority(spark, stage_ctx, minhash_docs):
    ctx = dataclasses.replace(stage_ctx, source_priority=["wiki", "web"])
    stage = DedupMinhashStage(MINHASH_CFG)
    out = stage.apply(spark.createDataFrame(minhash_docs, SCHEMA).repartition(1), ctx).cache()
    rows = out.collect()
    assert {r["id"]: (r["reason"], r["minhash_cluster"]) for r in rows} == EXPECTED_CLUSTERS
    sizes = Counter(cluster for _, cluster in EXPECTED_CLUSTERS.values())
    assert {r["id"]: r["minhash_cluster_size"] for r in rows} == {
        doc: sizes[cluster] for doc, (_, cluster) in EXPECTED_CLUSTERS.items()
    }  # a0's chain 3, b 2, d 2, every other document alone
    kept, rejected = out.where("reason is null"), out.where("reason is not null")
    assert stage.summarize(kept, rejected) == {"duplicate_clusters": 3}  # a0, b0, d-wiki


def test_minhash_deterministic_across_partitionings_and_runs(spark, stage_ctx, minhash_docs):
    """A second run, on shuffled rows in three partitions, gives the same (id, reason, cluster)."""
    shuffled = list(minhash_docs)
    random.Random(3).shuffle(shuffled)
    ctx = dataclasses.replace(stage_ctx, source_priority=["wiki", "web"])
    assert run_minhash(spark, ctx, shuffled, partitions=3) == EXPECTED_CLUSTERS


def test_minhash_without_verification_uses_lsh_candidates(spark, stage_ctx, minhash_docs):
    got = run_minhash(spark, stage_ctx, minhash_docs, config=DedupMinhashConfig(bands=32, rows=4, verify=False))
    assert got["c1"] == ("dedup:minhash:c0", "c0")  # J 0.798 is an LSH candidate, kept unverified
    assert got["d-wiki"] == ("dedup:minhash:d-web", "d-web")  # no source priority: smaller id wins


def test_connected_components_long_path_and_two_components(spark, stage_ctx):
    order = list(range(6))
    random.Random(5).shuffle(order)
    path = [(f"n{order[i]}", f"n{order[i + 1]}") for i in range(len(order) - 1)]
    edges = spark.createDataFrame(path + [("x2", "x1"), ("x3", "x2")], "u string, v string")
    roots = {r["node"]: r["root"] for r in connected_components(edges, stage_ctx, 20).collect()}
    assert roots == {**{f"n{i}": "n0" for i in range(1, 6)}, "x2": "x1", "x3": "x1"}
    with pytest.raises(RuntimeError, match="max_iterations=1"):
        connected_components(edges, stage_ctx, 1)


def test_minhash_config_bands_rows_validation():
    assert DedupMinhashConfig().lsh_params() == (16, 8)  # verified candidates: misses weigh 0.95
    assert DedupMinhashConfig(verify=False).lsh_params() == (9, 13)  # datasketch's default weights
    assert DedupMinhashConfig(false_negative_weight=0.7).lsh_params() == (11, 11)
    with pytest.raises(ValueError, match="exceeds num_perm"):
        DedupMinhashConfig(num_perm=16, bands=5, rows=4)
    with pytest.raises(ValueError, match="both bands and rows"):
        DedupMinhashConfig(bands=5)


# ---- dedup_sentence -------------------------------------------------------------------

EN_SHARED = "The cat sat on the mat. It was a sunny day in the park. Everyone was very happy about it. "
ZH_SHARED = "今天天气很好。我们去公园散步！你想一起来吗？"


def test_sentence_dedup_en_and_zh_keeps_first_occurrence(spark, stage_ctx):
    ctx = dataclasses.replace(stage_ctx, source_priority=["wiki"])
    rows = [
        ("z-wiki", "wiki", "Wiki intro sentence here. " + EN_SHARED + "Wiki ends with its own words."),
        ("a-web", "web", "A web page starts differently. " + EN_SHARED + "And it has a long ending of its own."),
        (
            "b-web",
            "web",
            "Two shared only. The cat sat on the mat. It was a sunny day in the park. The end is different.",
        ),
        ("c-web", "web", EN_SHARED),
        ("zh1", "web", "这是第一篇文章的开头。" + ZH_SHARED + "第一篇的结尾很长，有很多自己的内容和句子。"),
        ("zh2", "web", "第二篇文章有不同的开头。" + ZH_SHARED + "第二篇也有自己的结尾，而且同样足够长。"),
    ]
    df = spark.createDataFrame(rows, SCHEMA).repartition(2)
    stage = DedupSentenceStage(DedupSentenceConfig(min_chars=20))
    got = {r["id"]: (r["text"], r["reason"], r["dedup_sentence_chars_removed"]) for r in stage.apply(df, ctx).collect()}
    assert got["z-wiki"] == (rows[0][2], None, 0)  # wiki first by priority, though its id sorts last
    assert got["a-web"] == ("A web page starts differently. And it has a long ending of its own.", None, len(EN_SHARED))
    assert got["b-web"] == (rows[2][2], None, 0)  # two shared sentences < span of 3
    assert got["c-web"] == ("", "dedup_sentence:too_short", len(EN_SHARED))
    assert got["zh1"] == (rows[4][2], None, 0)
    assert got["zh2"] == ("第二篇文章有不同的开头。第二篇也有自己的结尾，而且同样足够长。", None, len(ZH_SHARED))
    out = spark.createDataFrame(
        [(k, *v) for k, v in got.items()], f"id string, text string, reason string, {CHARS_REMOVED} int"
    )
    assert stage.summarize(out.where("reason is null"), out.where("reason is not null")) == {
        "chars_removed_kept": len(EN_SHARED) + len(ZH_SHARED),
        "docs_changed_kept": 2,
        "chars_removed_rejected": len(EN_SHARED),
        "docs_changed_rejected": 1,
    }


def test_sentence_dedup_line_mode_like_cc_net(spark, stage_ctx):
    rows = [
        ("a", "web", "Menu\nHome | About\nFirst article body line."),
        ("b", "web", "Menu\nHome | About\nSecond article body line."),
    ]
    df = spark.createDataFrame(rows, SCHEMA)
    out = DedupSentenceStage(DedupSentenceConfig(mode="lines", min_chars=10)).apply(df, stage_ctx)
    got = {r["id"]: (r["text"], r["reason"]) for r in out.collect()}
    assert got == {"a": (rows[0][2], None), "b": ("Second article body line.", None)}


def test_sentence_dedup_min_chars_boundary(spark, stage_ctx):
    tail = "x" * 20
    rows = [("a", "web", EN_SHARED + "first"), ("b", "web", EN_SHARED + tail), ("c", "web", EN_SHARED + tail[:-1])]
    df = spark.createDataFrame(rows, SCHEMA)
    out = DedupSentenceStage(DedupSentenceConfig(min_chars=20)).apply(df, stage_ctx)
    got = {r["id"]: r["reason"] for r in out.collect()}
    assert got == {"a": None, "b": None, "c": "dedup_sentence:too_short"}
    whole = spark.createDataFrame([("a", "web", EN_SHARED), ("d", "web", EN_SHARED)], SCHEMA)
    out = DedupSentenceStage(DedupSentenceConfig(min_chars=0)).apply(whole, stage_ctx)
    assert {r["id"]: r["reason"] for r in out.collect()} == {"a": None, "d": "dedup_sentence:too_short"}, (
        "a document left blank is rejected even with min_chars 0"
    )


# ---- decontaminate --------------------------------------------------------------------


@pytest.fixture
def eval_files(tmp_path):
    qa = [" ".join(words(20 + i, 30)) for i in range(3)]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps({"question": q}) + "\n" for q in qa))
    zh = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    (tmp_path / "poems.txt").write_text(zh + "\n")
    return tmp_path, qa, zh


def test_decontaminate_reject_and_remove(spark, stage_ctx, eval_files):
    path, qa, zh = eval_files
    leak = " ".join(qa[1].split()[5:18])  # 13 words
    near = " ".join(qa[1].split()[5:17])  # 12 words
    filler = "This document talks about something else entirely and is long enough."
    rows = [
        ("leak", "web", f"{filler} {leak} {filler}"),
        ("near", "web", f"{filler} {near} {filler}"),
        ("zh", "web", "今天读了一首诗：疑是地上霜。举头望明月，低头思故乡。真好。"),
        ("clean", "web", filler),
    ]
    df = spark.createDataFrame(rows, SCHEMA)
    eval_sets = {"qa": str(path / "qa.jsonl"), "poems": str(path / "poems.txt")}

    reject = DecontaminateStage(DecontaminateConfig(eval_sets=eval_sets, text_field="question"))
    out = reject.apply(df, stage_ctx).cache()
    assert {r["id"]: r["reason"] for r in out.collect()} == {
        "leak": "decontaminate:qa",
        "near": None,
        "zh": "decontaminate:poems",
        "clean": None,
    }
    kept, rejected = out.where("reason is null"), out.where("reason is not null")
    assert reject.summarize(kept, rejected) == {"documents_per_eval_set": {"qa": 1, "poems": 1}, "chars_removed": 0}

    remove = DecontaminateStage(
        DecontaminateConfig(eval_sets=eval_sets, text_field="question", mode="remove", min_chars=20)
    )
    got = {r["id"]: (r["text"], r["reason"]) for r in remove.apply(df, stage_ctx).collect()}
    assert got["leak"] == (f"{filler} {filler}", None)
    assert got["zh"] == ("今天读了一首诗：。真好。", "decontaminate:poems")  # 15 characters cut, 12 left < 20
    assert got["near"] == (rows[1][2], None)


def test_decontaminate_config_errors(spark, stage_ctx, tmp_path):
    with pytest.raises(ValueError, match="without commas"):
        DecontaminateConfig(eval_sets={"a,b": "x.txt"})
    df = spark.createDataFrame([("a", "web", "text")], SCHEMA)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "fine"}\n{"text": \n', encoding="utf-8")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 au lait".encode("latin-1"))
    for name, path, detail in [
        ("x", tmp_path / "nope.jsonl", "not found"),
        ("y", broken, "broken.jsonl:2: not JSON"),
        ("z", latin1, "can't decode"),
    ]:
        with pytest.raises(ConfigError, match=rf"stages.decontaminate.eval_sets.{name} \(.*{path.name}\): .*{detail}"):
            DecontaminateStage(DecontaminateConfig(eval_sets={name: str(path)})).apply(df, stage_ctx)
