"""Stage: documents sharing a word n-gram (default 13) with an evaluation set.

Eval sets are read on the driver (JSONL with a text field, or plain text one example per
line) into sorted arrays of 64-bit n-gram hashes and shipped with the batch function.
``mode="reject"`` rejects a contaminated document as ``decontaminate:<eval name>`` (the
first matching set in config order); ``mode="remove"`` cuts the matching spans out and
rejects the document only if less than ``min_chars`` remain. In no-space scripts
(Chinese, Japanese, Thai) every character is a token, so n counts characters there.
Evaluation examples shorter than n tokens cannot match and are ignored.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field, field_validator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField

from core.errors import ConfigError
from core.spark_batches import map_batches
from filters.dedup_text import (
    EvalNgrams,
    build_eval_ngrams,
    contaminated_spans,
    cut_spans,
    merge_eval_ngrams,
    read_eval_texts,
)
from releases.index import DECONTAMINATION, read_eval_ngrams
from stages.base import REASON, REASON_FIELD, CardSpec, Stage, StageConfig, StageContext

MATCHED = "decontaminate_matches"
CHARS_REMOVED = "decontaminate_chars_removed"


class DecontaminateConfig(StageConfig):
    eval_sets: dict[str, str] = Field(
        default_factory=dict,
        description="eval set name -> file (.jsonl/.json: one object per line; else one example per line)",
    )
    text_field: str = Field("text", description="field holding the example text in JSONL eval sets")
    ngram: int = Field(13, ge=1, description="n-gram size in words (characters in no-space scripts)")
    mode: Literal["reject", "remove"] = Field(
        "reject", description="reject contaminated documents, or remove the matching spans"
    )
    min_chars: int = Field(
        50, ge=0, description="remove mode: documents shorter than this afterwards (or left blank) are rejected"
    )

    @field_validator("eval_sets")
    @classmethod
    def _names_without_commas(cls, eval_sets: dict[str, str]) -> dict[str, str]:
        bad = [name for name in eval_sets if not name or "," in name]
        if bad:
            raise ValueError(f"stages.decontaminate.eval_sets: names must be non-empty without commas: {bad}")
        return eval_sets


def read_eval_sets(cfg: DecontaminateConfig) -> dict[str, list[str]]:
    """Every configured eval set's examples; an unreadable one is a config error naming its key and file."""

    sets = {}
    for name, path in cfg.eval_sets.items():
        try:
            sets[name] = read_eval_texts(path, cfg.text_field)
        except (OSError, ValueError) as err:  # missing, unreadable, not UTF-8, broken JSON
            raise ConfigError(f"stages.decontaminate.eval_sets.{name} ({path}): {err}") from err
    return sets


class DecontaminateStage(Stage):
    name = "decontaminate"
    libraries = ("numpy",)
    Config = DecontaminateConfig
    summary = "Rejects documents (or removes spans) sharing a 13-gram with configured evaluation sets."
    card = CardSpec(removes_duplicates=True)
    release_table = DECONTAMINATION

    def input_files(self) -> list[str]:
        return list(self.config.eval_sets.values())

    def preflight(self) -> None:
        read_eval_sets(self.config)

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        cfg = self.config  # plain values only in closures: a pickled config would import every stage in the workers
        mode, min_chars = cfg.mode, cfg.min_chars
        eval_ngrams = ctx.spark.sparkContext.broadcast(self.eval_ngrams(ctx))

        def decontaminate_batch(batch: pa.RecordBatch) -> dict:
            texts, matched, removed, reasons = [], [], [], []
            evals = eval_ngrams.value
            for text in batch.column("text").to_pylist():
                found = contaminated_spans(text, evals)
                new_text, reason = text, None
                if found and mode == "reject":
                    reason = f"decontaminate:{next(iter(found))}"
                elif found:
                    new_text = cut_spans(text, [span for spans in found.values() for span in spans])
                    if len(new_text) < min_chars or not new_text.strip():
                        reason = f"decontaminate:{next(iter(found))}"
                texts.append(new_text)
                matched.append(",".join(found) or None)
                removed.append(len(text) - len(new_text))
                reasons.append(reason)
            return {"text": texts, MATCHED: matched, CHARS_REMOVED: removed, REASON: reasons}

        return map_batches(
            df,
            decontaminate_batch,
            [
                StructField(MATCHED, StringType(), True),
                StructField(CHARS_REMOVED, IntegerType(), False),
                REASON_FIELD,
            ],
        )

    def eval_ngrams(self, ctx: StageContext) -> EvalNgrams:
        """The configured evaluation sets' n-grams, with those of every earlier release's decontamination
        index (a set of the same name is united), so a run removes whatever its releases removed."""
        own = build_eval_ngrams(read_eval_sets(self.config), self.config.ngram)
        released = [release for release in ctx.releases if release.table(DECONTAMINATION)]
        self.check_releases(ctx.releases)
        return merge_eval_ngrams(own, *(read_eval_ngrams(release) for release in released))

    def release_parameters(self) -> dict:
        return {"ngram": self.config.ngram}

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        """Documents matching each eval set (rejected or trimmed), and characters removed."""
        both = kept.select(MATCHED, CHARS_REMOVED).union(rejected.select(MATCHED, CHARS_REMOVED))
        per_set = (
            both.where(F.col(MATCHED).isNotNull())
            .select(F.explode(F.split(MATCHED, ",")).alias("eval_set"))
            .groupBy("eval_set")
            .count()
        )
        counts = {row["eval_set"]: int(row["count"]) for row in per_set.collect()}
        chars = both.agg(F.sum(CHARS_REMOVED)).first()[0]
        return {
            "documents_per_eval_set": {name: counts.get(name, 0) for name in [*self.config.eval_sets, *counts]},
            "chars_removed": int(chars or 0),
        }
