"""Mixture weighting: how many tokens of each source go into the final corpus (GPT-3 style).

Each source is given either a target ``share`` of the final tokens or a number of ``epochs``
(passes over its tokens); sources the config does not name get ``default_epochs``. The plan
turns that into a sampling rate per source (= effective epochs: 3.4 means every document three
times and 40% of them a fourth time; 0.44 means 44% of the documents), capped at ``max_epochs``.
Sampling is deterministic: whole repeats plus a fractional sample decided by hashing the
document id with the seed; repeated copies get the ids ``<id>#r1``, ``<id>#r2``, ...

Rehydration (FineWeb-2): with ``cluster_size_weights``, a document's rate is its source's rate
times the weight of its near-duplicate cluster size band (``minhash_cluster_size``, from
``dedup_minhash``), so documents that had many copies before deduplication can be repeated more (or
less) than unique ones. The plan then counts each source's tokens weighted by their band, so shares
and epochs still hold for the source as a whole; ``effective_epochs`` in the table is what was used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from core.errors import CorpusError

SHARE_TOLERANCE = 1e-6
REHYDRATION_NEEDS_MINHASH = (
    "mixture.cluster_size_weights needs each document's minhash_cluster_size: enable stages.dedup_minhash, "
    "or remove mixture.cluster_size_weights"
)
_UNIT_BITS = 53


class SourceTarget(BaseModel):
    """One source's target: exactly one of ``share`` and ``epochs``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    share: float | None = Field(None, gt=0, le=1, description="target share of the final tokens")
    epochs: float | None = Field(None, ge=0, description="passes over the source's available tokens")

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceTarget:
        if (self.share is None) == (self.epochs is None):
            raise ValueError("give exactly one of share or epochs")
        return self


class MixtureConfig(BaseModel):
    """The ``mixture`` config section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, SourceTarget] = Field(
        default_factory=dict, description="per-source target; unnamed sources get default_epochs"
    )
    total_tokens: int | None = Field(
        None, gt=0, description="token budget; default: all available tokens at the given shares/epochs"
    )
    max_epochs: float = Field(
        4.0,
        gt=0,
        description="cap on passes over one source (Muennighoff et al. 2023: up to ~4 is nearly as good as new data)",
    )
    default_epochs: float = Field(1.0, ge=0, description="epochs of sources not named in `sources`")
    cluster_size_weights: dict[int, float] = Field(
        default_factory=dict,
        description="rehydration (FineWeb-2): {smallest near-duplicate cluster size of a band: sampling weight}, "
        "e.g. {2: 2.0, 10: 1.5, 100: 1.0}; a document's band is the largest key <= its minhash_cluster_size, "
        "smaller sizes weigh 1; needs stages.dedup_minhash; empty: off",
    )

    @model_validator(mode="after")
    def _cluster_size_bands(self) -> MixtureConfig:
        bad = [f"{size}: {weight}" for size, weight in self.cluster_size_weights.items() if size < 1 or weight < 0]
        if bad:
            raise ValueError(f"cluster_size_weights: sizes must be >= 1 and weights >= 0, got {', '.join(bad)}")
        return self

    def band_weight(self, band: int) -> float:
        """The sampling weight of a cluster-size band (0: below every band, weight 1)."""
        return self.cluster_size_weights.get(band, 1.0)


@dataclass(frozen=True)
class SourcePlan:
    """The planned sampling of one source."""

    source: str
    documents: int
    tokens_available: int
    target: str
    epochs: float
    capped: bool
    tokens_planned: float
    share_planned: float
    rehydration: float = 1.0


class MixtureError(CorpusError, ValueError):
    """The mixture cannot be planned from the documents that are left."""


def check_targets(sources: list[str], cfg: MixtureConfig) -> dict[str, SourceTarget]:
    """Each source's target; shares must leave room for the epoch sources, or sum to 1 without any."""
    targets = {s: cfg.sources.get(s, SourceTarget(epochs=cfg.default_epochs)) for s in sources}
    share_sum = sum(t.share for t in targets.values() if t.share is not None)
    epoch_sources = sorted(s for s, t in targets.items() if t.epochs is not None)
    if share_sum > 1 + SHARE_TOLERANCE:
        raise MixtureError(f"mixture.sources: shares sum to {share_sum:g} > 1")
    if not epoch_sources and abs(share_sum - 1) > SHARE_TOLERANCE:
        raise MixtureError(
            f"mixture.sources: shares sum to {share_sum:g}; they must sum to 1 when no source has epochs"
        )
    if epoch_sources and share_sum >= 1 - SHARE_TOLERANCE:
        raise MixtureError(
            f"mixture.sources: shares sum to 1, leaving nothing for {epoch_sources} "
            f"(sources not named in mixture.sources get default_epochs)"
        )
    return targets


def plan_mixture(
    available: dict[str, tuple[int, int]], cfg: MixtureConfig, weighted_tokens: dict[str, float] | None = None
) -> list[SourcePlan]:
    """Per-source sampling rate (epochs), planned tokens and share; ``available`` maps source -> (documents, tokens).

    ``weighted_tokens`` (rehydration) maps source -> tokens weighted by cluster-size band: rates are planned on
    them, and ``rehydration`` is their ratio to the tokens, so a source's effective epochs are ``epochs *
    rehydration`` (capped at ``max_epochs`` as a whole).

    Share sources get ``share * total``. Epoch sources fill the rest of the budget, ``(1 - sum of shares) *
    total``, in proportion to ``epochs * tokens`` (without ``total_tokens`` that is exactly their epochs).
    Without ``total_tokens`` and without epoch sources, the total is the largest budget at which no share
    source is repeated. Rates above ``max_epochs`` are capped; the lost tokens are not redistributed, so the
    planned shares then differ from the targets (the ``capped`` flag says where).
    """
    unknown = sorted(set(cfg.sources) - set(available))
    if unknown:
        raise MixtureError(
            f"mixture.sources names {unknown}: no documents of these sources are left after the "
            f"stages (sources with documents: {sorted(available)}); drop them from mixture.sources "
            f"or loosen the stages that removed them (see summary.json), then rerun: complete "
            f"stages are skipped"
        )
    if not available:
        return []
    targets = check_targets(list(available), cfg)
    weighted = {s: float(available[s][1]) for s in available} | (weighted_tokens or {})
    rehydration = {s: weighted[s] / available[s][1] if available[s][1] else 1.0 for s in available}
    share_sum = sum(t.share for t in targets.values() if t.share is not None)
    epoch_sources = [s for s, t in targets.items() if t.epochs is not None]
    epoch_tokens = sum(targets[s].epochs * weighted[s] for s in epoch_sources)

    if cfg.total_tokens is not None:
        total = float(cfg.total_tokens)
    elif epoch_sources:
        total = epoch_tokens / (1 - share_sum)
    else:
        total = min(weighted[s] / t.share for s, t in targets.items())
    epoch_scale = (1 - share_sum) * total / epoch_tokens if epoch_sources and epoch_tokens > 0 else 1.0

    rates = {}
    for source, target in targets.items():
        if target.share is not None:
            wanted = target.share * total
            rates[source] = wanted / weighted[source] if weighted[source] else (math.inf if wanted > 0 else 0.0)
        else:
            rates[source] = target.epochs * epoch_scale
    caps = {s: cfg.max_epochs / rehydration[s] if rehydration[s] else math.inf for s in available}
    planned = {s: min(rate, caps[s]) * weighted[s] for s, rate in rates.items()}
    planned_sum = sum(planned.values())
    return [
        SourcePlan(
            source=s,
            documents=available[s][0],
            tokens_available=available[s][1],
            target=f"share {targets[s].share:g}" if targets[s].share is not None else f"epochs {targets[s].epochs:g}",
            epochs=min(rates[s], caps[s]) if available[s][1] else 0.0,
            capped=rates[s] > caps[s],
            tokens_planned=planned[s],
            share_planned=planned[s] / planned_sum if planned_sum else 0.0,
            rehydration=rehydration[s],
        )
        for s in sorted(available)
    ]


def mixture_table(plan: list[SourcePlan], used: dict[str, tuple[int, int]]) -> list[dict]:
    """The plan joined with what was actually written; ``used`` maps source -> (documents, tokens)."""
    total_used = sum(tokens for _, tokens in used.values())
    rows = []
    for row in plan:
        documents_used, tokens_used = used.get(row.source, (0, 0))
        rows.append(
            {
                **asdict(row),
                "documents_used": documents_used,
                "tokens_used": tokens_used,
                "effective_epochs": tokens_used / row.tokens_available if row.tokens_available else 0.0,
                "share": tokens_used / total_used if total_used else 0.0,
            }
        )
    return rows


def unit_hash(*columns: Column, seed: int, salt: str) -> Column:
    """A deterministic number in [0, 1) from hashing ``columns`` with the seed and a purpose ``salt``."""
    hashed = F.xxhash64(*columns, F.lit(seed), F.lit(salt))
    return hashed.bitwiseAND(F.lit((1 << _UNIT_BITS) - 1)).cast("double") / float(1 << _UNIT_BITS)


def lookup(key: Column, values: dict[str, float]) -> Column:
    """``values[key]`` as a Spark expression (null for a key not in ``values``)."""
    if not values:
        return F.lit(None).cast("double")
    pairs = [item for k, v in sorted(values.items()) for item in (F.lit(k), F.lit(float(v)))]
    return F.create_map(*pairs)[key]


def repeat_sample(df: DataFrame, rate: Column, seed: int, salt: str, max_rate: float) -> DataFrame:
    """Keep each row ``floor(rate)`` times plus once more with probability ``frac(rate)`` (hash of ``id``).

    The first copy keeps its ``id``; further copies are ``<id>#r1``, ``<id>#r2``, ... ``max_rate`` (the
    largest rate) lets the common case without repeats skip the row multiplication.
    """
    whole = F.floor(rate)
    copies = F.coalesce(
        whole + F.when(unit_hash(F.col("id"), seed=seed, salt=salt) < rate - whole, 1).otherwise(0), F.lit(0)
    )
    if max_rate <= 1:
        return df.where(copies > 0)
    kept = df.withColumn("_copies", copies.cast("int")).where(F.col("_copies") > 0)
    copy = F.explode(F.sequence(F.lit(0), F.col("_copies") - 1))
    repeated = kept.select("*", copy.alias("_copy"))
    copy_id = F.when(F.col("_copy") == 0, F.col("id")).otherwise(
        F.concat(F.col("id"), F.lit("#r"), F.col("_copy").cast("string"))
    )
    return repeated.withColumn("id", copy_id).drop("_copies", "_copy")


def apply_mixture(df: DataFrame, plan: list[SourcePlan], seed: int, cfg: MixtureConfig | None = None) -> DataFrame:
    """Sample ``df`` (columns ``id``, ``source``, ...) at each source's planned rate.

    With ``cfg.cluster_size_weights`` and a ``rehydration_band`` column (see ``rehydration_band``), each
    rate is multiplied by the weight of the row's band. Rows whose ``split`` column (if any) is ``valid``
    are sampled at most once: repeated copies would only weigh some documents more in the validation loss.
    """
    rates = {row.source: row.epochs for row in plan}
    rate = lookup(F.col("source"), rates)
    max_rate = max(rates.values(), default=0)
    if cfg is not None and cfg.cluster_size_weights and "rehydration_band" in df.columns:
        weights = {band: cfg.band_weight(band) for band in [0, *cfg.cluster_size_weights]}
        rate = rate * F.coalesce(lookup(F.col("rehydration_band"), weights), F.lit(1.0))
        max_rate *= max(weights.values())
    if "split" in df.columns:
        rate = F.when(F.col("split") == "valid", F.least(rate, F.lit(1.0))).otherwise(rate)
    return repeat_sample(df, rate, seed, salt="mixture", max_rate=max_rate)


def rehydration_band(cluster_size: Column, cfg: MixtureConfig) -> Column:
    """The cluster-size band of each row: the largest key of ``cluster_size_weights`` <= the size, else 0."""
    band = F.lit(0)
    for size in sorted(cfg.cluster_size_weights):
        band = F.when(F.coalesce(cluster_size, F.lit(1)) >= size, F.lit(size)).otherwise(band)
    return band.cast("int")


def weighted_tokens(counts: dict[tuple[str, int], int], cfg: MixtureConfig) -> dict[str, float]:
    """Tokens per source weighted by band, from exact integer counts ``{(source, band): tokens}`` (summed in a
    fixed order, so the plan is the same on every run)."""
    totals: dict[str, float] = {}
    for (source, band), tokens in sorted(counts.items()):
        totals[source] = totals.get(source, 0.0) + cfg.band_weight(band) * tokens
    return totals


def mixture_weights_by_chars(docs: DataFrame, cfg: MixtureConfig) -> dict[str, float]:
    """Planned source shares computed on characters, for sampling before token counts exist (tokenizer training).

    ``total_tokens`` is ignored (it counts tokens, not characters).
    """
    counts = docs.groupBy("source").agg(F.count(F.lit(1)).alias("documents"), F.sum(F.length("text")).alias("chars"))
    available = {r["source"]: (int(r["documents"]), int(r["chars"] or 0)) for r in counts.collect()}
    plan = plan_mixture(available, cfg.model_copy(update={"total_tokens": None}))
    return {row.source: row.share_planned for row in plan}
