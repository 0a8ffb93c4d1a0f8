"""A stage whose settings differ between sources (recipes, ``sources[].stages``): the same stage run
once per group of sources that share settings, the results put back together.

Each group's rows go through an ordinary stage built with that group's section, so no stage needs to
know about sources; the rows of a source for which the stage is off pass through it, kept. A scored
stage scores each group with its own settings into the one ``scores/`` and decides each group with
its own thresholds. When every source has the run's section, the stage is the plain stage itself:
the same hash and output as without per-source settings.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from pydantic import Field, create_model
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from core.mappings import changed_values
from stages.base import DETAIL, REASON, ScoredStage, Stage, StageConfig, StageContext

PER_SOURCE = "per_source"  # config key: each source's changes to the run's section (stats, resume hash, card)


def build_stage(stage_cls: type[Stage], section: StageConfig, by_source: dict[str, StageConfig | None]) -> Stage:
    """``stage_cls`` for every source: plain when all sources have ``section``, else per group of sources."""
    if all(source_section is section for source_section in by_source.values()):
        return stage_cls(section)
    wrapper = PerSourceScoredStage if issubclass(stage_cls, ScoredStage) else PerSourceStage
    return wrapper(stage_cls, section, by_source)


def source_changes(section: StageConfig, source_section: StageConfig | None) -> dict[str, Any]:
    """What a source's section changes from the run's, as dotted keys ({"enabled": false} when off)."""
    if source_section is None:
        return {"enabled": False}
    return changed_values(section.model_dump(mode="json"), source_section.model_dump(mode="json"))


class PerSourceStage(Stage):
    """``stage_cls`` run per group of sources with equal settings; sources with the stage off pass through."""

    def __init__(self, stage_cls: type[Stage], section: StageConfig, by_source: dict[str, StageConfig | None]):
        groups: dict[str, dict[str, StageConfig]] = {}
        for source, source_section in by_source.items():
            if source_section is not None:
                key = source_section.model_dump_json(exclude=set(stage_cls.per_row_keys))
                groups.setdefault(key, {})[source] = source_section
        self.groups = [(sorted(sections), _group_stage(stage_cls, sections)) for sections in groups.values()]
        self.off = sorted(source for source, source_section in by_source.items() if source_section is None)
        for attribute in ("name", "summary", "libraries", "card", "reads_lang", "without_lang", "details_quote_text"):
            setattr(self, attribute, getattr(stage_cls, attribute))
        changes = {source: source_changes(section, by_source[source]) for source in sorted(by_source)}
        config_cls = create_model(
            f"{stage_cls.Config.__name__}PerSource",
            __base__=stage_cls.Config,
            **{PER_SOURCE: (dict[str, Any], Field(default_factory=dict, description="each source's changes"))},
        )
        super().__init__(config_cls.model_validate({**section.model_dump(exclude_unset=True), PER_SOURCE: changes}))

    def preflight(self) -> None:
        for _, stage in self.groups:
            stage.preflight()

    def input_files(self) -> list[str]:
        return list(dict.fromkeys(path for _, stage in self.groups for path in stage.input_files()))

    def environment_fingerprint(self) -> dict[str, Any]:
        return {",".join(sources): stage.environment_fingerprint() for sources, stage in self.groups}

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        parts = [stage.apply(_rows_of(df, sources), ctx) for sources, stage in self.groups]
        return _union(parts, _rows_of(df, self.off))

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict[str, Any]:
        """The stage's own summary over every source's rows (computed by the stage of the largest group, with
        its settings), then per source what its settings change, the rows it kept and rejected and, when the
        stage ran in more than one group, ``extra``: its group's summary over the rows of that group's sources."""
        counts = {
            (row["source"], row["kept"]): row["count"]
            for row in kept.select("source", F.lit(True).alias("kept"))
            .unionByName(rejected.select("source", F.lit(False).alias("kept")))
            .groupBy("source", "kept")
            .count()
            .collect()
        }
        per_source = {
            source: {
                "changes": changes,
                "kept": counts.get((source, True), 0),
                "rejected": counts.get((source, False), 0),
            }
            for source, changes in getattr(self.config, PER_SOURCE).items()
        }
        if not self.groups:  # off for every source
            return {PER_SOURCE: per_source}
        if len(self.groups) > 1:  # each group's own summary, with its settings, over its sources' rows
            for sources, stage in self.groups:
                extra = stage.summarize(_rows_of(kept, sources), _rows_of(rejected, sources))
                for source in sources:
                    per_source[source]["extra"] = extra
        _, main = max(self.groups, key=lambda group: len(group[0]))
        return {**main.summarize(kept, rejected), PER_SOURCE: per_source}


class PerSourceScoredStage(PerSourceStage, ScoredStage):
    """A scored stage per group of sources: each group scored and decided with its own settings."""

    def scoring_config(self) -> Any:
        return {"groups": [[sources, stage.scoring_config()] for sources, stage in self.groups], "off": self.off}

    def score(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        parts = [stage.score(_rows_of(df, sources), ctx) for sources, stage in self.groups]
        return _union(parts, _rows_of(df, self.off), passing_reason=False)

    def decide(self, scored: DataFrame, ctx: StageContext) -> DataFrame:
        parts = [stage.decide(_rows_of(scored, sources), ctx) for sources, stage in self.groups]
        return _union(parts, _rows_of(scored, self.off))


def _group_stage(stage_cls: type[Stage], sections: dict[str, StageConfig]) -> Stage:
    """The stage for one group of sources; one with ``per_row_keys`` gets each source's section as well."""
    first = sections[min(sections)]
    return stage_cls(first, source_sections=sections) if stage_cls.per_row_keys else stage_cls(first)


def _rows_of(df: DataFrame, sources: list[str]) -> DataFrame:
    return df.where(F.col("source").isin(sources))


def _union(parts: list[DataFrame], passing: DataFrame, passing_reason: bool = True) -> DataFrame:
    """The groups' results and the passing rows (kept: ``reason`` null) as one DataFrame with the groups'
    columns; a column one group lacks (a signal another group's settings add) is null for its rows."""
    columns = list(dict.fromkeys(column for part in parts for column in part.columns))
    if passing_reason:
        passing = passing.withColumn(REASON, F.lit(None).cast("string"))
        if DETAIL in columns:
            passing = passing.withColumn(DETAIL, F.lit(None).cast("string"))
    passing = passing.select(*[column for column in passing.columns if column in columns or not parts])
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), [*parts, passing])
