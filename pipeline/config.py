"""The one config schema: YAML validated into typed models before Spark starts."""

from __future__ import annotations

import hashlib
import json
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from core.errors import ConfigError
from core.mappings import merge
from filters.html_text import HtmlExtractor
from filters.text_decode import TextDecoding
from model_training.kenlm import KenlmTrainConfig
from model_training.quality_classifier import QualityClassifierTrainConfig
from pipeline.recipes import BUILTIN_RECIPES, DEFAULT_RECIPE, CleanKind, RecipeConfig
from releases.index import ReleasesConfig
from stages.registry import STAGES
from tokenizer_train.train import TokenizerConfig
from trainer_output.mixture import REHYDRATION_NEEDS_MINHASH, MixtureConfig, check_targets
from trainer_output.shards import ShardsConfig

_COMPRESSED = ("", ".gz", ".zst", ".xz")
FORMAT_SUFFIXES = {  # every input format and the file names that say it
    "parquet": (".parquet",),
    "warc": (".warc", ".warc.gz", ".wet", ".wet.gz"),
    "jsonl": tuple(name + c for name in (".jsonl", ".json", ".ndjson") for c in _COMPRESSED),
    "text": tuple(".txt" + c for c in _COMPRESSED),
    "code": (),  # folders of source files: one repository per path or per folder in it (pipeline/readers/code.py)
}
InputFormat = Literal["jsonl", "parquet", "text", "warc", "code"]
assert set(typing.get_args(InputFormat)) == set(FORMAT_SUFFIXES)
FORMATS_HELP = ".jsonl[.gz|.zst], .parquet, .warc[.gz], .wet[.gz], .txt"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="mixture source name, e.g. web, wiki, books")
    format: InputFormat = Field(description="input format")
    paths: list[str] = Field(
        min_length=1,
        description="files, folders or glob patterns; local or fsspec URLs (s3://, gs://, hf://, https://)",
    )
    text_field: str = Field("text", description="field holding the document text (jsonl, parquet)")
    url_field: str | None = Field("url", description="field holding the URL, if any")
    id_field: str | None = Field(
        None, description="field holding the document's own id, kept as its id (default: a hash of source, file, line)"
    )
    meta_fields: list[str] = Field(default_factory=list, description="extra fields copied into `meta` (JSON)")
    license: str | None = Field(None, description="licence of this source's text, shown in the dataset card")
    storage_options: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="fsspec options for remote paths (endpoint_url, profile, anon, ...); never credentials",
    )
    recipe: str = Field(DEFAULT_RECIPE, description="how this source is processed: web, reference, books, mail, ...")
    stages: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="stage name -> changes to its section for this source alone, over its recipe's (enabled: false)",
    )
    split_chars: int | None = Field(
        None,
        ge=0,
        description="cut longer documents into pieces at chapter or paragraph boundaries (0: never; null: the "
        "recipe's)",
    )
    clean: CleanKind | None = Field(
        None, description="mail: headers, quoted replies and signatures removed (null: the recipe's)"
    )
    licenses: list[str] | None = Field(
        None,
        description="code: the SPDX licences a document's `license` meta may be under; others are skipped as "
        "skipped:code:license:<licence> ([]: no check; null: the recipe's)",
    )

    @model_validator(mode="after")
    def _id_field_needs_fields(self) -> SourceConfig:
        if self.id_field and self.format not in ("jsonl", "parquet"):
            raise ValueError(f"id_field reads a field of each record: jsonl and parquet only, not {self.format}")
        return self

    @field_validator("split_chars")
    @classmethod
    def _piece_size(cls, value: int | None) -> int | None:
        if value is not None and 0 < value < 1000:
            raise ValueError("pieces under 1,000 characters are not training documents: 0 (never cut) or >= 1000")
        return value

    @field_validator("paths")
    @classmethod
    def _no_credentials_in_urls(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if re.match(r"^[a-z][a-z0-9+.-]*://[^/@]+:[^/@]*@", path):
                raise ValueError(f"{path.split('@')[-1]!r}: a password in a URL would be copied into the run directory")
        return paths

    @field_validator("storage_options")
    @classmethod
    def _no_secrets(cls, options: dict[str, Any]) -> dict[str, Any]:
        """The config is copied into the run directory: credentials come from the environment or a profile."""
        secret = [key for key in options if any(word in key.lower() for word in _SECRET_WORDS)]
        if secret:
            raise ValueError(
                f"{', '.join(secret)}: credentials do not belong in the config (it is copied into the run "
                "directory); set them in the environment (AWS_ACCESS_KEY_ID, ...) or name a `profile`"
            )
        return options


_SECRET_WORDS = ("key", "secret", "token", "password", "credential", "session")


class IngestConfig(Section):
    max_doc_bytes: int = Field(10_000_000, gt=0, description="larger records are quarantined (ingest:too_large)")
    html_extractor: HtmlExtractor = Field(
        "resiliparse", description="HTML to text for WARC responses: resiliparse (fast) or trafilatura (stricter)"
    )
    extract_timeout_s: float = Field(
        30.0, gt=0, description="a page whose extraction takes longer is quarantined (ingest:extract_timeout)"
    )
    extract_max_bytes: int = Field(
        5_000_000, gt=0, description="a larger HTML page is not extracted but quarantined (ingest:too_large)"
    )
    text_decoding: TextDecoding = Field(
        "detect",
        description="text files that are not valid UTF-8: detect (UTF-8 with a few bytes replaced, else the "
        "detected charset), replace (U+FFFD per bad byte, counted) or strict (quarantined: ingest:invalid_utf8)",
    )


class RunConfig(Section):
    output_dir: str = Field(description="the run directory (a relative path is taken from the working folder)")
    seed: int = Field(1234, description="seed of every sampling decision")
    partitions: int = Field(8, ge=1, le=100_000, description="partitions of every stage output")
    source_priority: list[str] = Field(
        default_factory=list, description="which source's copy dedup keeps first; default: the order of `sources`"
    )
    reject_text_chars: int = Field(1000, ge=-1, description="text kept in rejects (-1 = all, 0 = none)")
    input_fingerprint: Literal["stat", "content"] = Field(
        "stat",
        description="how a changed input file is noticed for resume: stat (path, size, modification time) or "
        "content (a checksum of every file, computed on the executors and cached by stat)",
    )
    work_dir: str | None = Field(
        None,
        description="the raw work area (intermediate stage data resume needs; holds raw text, owner-only): "
        "default `work/` inside the run directory; `corpus clean RUN_DIR --work` removes it",
    )
    progress_interval_s: float = Field(
        60,
        ge=0,
        description="log documents done, rate and ETA of a running stage this often, in seconds (0 = off); "
        "counts arrive as each Spark task finishes",
    )

    @field_validator("output_dir", "work_dir")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        """Absolute: the executors of a cluster do not share the driver's working folder."""
        return os.path.abspath(value) if value is not None else None


class SparkSettings(Section):
    master: str | None = Field(None, description="None: what spark-submit passes, else local[*]")
    app_name: str = "corpus"
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark properties")


class CardSettings(Section):
    pretty_name: str | None = Field(None, description="dataset name in the card (default: from the run directory)")
    license: str | None = Field(None, description="licence of the whole dataset (SPDX id or `other`)")


class PrivacyConfig(Section):
    """What the shareable part of a run directory and the printed output keep of each document (the raw work
    area, ``run.work_dir``, keeps everything): scrubbed with the ``pii`` stage's engine, or nothing."""

    rejects_text: Literal["scrubbed", "none"] = Field(
        "scrubbed",
        description="text, url and meta of rejects/NN_<stage>/: scrubbed (the pii engine, then cut to "
        "run.reject_text_chars) or none (left out)",
    )
    quarantine_detail: Literal["scrubbed", "none"] = Field(
        "scrubbed", description="quarantine/ detail (may quote the record): scrubbed or none"
    )
    card_samples: Literal["scrubbed", "none"] = Field(
        "scrubbed", description="sample documents in the dataset card and HTML report: scrubbed or none"
    )


class TrainConfig(Section):
    """Inputs and parameters of the model-training jobs (jobs/train_*.py)."""

    quality_classifier: QualityClassifierTrainConfig = QualityClassifierTrainConfig()
    kenlm: KenlmTrainConfig = KenlmTrainConfig()


def _stages_model() -> type[BaseModel]:
    fields: dict[str, Any] = {stage.name: (stage.Config | None, None) for stage in STAGES}
    return create_model("StagesConfig", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


StagesConfig = _stages_model()


class PipelineConfig(Section):
    run: RunConfig = Field(description="the run directory and the settings every stage shares")
    spark: SparkSettings = Field(SparkSettings(), description="the Spark session")
    ingest: IngestConfig = Field(IngestConfig(), description="reading the sources")
    sources: list[SourceConfig] = Field(min_length=1, description="the inputs, one entry per mixture source")
    stages: StagesConfig = Field(  # type: ignore[valid-type]
        StagesConfig(), description="the stages to run, in this order; a missing section skips its stage"
    )
    tokenizer: TokenizerConfig = Field(TokenizerConfig(), description="byte-level BPE trained on the final documents")
    mixture: MixtureConfig = Field(MixtureConfig(), description="how much of each source goes into the shards")
    shards: ShardsConfig = Field(ShardsConfig(), description="Megatron token shards and the train/valid split")
    card: CardSettings = Field(CardSettings(), description="the dataset card")
    privacy: PrivacyConfig = Field(
        PrivacyConfig(), description="what rejects, quarantine, card samples and printed output keep of a document"
    )
    train: TrainConfig = Field(TrainConfig(), description="model training jobs (jobs/train_*.py), not the run")
    releases: ReleasesConfig = Field(
        ReleasesConfig(), description="earlier releases to deduplicate against (incremental runs)"
    )

    recipes: dict[str, RecipeConfig] = Field(
        default_factory=lambda: {name: RecipeConfig(**recipe) for name, recipe in BUILTIN_RECIPES.items()},
        description="per-source recipes (docs/recipes.md): the built-in web, reference, books and mail, "
        "plus or instead of them the ones given here",
    )

    _per_source: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _apply_recipes_to_sources(cls, data: Any) -> Any:
        return apply_recipes(data)

    @model_validator(mode="after")
    def _resolve_per_source(self) -> PipelineConfig:
        self._per_source = resolve_per_source(self)
        return self

    def source_sections(self, stage_name: str) -> dict[str, Any]:
        """Source name -> its resolved section of the stage (None: the stage is off for that source)."""
        return self._per_source.get(stage_name, {})

    @model_validator(mode="after")
    def _check_sources(self) -> PipelineConfig:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        unknown_mixture = [m for m in self.mixture.sources if m not in names]
        if unknown_mixture:
            raise ValueError(f"mixture.sources names unknown sources {unknown_mixture}; sources are {names}")
        unknown = [p for p in self.run.source_priority if p not in names]
        if unknown:
            raise ValueError(f"run.source_priority names unknown sources {unknown}; sources are {names}")
        check_targets(names, self.mixture)  # with every source present; rechecked with those left at the end
        if self.shards.eos_token not in self.tokenizer.special_tokens():
            raise ValueError(
                f"shards.eos_token {self.shards.eos_token!r} is not a special token of the tokenizer "
                f"(tokenizer.eos_token is {self.tokenizer.eos_token!r}): set both to the same token"
            )
        return self

    @model_validator(mode="after")
    def _rehydration_needs_minhash(self) -> PipelineConfig:
        if self.mixture.cluster_size_weights and not any(
            s.name == "dedup_minhash" for _, s, _ in self.enabled_stages()
        ):
            raise ValueError(REHYDRATION_NEEDS_MINHASH)
        return self

    @property
    def source_priority(self) -> list[str]:
        ordered = list(self.run.source_priority)
        return ordered + [s.name for s in self.sources if s.name not in ordered]

    def enabled_stages(self) -> list[tuple[int, Any, Any]]:
        """(position, stage class, stage config) for each configured, enabled stage, in run order."""
        chosen = []
        for position, stage in enumerate(STAGES, start=1):
            section = getattr(self.stages, stage.name)
            if section is not None and section.enabled:
                chosen.append((position, stage, section))
        return chosen


def apply_recipes(data: Any) -> Any:
    """The raw config with the built-in recipes under the given ones, and each source's ``split_chars`` and
    ``clean`` taken from its recipe where the source does not set them (so config.resolved.yaml shows them)."""
    if not isinstance(data, dict):
        return data
    recipes = {**BUILTIN_RECIPES, **(data.get("recipes") or {})}
    sources = []
    for source in data.get("sources") or []:
        recipe = recipes.get(source.get("recipe", DEFAULT_RECIPE)) if isinstance(source, dict) else None
        if isinstance(recipe, dict):
            given = {key: value for key, value in source.items() if value is not None}
            source = {"split_chars": recipe.get("split_chars") or 0, "clean": recipe.get("clean", "none")} | given
            source.setdefault("licenses", list(recipe.get("licenses") or []))
        sources.append(source)
    return {**data, "recipes": recipes, "sources": sources} if "sources" in data else {**data, "recipes": recipes}


def resolve_per_source(config: PipelineConfig) -> dict[str, dict[str, Any]]:
    """Stage name -> source name -> the source's section (None: off for it), for every configured stage:
    the run's section, the recipe's changes, the source's own. Errors name the key that is wrong."""
    resolved: dict[str, dict[str, Any]] = {}
    for index, source in enumerate(config.sources):
        if source.recipe not in config.recipes:
            raise ValueError(
                f"sources.{index}.recipe: unknown recipe {source.recipe!r}; known: {sorted(config.recipes)}"
            )
        own = source.stages
        unknown = [name for name in own if getattr(config.stages, name, None) is None]
        if unknown:
            raise ValueError(
                f"sources.{index}.stages: {', '.join(unknown)} not under `stages:` (a source changes a configured "
                f"stage; configured: {', '.join(s.name for _, s, _ in config.enabled_stages())})"
            )
        for _, stage_cls, section in config.enabled_stages():
            changes = merge(config.recipes[source.recipe].stages.get(stage_cls.name, {}), own.get(stage_cls.name, {}))
            where = f"sources.{index}.stages.{stage_cls.name} (recipe {source.recipe})"
            resolved.setdefault(stage_cls.name, {})[source.name] = _source_section(stage_cls, section, changes, where)
    return resolved


def _source_section(stage_cls: Any, section: Any, changes: dict[str, Any], where: str) -> Any:
    if not changes:
        return section
    if stage_cls.card.removes_duplicates and set(changes) - {"enabled", *stage_cls.per_row_keys}:
        allowed = ", ".join(f"`{key}`" for key in ("enabled", *stage_cls.per_row_keys))
        raise ValueError(
            f"{where}: {stage_cls.name} compares documents across sources, so only {allowed} can differ per source"
        )
    try:
        changed = stage_cls.Config.model_validate(merge(section.model_dump(exclude_unset=True), changes))
    except ValidationError as error:
        raise ValueError(f"{where}: {error}") from None
    if not changed.enabled:
        return None
    return section if changed.model_dump() == section.model_dump() else changed  # no change: the run's own


def load_train_config(path: str | Path) -> TrainConfig:
    """Only the ``train`` section of a pipeline YAML (the training jobs need nothing else)."""
    raw = _read_yaml(Path(path))
    try:
        return TrainConfig.model_validate(raw.get("train") or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid config\n" + _explain(exc, prefix=("train",))) from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Read and validate a YAML config; errors name the file and the dotted key."""
    raw = _read_yaml(Path(path))
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value)
    return parse_config(raw, origin=str(path))


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return raw


def parse_config(raw: dict[str, Any], origin: str = "<config>") -> PipelineConfig:
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: invalid config\n" + _explain(exc)) from None


def _explain(exc: ValidationError, prefix: tuple = ()) -> str:
    lines = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        key = ".".join(str(part) for part in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            lines.append(f"  {key}: unknown key (allowed: {', '.join(allowed)})")
        else:
            given = err.get("input")
            shown = "" if isinstance(given, (dict, list)) else f" (got {given!r})"
            lines.append(f"  {key}: {err['msg']}{shown}")
    return "\n".join(lines)


def _allowed_keys(loc: tuple) -> list[str]:
    """The field names of the model found by following ``loc`` (field names, list indexes, mapping keys)
    from the top-level config; [] where ``loc`` leads to no model."""
    annotation: Any = PipelineConfig
    for part in loc:
        annotation = child_annotation(annotation, part)
        if annotation is None:
            return []
    model = model_of(annotation)
    return list(model.model_fields) if model is not None else []


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation names (``Model``, ``Model | None``), else None."""
    for candidate in (annotation, *_union_members(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _union_members(annotation: Any) -> tuple:
    """The members of ``A | B`` (or ``Optional[A]``); () for any other annotation."""
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return typing.get_args(annotation) if is_union else ()


def child_annotation(annotation: Any, part: str | int) -> Any:
    """The annotation one step down: a model's field, a list's item or a mapping's value."""
    model = model_of(annotation)
    if model is not None:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    for candidate in (annotation, *_union_members(annotation)):
        origin, args = typing.get_origin(candidate), typing.get_args(candidate)
        if origin is list and args:
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    node = raw
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts."""
    return hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).hexdigest()[:16]


def dump_resolved(config: PipelineConfig) -> str:
    """The exact config with every default filled in, as YAML."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
