"""Byte-level BPE training on a deterministic, mixture-weighted sample of the cleaned corpus.

The sample is drawn per (source, language) group, as BLOOM did: each source gets its weight
(the mixture shares), split over its languages in proportion to ``chars ** language_alpha``
(1 = as found; below 1 lifts small languages, XLM-R used 0.3). Documents are chosen by hashing
their id with the seed; the sample is regrouped into partitions of at most ~64 MB (few Spark jobs)
and streamed to the trainer partition by partition (``toLocalIterator``), so the corpus is never
collected on the driver. A held-out slice of the
documents (also by hash: ``heldout_fraction``, and at least ``heldout_min_documents`` of every language,
so a small language still gets a figure) is kept out of the sample and used for the evaluation.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from tokenizer_train.evaluate import evaluate_tokenizer
from trainer_output.indexed_dataset import sha256_file
from trainer_output.mixture import lookup, repeat_sample, unit_hash

VOCAB_MULTIPLE = 128
BYTE_ALPHABET = 256
UNKNOWN_LANG = "und"
HELDOUT_U = "_heldout_u"  # a document's hash in [0, 1): held out when below the fraction or its language's cut
_ITER_BATCH = 1000
STREAM_PARTITION_BYTES = 64 << 20  # the sample reaches the driver one partition (about this size) at a time
MAX_BYTES_PER_CHAR = 4


class TokenizerConfig(BaseModel):
    """The ``tokenizer`` config section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vocab_size: int = Field(
        32_768, gt=0, description="total vocabulary incl. special tokens; rounded up to a multiple of 128"
    )
    min_frequency: int = Field(2, ge=1, description="a pair must occur this often to be merged")
    eos_token: str = Field(
        "<|endoftext|>", description="end-of-document token, appended to every document in the shards"
    )
    pad_token: str = Field("<|pad|>", description="padding token")
    reserved_tokens: int = Field(16, ge=0, description="number of <|reserved_N|> special tokens kept for later use")
    split_digits: bool = Field(True, description="every digit its own token (as LLaMA)")
    normalization: Literal["none", "NFC", "NFKC"] = Field(
        "none", description="Unicode normalisation inside the tokenizer"
    )
    sample_chars: int = Field(100_000_000, gt=0, description="characters in the training sample")
    language_alpha: float = Field(1.0, gt=0, le=1, description="within a source, language weight ~ chars**alpha")
    max_repeats: float = Field(1.0, ge=1, description="most times one document may appear in the sample")
    heldout_fraction: float = Field(0.01, ge=0, lt=1, description="documents kept out of the sample for evaluation")
    heldout_min_documents: int = Field(
        20,
        ge=0,
        description="at least this many documents of every language are held out for the evaluation, however "
        "small the fraction (never more than half of a language's documents)",
    )
    max_train_run_chars: int = Field(
        1000,
        ge=16,
        description="for training only, runs of non-space (or space) characters are cut into pieces "
        "this long: BPE training time grows with the square of a word's length",
    )

    @field_validator("vocab_size")
    @classmethod
    def _round_vocab(cls, value: int) -> int:
        return -(-value // VOCAB_MULTIPLE) * VOCAB_MULTIPLE

    @model_validator(mode="after")
    def _room_for_merges(self) -> TokenizerConfig:
        if self.vocab_size <= BYTE_ALPHABET + len(self.special_tokens()):
            raise ValueError(
                f"tokenizer.vocab_size {self.vocab_size} leaves no room for merges "
                f"after {BYTE_ALPHABET} bytes and {len(self.special_tokens())} special tokens"
            )
        return self

    def special_tokens(self) -> list[str]:
        return [self.eos_token, self.pad_token, *reserved_names(0, self.reserved_tokens)]


def reserved_names(start: int, count: int) -> list[str]:
    return [f"<|reserved_{i}|>" for i in range(start, start + count)]


def bpe_trainer(cfg: TokenizerConfig) -> trainers.BpeTrainer:
    """The byte-level BPE trainer for ``cfg``: every byte in the initial alphabet, so no text is unknown."""
    return trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        min_frequency=cfg.min_frequency,
        special_tokens=cfg.special_tokens(),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )


def build_tokenizer(cfg: TokenizerConfig) -> Tokenizer:
    """An untrained byte-level BPE tokenizer: byte-level pre-tokenizer and decoder, no unknown token."""
    tokenizer = Tokenizer(models.BPE())
    if cfg.normalization != "none":
        tokenizer.normalizer = getattr(normalizers, cfg.normalization)()
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if cfg.split_digits:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        tokenizer.pre_tokenizer = byte_level
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def cut_long_runs(max_chars: int) -> pre_tokenizers.PreTokenizer:
    """Split runs of ``max_chars`` non-space (or space) characters off as pieces of their own.

    Used while training only: a single 300,000-letter "word" (a base64 blob, a row of x's) alone
    takes the BPE trainer about a minute; cut into pieces it takes a fraction of a second. Text
    without such runs is split exactly as before.
    """
    return pre_tokenizers.Split(Regex(rf"\S{{{max_chars}}}|\s{{{max_chars}}}"), behavior="isolated")


def sample_rates(
    chars: dict[tuple[str, str], int],
    sample_chars: int,
    weights: dict[str, float] | None,
    language_alpha: float,
    max_repeats: float,
) -> dict[tuple[str, str], float]:
    """Sampling rate per (source, language) group so the sample has ``sample_chars`` characters, mixed by weight.

    ``weights`` are relative source weights (default: characters available); sources without a weight are
    left out, and so are weights of sources without documents here (all of a tiny source may be held out). Within a source, languages are weighted by ``chars ** language_alpha``. A rate is capped at
    ``max_repeats`` (a small group cannot be repeated without limit to fill its share).
    """
    source_chars: dict[str, int] = {}
    for (source, _), n in chars.items():
        source_chars[source] = source_chars.get(source, 0) + n
    if weights is None:
        weights = dict(source_chars)
    weight_sum = sum(weights.get(s, 0.0) for s in source_chars)
    if weight_sum <= 0:
        raise ValueError("tokenizer sample weights are all zero")
    lang_norm: dict[str, float] = {}
    for (source, _), n in chars.items():
        lang_norm[source] = lang_norm.get(source, 0.0) + n**language_alpha
    rates = {}
    for (source, lang), n in chars.items():
        if n == 0:
            rates[(source, lang)] = 0.0
            continue
        share = weights.get(source, 0.0) / weight_sum * n**language_alpha / lang_norm[source]
        rates[(source, lang)] = min(sample_chars * share / n, max_repeats)
    return rates


def heldout_cuts(docs: DataFrame, fraction: float, min_documents: int) -> dict[str, float]:
    """Per language that the fraction leaves short, the hash value (``HELDOUT_U``) up to which its documents
    are held out, so that at least ``min(min_documents, n // 2)`` of its ``n`` documents are.

    Only the short languages are ranked, and only their documents below a bound that holds the needed
    number with near certainty (widened to the whole language when it does not), so no large language is
    sorted; the driver gets per-language counts and one value per language.
    """
    if min_documents == 0:
        return {}
    below = (F.col(HELDOUT_U) < fraction).cast("long")
    counts = docs.groupBy("lang").agg(F.count(F.lit(1)).alias("n"), F.sum(below).alias("below")).collect()
    need = {r["lang"]: min(min_documents, r["n"] // 2) for r in counts}
    short = {r["lang"]: need[r["lang"]] for r in counts if need[r["lang"]] > r["below"]}
    size = {r["lang"]: r["n"] for r in counts}
    bound = {lang: min(1.0, (k + 4 * math.sqrt(k) + 8) / size[lang]) for lang, k in short.items()}
    cuts: dict[str, float] = {}
    while short:
        rank = F.row_number().over(Window.partitionBy("lang").orderBy(HELDOUT_U, "id"))
        rows = (
            docs.where(F.col("lang").isin(list(short)) & (F.col(HELDOUT_U) < lookup(F.col("lang"), bound)))
            .select("lang", HELDOUT_U, rank.alias("rank"))
            .where(F.col("rank") == lookup(F.col("lang"), short))
            .collect()
        )
        cuts.update({r["lang"]: r[HELDOUT_U] for r in rows})
        short = {lang: k for lang, k in short.items() if lang not in cuts}
        bound = dict.fromkeys(short, 1.01)  # the bound held too few (rare): rank the whole language
    return cuts


def _group_key(source, lang):
    return F.concat_ws("\x1f", source, lang)


def _stream_texts(sample: DataFrame, counter: dict) -> Iterator[list[str]]:
    """Batches of sample texts, fetched from Spark one partition at a time."""
    batch: list[str] = []
    for row in sample.toLocalIterator(prefetchPartitions=True):
        batch.append(row["text"])
        counter["documents"] += 1
        counter["chars"] += len(row["text"])
        if len(batch) == _ITER_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_tokenizer(tokenizer: Tokenizer, cfg: TokenizerConfig, out_dir: Path) -> Path:
    """Pad a trained tokenizer with reserved tokens up to ``cfg.vocab_size``; write ``tokenizer.json`` and
    ``tokenizer_config.json`` (for ``transformers.AutoTokenizer``) atomically. Returns the tokenizer.json path."""
    learned = tokenizer.get_vocab_size(with_added_tokens=True)
    padding = reserved_names(cfg.reserved_tokens, cfg.vocab_size - learned)
    tokenizer.add_special_tokens([AddedToken(name, special=True, normalized=False) for name in padding])
    path = out_dir / "tokenizer.json"
    _write_atomic(path, tokenizer.to_str())
    _write_atomic(
        out_dir / "tokenizer_config.json",
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "eos_token": cfg.eos_token,
                "pad_token": cfg.pad_token,
                "additional_special_tokens": reserved_names(0, cfg.reserved_tokens + len(padding)),
            },
            indent=2,
        ),
    )
    return path


def train_tokenizer(
    docs: DataFrame, cfg: TokenizerConfig, out_dir: Path, seed: int, weights: dict[str, float] | None = None
) -> dict:
    """Train on a weighted sample of ``docs`` (``id``, ``source``, ``text``, optional ``lang``); save ``out_dir/tokenizer.json``.

    Returns the stats: vocabulary, the per-group sampling plan, the streamed sample size, the
    tokenizer's sha256 and the held-out evaluation per language.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lang = F.coalesce(F.col("lang"), F.lit(UNKNOWN_LANG)) if "lang" in docs.columns else F.lit(UNKNOWN_LANG)
    base = docs.select("id", "source", lang.alias("lang"), "text").where(F.col("text").isNotNull())
    base = base.withColumn(HELDOUT_U, unit_hash(F.col("id"), seed=seed, salt="tokenizer_heldout"))
    cuts = heldout_cuts(base, cfg.heldout_fraction, cfg.heldout_min_documents)
    held = (F.col(HELDOUT_U) < cfg.heldout_fraction) | F.coalesce(
        F.col(HELDOUT_U) <= lookup(F.col("lang"), cuts), F.lit(False)
    )
    pool = base.where(~held).drop(HELDOUT_U)
    heldout = base.where(held).drop(HELDOUT_U)

    group_rows = (
        pool.groupBy("source", "lang")
        .agg(F.count(F.lit(1)).alias("documents"), F.sum(F.length("text")).alias("chars"))
        .collect()
    )
    chars = {(r["source"], r["lang"]): int(r["chars"] or 0) for r in group_rows}
    rates = sample_rates(chars, cfg.sample_chars, weights, cfg.language_alpha, cfg.max_repeats)
    rate_by_key = {f"{source}\x1f{lang}": rate for (source, lang), rate in rates.items()}
    expected_chars = sum(rate * chars[key] for key, rate in rates.items())
    stream_partitions = max(1, math.ceil(expected_chars * MAX_BYTES_PER_CHAR / STREAM_PARTITION_BYTES))
    sample = (
        repeat_sample(
            pool,
            lookup(_group_key(F.col("source"), F.col("lang")), rate_by_key),
            seed,
            salt="tokenizer_sample",
            max_rate=max(rates.values(), default=0),
        )
        .select("id", "text")
        .repartition(stream_partitions, "id")
        .sortWithinPartitions("id")
    )

    tokenizer = build_tokenizer(cfg)
    trainer = bpe_trainer(cfg)
    streamed = {"documents": 0, "chars": 0}
    encoding_pre_tokenizer = tokenizer.pre_tokenizer
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([cut_long_runs(cfg.max_train_run_chars), encoding_pre_tokenizer])
    tokenizer.train_from_iterator(_stream_texts(sample, streamed), trainer=trainer)
    tokenizer.pre_tokenizer = encoding_pre_tokenizer
    learned = tokenizer.get_vocab_size(with_added_tokens=True)
    path = save_tokenizer(tokenizer, cfg, out_dir)

    return {
        "path": os.path.relpath(path, out_dir.parent),  # relative to the run directory: a copied run still works
        "sha256": sha256_file(path),
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "learned_vocab_size": learned,
        "padding_tokens_added": tokenizer.get_vocab_size(with_added_tokens=True) - learned,
        "sample_plan": [
            {
                "source": r["source"],
                "lang": r["lang"],
                "documents": int(r["documents"]),
                "chars": int(r["chars"] or 0),
                "rate": rates[(r["source"], r["lang"])],
                "chars_planned": rates[(r["source"], r["lang"])] * int(r["chars"] or 0),
            }
            for r in sorted(group_rows, key=lambda r: (r["source"], r["lang"]))
        ],
        "sample": streamed,
        "evaluation": evaluate_tokenizer(heldout, path),
    }
