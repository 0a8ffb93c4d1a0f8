"""Pipeline stages, in the order they run. Each binds pure filters/ code to a DataFrame."""
from stages.base import Stage
from stages.normalize import NormalizeStage

STAGES: list[type[Stage]] = [
    NormalizeStage,
]

STAGES_BY_NAME: dict[str, type[Stage]] = {stage.name: stage for stage in STAGES}
