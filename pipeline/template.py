"""The config as commented YAML: every section with its defaults and what each key means, for `corpus stages`
and the starter config that `corpus init` writes.

The values are the schema's defaults and the comments its field descriptions, so the text cannot drift
from what the config accepts: loading it gives exactly the defaults (tests check the round trip).
"""

from __future__ import annotations

import textwrap
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from pipeline.config import PipelineConfig, RunConfig, SourceConfig, child_annotation, model_of
from stages.registry import STAGES

LINE = 100  # a key's comment goes above it when the line would be longer
EXAMPLE_SOURCE = {"name": "web", "format": "jsonl", "paths": ["data/web/*.jsonl.gz"]}
HEADER = """\
# A corpus config with every key and its default (`corpus stages` prints it, `corpus init` starts from it).
# Keys left out take these defaults. A stage runs when its section is under `stages:` and not disabled.
"""


def filled(model: type[BaseModel], given: dict[str, Any] | None = None) -> dict[str, Any]:
    """``model``'s fields in order, as YAML-ready values: ``given`` ones, else the defaults (a required
    field without a given value is left out)."""
    given = given or {}
    out = {}
    for name, info in model.model_fields.items():
        if name in given:
            out[name] = given[name]
        elif not info.is_required():
            out[name] = jsonable(info.get_default(call_default_factory=True))
    return out


def jsonable(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else to_jsonable_python(value)


def stage_notes() -> dict[tuple[str, ...], str]:
    """The comment above each stage's section: its position and what it does."""
    return {
        ("stages", stage.name): f"{position:02d} {stage.name}: {stage.summary}"
        for position, stage in enumerate(STAGES, start=1)
    }


def template_data(
    output_dir: str, sources: list[dict[str, Any]], stages: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Every section with its defaults, the given run directory and sources, and every stage (``stages``:
    values to set in a stage's section, such as ``enabled: false``)."""
    stages = stages or {}
    return filled(
        PipelineConfig,
        {
            "run": filled(RunConfig, {"output_dir": output_dir}),
            "sources": [filled(SourceConfig, source) for source in sources],
            "stages": {stage.name: filled(stage.Config, stages.get(stage.name)) for stage in STAGES},
        },
    )


def render(data: dict[str, Any], notes: dict[tuple[str, ...], str] | None = None, header: str = HEADER) -> str:
    """``data`` (a config, or part of one from the top) as YAML with each key's description as a comment;
    ``notes`` adds comment lines above the keys at the given paths."""
    return header + "\n".join(_Writer(notes or {}).mapping(data, PipelineConfig, (), 0, describe=True)) + "\n"


class _Writer:
    """Writes a data tree as block YAML, following the schema's annotations for the comments."""

    def __init__(self, notes: dict[tuple[str, ...], str]):
        self.notes = notes

    def mapping(
        self, data: dict[str, Any], annotation: Any, path: tuple[str, ...], depth: int, describe: bool
    ) -> list[str]:
        model = model_of(annotation)
        lines, explained = [], set()
        for key, value in data.items():
            info = model.model_fields.get(key) if model is not None and describe else None
            comment = " ".join(part for part in (self.notes.get((*path, key)), info and info.description) if part)
            child = child_annotation(annotation, key)
            if depth == 0 and lines:
                lines.append("")  # a blank line between the top-level sections
            small = model_of(child)
            if small is not None and isinstance(value, dict) and _is_small(value, depth + 1) and small not in explained:
                explained.add(small)  # the fields of one-line models, explained once above the first
                fields = small.model_fields.items()
                lines += _comment("; ".join(f"{n}: {i.description}" for n, i in fields if i.description), depth)
            lines += self.entry(key, value, child, (*path, key), depth, comment)
        return lines

    def entry(
        self, key: Any, value: Any, annotation: Any, path: tuple[str, ...], depth: int, comment: str
    ) -> list[str]:
        """One key: a nested mapping for a model (or a mapping of models), items for a list of models (the
        first one with comments), else one line."""
        pad, head = "  " * depth, f"{'  ' * depth}{_flow(key)}:"
        nested = model_of(annotation) is not None or model_of(child_annotation(annotation, "")) is not None
        if isinstance(value, dict) and value and nested and not _is_small(value, depth):
            return _comment(comment, depth) + [head] + self.mapping(value, annotation, path, depth + 1, True)
        item = child_annotation(annotation, 0)
        if isinstance(value, list) and value and model_of(item) is not None:
            lines = _comment(comment, depth) + [head]
            for number, element in enumerate(value):
                body = self.mapping(element, item, (*path, number), depth + 2, describe=number == 0)
                first = next(i for i, line in enumerate(body) if not line.lstrip().startswith("#"))
                body[first] = f"{pad}  - {body[first].lstrip()}"
                lines += body
            return lines
        line = f"{head} {_flow(value)}"
        if comment and len(line) + len(comment) + 4 <= LINE:
            return [f"{line}  # {comment}"]
        if len(line) > LINE and isinstance(value, dict) and value:  # a long mapping of lists: one line per key
            block = yaml.safe_dump(value, default_flow_style=None, allow_unicode=True, width=1 << 30, sort_keys=False)
            return _comment(comment, depth) + [head] + [f"{pad}  {row}" for row in block.splitlines()]
        return _comment(comment, depth) + [line]


def _is_small(value: dict[str, Any], depth: int) -> bool:
    """A model written on one line inside a section: two scalar fields at most (a PII entity's mode and
    min_score, a mixture source's share)."""
    return depth >= 2 and len(value) <= 2 and not any(isinstance(v, (dict, list)) for v in value.values())


def _comment(text: str, depth: int) -> list[str]:
    pad = "  " * depth
    return [f"{pad}# {line}" for line in textwrap.wrap(text, max(40, LINE - len(pad) - 2))] if text else []


def _flow(value: Any) -> str:
    """A key or value as one line of YAML (flow style for lists and mappings)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...")
