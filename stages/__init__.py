"""Pipeline stages, in the order they run. Each binds pure filters/ code to a DataFrame."""
from stages.base import Stage
from stages.heuristics import HeuristicsStage
from stages.langid import LangIdStage
from stages.normalize import NormalizeStage
from stages.perplexity import PerplexityStage
from stages.pii import PiiStage
from stages.quality_classifier import QualityClassifierStage

STAGES: list[type[Stage]] = [
    NormalizeStage,
    LangIdStage,
    HeuristicsStage,
    QualityClassifierStage,
    PerplexityStage,
    PiiStage,
]

STAGES_BY_NAME: dict[str, type[Stage]] = {stage.name: stage for stage in STAGES}
