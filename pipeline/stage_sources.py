"""`corpus stage NAME` with the run's per-source settings: an input file of a configured source is read as
that source (its recipe's cutting and mail cleaning, its ids), and every document goes through the stage
with its source's settings, as in `corpus run` (docs/recipes.md)."""

from __future__ import annotations

import logging
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from pipeline.config import PipelineConfig, SourceConfig
from stages.base import Stage
from stages.per_source import build_stage

log = logging.getLogger("corpus")


def as_configured_source(config: PipelineConfig, source: SourceConfig) -> SourceConfig:
    """``source`` (a debugging input) as the configured source of its format whose ``paths`` hold all its
    files, read from the input's files only; else unchanged (the run's sections then apply to it)."""
    for configured in config.sources:
        if configured.format != source.format:
            continue
        if source.paths and all(_within(path, configured.paths) for path in source.paths):
            log.info(
                "[input] read as source %r (recipe %s, split_chars %s, clean %s)",
                configured.name,
                configured.recipe,
                configured.split_chars or "off",
                configured.clean,
            )
            return configured.model_copy(update={"paths": list(source.paths)})
    return source


def stage_for(stage_cls: type[Stage], section: Any, config: PipelineConfig, df: DataFrame) -> Stage:
    """The stage with each configured source's settings for the sources of ``df`` (one small ``distinct``
    of the source names); a source the config does not name gets the run's section."""
    configured = config.source_sections(stage_cls.name)
    names = [row["source"] for row in df.select("source").distinct().collect()]
    by_source = {name: configured.get(name, section) for name in names}
    return build_stage(stage_cls, section, by_source)


def _within(path: str, configured_paths: list[str]) -> bool:
    """Whether the file ``path`` is one of ``configured_paths``, inside one (a folder) or matched by one (a glob)."""
    file = Path(path).absolute()
    for configured in configured_paths:
        given = Path(configured).absolute()
        if file == given or given in file.parents or fnmatch(str(file), str(given)):
            return True
    return False
