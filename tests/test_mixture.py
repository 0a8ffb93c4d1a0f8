import pytest
from pydantic import ValidationError
from pyspark.sql import functions as F

from trainer_output.mixture import (
    MixtureConfig,
    SourceTarget,
    apply_mixture,
    mixture_table,
    mixture_weights_by_chars,
    plan_mixture,
    rehydration_band,
    repeat_sample,
    weighted_tokens,
)

# GPT-3's table (Brown et al. 2020, table 2.2), tokens in billions; shares adjusted to sum to 1.
GPT3 = {"common_crawl": (1, 410), "webtext2": (1, 19), "books1": (1, 12), "books2": (1, 55), "wikipedia": (1, 3)}
GPT3_SHARES = {"common_crawl": 0.60, "webtext2": 0.22, "books1": 0.08, "books2": 0.08, "wikipedia": 0.02}


def by_source(plan):
    return {row.source: row for row in plan}


def test_gpt3_style_shares_give_epochs():
    cfg = MixtureConfig(sources={s: SourceTarget(share=v) for s, v in GPT3_SHARES.items()}, total_tokens=300)
    plan = by_source(plan_mixture(GPT3, cfg))
    assert plan["common_crawl"].epochs == pytest.approx(180 / 410)  # 0.44
    assert plan["webtext2"].epochs == pytest.approx(66 / 19)  # 3.47
    assert plan["books2"].epochs == pytest.approx(24 / 55)
    assert plan["wikipedia"].epochs == pytest.approx(2.0)
    for source, share in GPT3_SHARES.items():
        assert plan[source].tokens_planned == pytest.approx(share * 300)
        assert plan[source].share_planned == pytest.approx(share)
        assert not plan[source].capped


def test_max_epochs_caps_and_flags():
    shares = {"big": 0.5, "small": 0.5}
    available = {"big": (10, 1000), "small": (10, 100)}
    at_cap = plan_mixture(
        available,
        MixtureConfig(sources={s: SourceTarget(share=v) for s, v in shares.items()}, total_tokens=800, max_epochs=4.0),
    )
    assert by_source(at_cap)["small"].epochs == pytest.approx(4.0)
    assert not by_source(at_cap)["small"].capped
    past_cap = by_source(
        plan_mixture(
            available,
            MixtureConfig(
                sources={s: SourceTarget(share=v) for s, v in shares.items()}, total_tokens=802, max_epochs=4.0
            ),
        )
    )
    assert past_cap["small"].capped and past_cap["small"].epochs == 4.0
    assert past_cap["small"].tokens_planned == pytest.approx(400)
    assert past_cap["big"].tokens_planned == pytest.approx(401)
    assert past_cap["small"].share_planned == pytest.approx(400 / 801)


def test_default_is_every_token_once():
    plan = by_source(plan_mixture({"a": (3, 300), "b": (1, 100)}, MixtureConfig()))
    assert plan["a"].epochs == 1.0 and plan["b"].epochs == 1.0
    assert plan["a"].share_planned == pytest.approx(0.75)


def test_shares_without_budget_use_all_of_the_scarcest_source():
    cfg = MixtureConfig(sources={"a": SourceTarget(share=0.5), "b": SourceTarget(share=0.5)})
    plan = by_source(plan_mixture({"a": (1, 300), "b": (1, 100)}, cfg))
    assert plan["b"].epochs == pytest.approx(1.0)
    assert plan["a"].epochs == pytest.approx(100 / 300)


def test_share_and_epoch_sources_together():
    cfg = MixtureConfig(sources={"wiki": SourceTarget(share=0.2), "web": SourceTarget(epochs=1.0)})
    plan = by_source(plan_mixture({"wiki": (1, 50), "web": (1, 800)}, cfg))
    # web 800 tokens is the other 80% -> total 1000, wiki 200 = 4 epochs
    assert plan["web"].tokens_planned == pytest.approx(800)
    assert plan["wiki"].epochs == pytest.approx(4.0)
    assert plan["wiki"].share_planned == pytest.approx(0.2)


def test_budget_scales_epoch_sources():
    cfg = MixtureConfig(sources={"a": SourceTarget(epochs=2.0)}, total_tokens=250)
    plan = by_source(plan_mixture({"a": (1, 100), "b": (1, 100)}, cfg))  # b: default 1 epoch
    assert plan["a"].epochs == pytest.approx(2.0 * 250 / 300)
    assert plan["b"].epochs == pytest.approx(250 / 300)
    assert sum(row.tokens_planned for row in plan.values()) == pytest.approx(250)


@pytest.mark.parametrize(
    "sources, message",
    [
        ({"a": SourceTarget(share=0.6), "b": SourceTarget(share=0.5)}, "sum to 1.1 > 1"),
        ({"a": SourceTarget(share=0.6), "b": SourceTarget(share=0.3)}, "must sum to 1"),
        ({"a": SourceTarget(share=1.0), "b": SourceTarget(epochs=1)}, "leaving nothing"),
        ({"c": SourceTarget(epochs=1)}, "no documents of these sources are left"),
    ],
)
def test_invalid_mixtures(sources, message):
    with pytest.raises(ValueError, match=message):
        plan_mixture({"a": (1, 10), "b": (1, 10)}, MixtureConfig(sources=sources))


def test_source_target_needs_exactly_one():
    with pytest.raises(ValidationError):
        SourceTarget(share=0.5, epochs=1)
    with pytest.raises(ValidationError):
        SourceTarget()
    with pytest.raises(ValidationError):
        MixtureConfig(total=5)


def test_mixture_table_reports_actual_use():
    plan = plan_mixture({"a": (2, 30), "b": (1, 10)}, MixtureConfig())
    table = {r["source"]: r for r in mixture_table(plan, {"a": (2, 30), "b": (1, 10)})}
    assert table["a"]["share"] == pytest.approx(0.75)
    assert table["b"]["tokens_used"] == 10 and table["b"]["tokens_available"] == 10


def test_repeat_sample_whole_and_fractional_copies(spark):
    from pyspark.sql import functions as F

    rates = {"w": 2.5, "one": 1.0, "zero": 0.0, "q": 0.25}
    rows = [(f"{group}{i}", rate) for group, rate in rates.items() for i in range(400)]
    df = spark.createDataFrame(rows, "id string, rate double")
    ids = [r["id"] for r in repeat_sample(df, F.col("rate"), seed=7, salt="t", max_rate=2.5).collect()]
    assert len(set(ids)) == len(ids)

    def copies(group, suffix=""):
        return sum(1 for i in ids if i.startswith(group) and i.endswith(suffix) and (suffix or "#" not in i))

    assert copies("w") == 400 and copies("w", "#r1") == 400
    assert 150 < copies("w", "#r2") < 250
    assert not any(i.endswith("#r3") for i in ids)
    assert copies("one") == 400 and not any(i.startswith("one") and "#" in i for i in ids)
    assert copies("zero") == 0
    assert 60 < copies("q") < 140 and not any(i.startswith("q") and "#" in i for i in ids)
    without_repeats = df.where(F.col("rate") <= 1)
    assert sorted(
        r["id"] for r in repeat_sample(without_repeats, F.col("rate"), seed=7, salt="t", max_rate=1.0).collect()
    ) == sorted(i for i in ids if not i.startswith("w"))


def test_apply_mixture_uses_each_sources_rate(spark):
    rows = [(f"a{i}", "a", "x" * 30) for i in range(50)] + [(f"b{i}", "b", "y" * 10) for i in range(50)]
    df = spark.createDataFrame(rows, "id string, source string, text string")
    cfg = MixtureConfig(sources={"a": SourceTarget(epochs=3), "b": SourceTarget(epochs=0)})
    plan = plan_mixture({"a": (50, 50), "b": (50, 50)}, cfg)
    counts = {r["source"]: r["count"] for r in apply_mixture(df, plan, seed=1).groupBy("source").count().collect()}
    assert counts == {"a": 150}
    weights = mixture_weights_by_chars(df, MixtureConfig(sources={"a": SourceTarget(share=0.5)}, total_tokens=10))
    assert weights == pytest.approx({"a": 0.5, "b": 0.5})
    assert mixture_weights_by_chars(df, MixtureConfig()) == pytest.approx({"a": 0.75, "b": 0.25})


def test_empty_input_plans_nothing():
    assert plan_mixture({}, MixtureConfig()) == []


REHYDRATION = MixtureConfig(cluster_size_weights={2: 3.0, 5: 2.0, 100: 0.5})


def test_rehydration_bands_and_weighted_plan(spark):
    """FineWeb-2 rehydration: each document's rate is its source's rate times its cluster-size band's weight,
    and shares are planned on the weighted tokens, so the source as a whole still gets its share."""
    sizes = [1, 2, 4, 5, 99, 100, 5000, None]
    df = spark.createDataFrame([(s,) for s in sizes], "size int")
    bands = [r["band"] for r in df.select(rehydration_band(F.col("size"), REHYDRATION).alias("band")).collect()]
    assert bands == [0, 2, 2, 5, 5, 100, 100, 0]
    assert [REHYDRATION.band_weight(b) for b in bands] == [1.0, 3.0, 3.0, 2.0, 2.0, 0.5, 0.5, 1.0]

    # web: 100 tokens alone and 100 in clusters of 2-4 -> weighted 100 + 300 = 400; wiki unweighted 200
    weighted = weighted_tokens({("web", 0): 100, ("web", 2): 100, ("wiki", 0): 200}, REHYDRATION)
    assert weighted == {"web": 400.0, "wiki": 200.0}
    cfg = REHYDRATION.model_copy(update={"sources": {"web": SourceTarget(share=0.5), "wiki": SourceTarget(share=0.5)}})
    plan = by_source(plan_mixture({"web": (20, 200), "wiki": (10, 200)}, cfg, weighted))
    assert plan["web"].rehydration == pytest.approx(2.0) and plan["wiki"].rehydration == 1.0
    assert plan["web"].epochs == pytest.approx(0.5) and plan["wiki"].epochs == pytest.approx(1.0)
    assert plan["web"].tokens_planned == pytest.approx(plan["wiki"].tokens_planned)
    capped = by_source(plan_mixture({"web": (20, 200)}, MixtureConfig(max_epochs=1.5), {"web": 400.0}))
    assert capped["web"].capped and capped["web"].epochs * capped["web"].rehydration == pytest.approx(1.5)


def test_apply_mixture_multiplies_the_rate_by_the_band_weight(spark):
    rows = [(f"s{i}", "web", 0, "train") for i in range(300)] + [(f"d{i}", "web", 2, "train") for i in range(300)]
    rows += [(f"v{i}", "web", 2, "valid") for i in range(100)]
    df = spark.createDataFrame(rows, "id string, source string, rehydration_band int, split string")
    plan = plan_mixture({"web": (700, 700)}, REHYDRATION, {"web": 300.0 + 3 * 400})
    sampled = [r["id"] for r in apply_mixture(df, plan, seed=3, cfg=REHYDRATION).collect()]
    rate = plan[0].epochs  # 1.0: web has default epochs 1
    assert rate == pytest.approx(1.0)
    assert sum(1 for i in sampled if i.startswith("s")) == 300  # band 0: weight 1
    assert sum(1 for i in sampled if i.startswith("d")) == 900  # band 2: weight 3, each thrice
    assert sum(1 for i in sampled if i.startswith("v")) == 100  # valid: never repeated


def test_cluster_size_weights_are_checked():
    with pytest.raises(ValidationError, match="sizes must be >= 1 and weights >= 0"):
        MixtureConfig(cluster_size_weights={0: 2.0})
    with pytest.raises(ValidationError, match="sizes must be >= 1 and weights >= 0"):
        MixtureConfig(cluster_size_weights={3: -1.0})
