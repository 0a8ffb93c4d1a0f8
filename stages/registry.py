"""Every pipeline stage, in the order they run.

Kept apart from ``stages/__init__.py`` so that a Python worker unpickling one stage's batch
function imports only that stage's module, not every stage's libraries (spaCy, presidio, ...).
"""

from stages.base import Stage
from stages.decontaminate import DecontaminateStage
from stages.dedup_minhash import DedupMinhashStage
from stages.dedup_sentence import DedupSentenceStage
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
    DedupSentenceStage,
    DedupMinhashStage,
    DecontaminateStage,
    PiiStage,
]

STAGES_BY_NAME: dict[str, type[Stage]] = {stage.name: stage for stage in STAGES}
