"""Token shards: tokenize in Spark, apply the mixture, split train/valid, write Megatron shards + manifest.

Steps (each a Spark job; the driver only ever holds per-source counts and one row per shard):
1. tokenize every document (tokenizer loaded once per Python worker, ``encode_batch_fast``), append
   ``<|endoftext|>``, keep the tokens as bytes in the shard dtype; assign the split by hashing the
   document's ``minhash_cluster`` (else its ``id``) with the seed, so a near-duplicate cluster never
   crosses splits; checkpoint to Parquet.
2. count documents and tokens per source and split (an accumulator filled by the same pass), plan
   the mixture, sample it (whole repeats + fractional sample by hashed id).
3. give every document a shard by hashing its id (shard count = expected tokens / shard size), order
   each shard by a hash of id and seed, and write each shard from its Spark task: temporary names,
   then rename. Sizes are close to the target, not exact (hash assignment).
Shards are staged in ``out_dir/_staging`` and moved into ``out_dir/train`` and ``out_dir/valid``
only when all are written, replacing the previous run's (a rerun never leaves old or partial
shards behind); ``manifest.json`` is written last, so its presence marks a complete output.
The same input and config give byte-identical shards, whatever the partitioning.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from pyspark.accumulators import Accumulator, AccumulatorParam
from pyspark.sql import DataFrame, functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import BinaryType, IntegerType, LongType, StringType, StructField, StructType

from pipeline.indexed_dataset import IndexedDatasetWriter, dtype_for_vocab, sha256_file
from pipeline.mixture import MixtureConfig, apply_mixture, lookup, mixture_table, plan_mixture, unit_hash
from stages.base import worker_cached

SPLITS = ("train", "valid")


class ShardsConfig(BaseModel):
    """The ``shards`` config section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shard_size: int = Field(100_000_000, gt=0, description="target size of one shard, in shard_unit")
    shard_unit: Literal["tokens", "documents"] = Field("tokens", description="what shard_size counts")
    valid_fraction: float = Field(0.005, ge=0, lt=1, description="share of documents (or dedup clusters) in valid")
    shuffle_seed: int | None = Field(None, description="seed for split, sampling and order; default: the run seed")
    eos_token: str = Field("<|endoftext|>", description="token appended to every document")


_TOKENIZED = StructType([
    StructField("id", StringType()), StructField("source", StringType()), StructField("split", StringType()),
    StructField("n_tokens", IntegerType()), StructField("tokens", BinaryType()),
])
_WRITTEN = StructType([
    StructField("split", StringType()), StructField("shard", LongType()), StructField("path", StringType()),
    StructField("bin_sha256", StringType()), StructField("idx_sha256", StringType()),
    StructField("documents", LongType()), StructField("tokens", LongType()),
    StructField("per_source", StringType()),
])


class _CountsParam(AccumulatorParam):
    """Accumulates {(source, split): (documents, tokens)} from the tokenizing tasks."""

    def zero(self, value):
        return {}

    def addInPlace(self, total, more):
        for key, (documents, tokens) in more.items():
            before = total.get(key, (0, 0))
            total[key] = (before[0] + documents, before[1] + tokens)
        return total


def tokenize_documents(docs: DataFrame, tokenizer_path: Path, tokenizer_sha256: str, eos_id: int,
                       dtype: np.dtype, seed: int, valid_fraction: float) -> tuple[DataFrame, Accumulator]:
    """``id, source, split, n_tokens, tokens``: tokens are the document's ids plus ``eos_id``, as ``dtype`` bytes.

    Also returns an accumulator that, once the DataFrame has been computed exactly once (written), holds
    ``{(source, split): (documents, tokens)}`` (counted in the same pass, so no second job is needed).
    """
    counts = docs.sparkSession.sparkContext.accumulator({}, _CountsParam())
    path = str(tokenizer_path)
    token_type = pa.from_numpy_dtype(dtype)
    arrow_schema = to_arrow_schema(_TOKENIZED)

    def tokenize(batches):
        from tokenizers import Tokenizer

        tokenizer = worker_cached(f"tokenizer:{tokenizer_sha256}", lambda: Tokenizer.from_file(path))
        local: dict[tuple[str, str], tuple[int, int]] = {}
        for batch in batches:
            ids = []
            for encoding in tokenizer.encode_batch_fast(batch.column("text").to_pylist(), add_special_tokens=False):
                doc_ids = encoding.ids
                doc_ids.append(eos_id)
                ids.append(doc_ids)
            lists = pa.array(ids, type=pa.list_(token_type))
            offsets = np.frombuffer(lists.buffers()[1], dtype=np.int32, count=len(lists) + 1)
            tokens = pa.Array.from_buffers(pa.binary(), len(lists),
                                           [None, pa.py_buffer(offsets * dtype.itemsize), lists.buffers()[3]])
            lengths = np.diff(offsets)
            for source, split, n in zip(batch.column("source").to_pylist(), batch.column("split").to_pylist(),
                                        lengths.tolist()):
                before = local.get((source, split), (0, 0))
                local[(source, split)] = (before[0] + 1, before[1] + n)
            yield pa.RecordBatch.from_arrays(
                [batch.column("id"), batch.column("source"), batch.column("split"),
                 pa.array(lengths, pa.int32()), tokens], schema=arrow_schema)
        counts.add(local)

    cluster = F.col("id")
    if "minhash_cluster" in docs.columns:
        cluster = F.coalesce(F.col("minhash_cluster").cast("string"), F.col("id"))
    split = F.when(unit_hash(cluster, seed=seed, salt="split") < valid_fraction, "valid").otherwise("train")
    tokenized = docs.select("id", "source", split.alias("split"), F.coalesce("text", F.lit("")).alias("text")) \
        .mapInArrow(tokenize, _TOKENIZED)
    return tokenized, counts


class _ShardFiles:
    """The shards of one Spark partition (rows sorted by split, shard, order): one writer open at a time."""

    def __init__(self, staging: str, dtype: np.dtype, tmp_suffix: str):
        self.staging, self.dtype, self.tmp_suffix = staging, dtype, tmp_suffix
        self.key: tuple[str, int] | None = None
        self.writer: IndexedDatasetWriter | None = None
        self.per_source: dict[str, list[int]] = {}

    def open(self, split: str, shard: int) -> None:
        directory = Path(self.staging, split)
        directory.mkdir(parents=True, exist_ok=True)
        self.key, self.per_source = (split, shard), {}
        self.writer = IndexedDatasetWriter(directory / f"{split}_{shard:05d}", self.dtype, self.tmp_suffix)

    def add(self, token_bytes, lengths: np.ndarray, sources: list[str]) -> None:
        self.writer.add_documents(token_bytes, lengths)
        for source, n in zip(sources, lengths.tolist()):
            counts = self.per_source.setdefault(source, [0, 0])
            counts[0] += 1
            counts[1] += n

    def close(self) -> dict:
        """Finalize the open shard; its manifest row."""
        done = self.writer.finalize()
        self.writer = None
        split, shard = self.key
        return {"split": split, "shard": shard, "path": f"{split}/{done.prefix.name}",
                "bin_sha256": done.bin_sha256, "idx_sha256": done.idx_sha256, "documents": done.documents,
                "tokens": done.tokens, "per_source": json.dumps(dict(sorted(self.per_source.items())))}


def _shard_writer(staging: Path, dtype: np.dtype):
    """mapInArrow function writing the shards of a sorted partition; yields one row per shard."""
    root = str(staging)
    arrow_schema = to_arrow_schema(_WRITTEN)

    def write(batches):
        from pyspark import TaskContext

        files = _ShardFiles(root, dtype, f"tmp{TaskContext.get().taskAttemptId()}")
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                keys = list(zip(batch.column("split").to_pylist(), batch.column("shard").to_pylist()))
                sources = batch.column("source").to_pylist()
                lengths = batch.column("n_tokens").to_numpy()
                tokens = batch.column("tokens")
                offsets = np.frombuffer(tokens.buffers()[1], dtype=np.int32, count=len(tokens) + 1,
                                        offset=tokens.offset * 4)
                data = memoryview(tokens.buffers()[2])
                start = 0
                for end in range(1, len(keys) + 1):
                    if end < len(keys) and keys[end] == keys[start]:
                        continue
                    if keys[start] != files.key:
                        if files.writer is not None:
                            yield pa.RecordBatch.from_pylist([files.close()], schema=arrow_schema)
                        files.open(*keys[start])
                    files.add(data[offsets[start]:offsets[end]], lengths[start:end], sources[start:end])
                    start = end
            if files.writer is not None:
                yield pa.RecordBatch.from_pylist([files.close()], schema=arrow_schema)
        except BaseException:
            if files.writer is not None:
                files.writer.abort()
            raise

    return write


def _shard_counts(counts: dict[tuple[str, str], tuple[int, int]], rates: dict[str, float], cfg: ShardsConfig) -> dict[str, int]:
    """Shards per split: expected (documents or tokens) after sampling / shard size, at least 1 if non-empty."""
    unit = 0 if cfg.shard_unit == "documents" else 1
    expected = {split: 0.0 for split in SPLITS}
    for (source, split), values in counts.items():
        expected[split] += rates[source] * values[unit]
    return {split: max(1, math.ceil(e / cfg.shard_size)) if e > 0 else 0 for split, e in expected.items()}


def _sum_by_source(pairs) -> dict[str, tuple[int, int]]:
    """Sum (documents, tokens) pairs per source."""
    totals: dict[str, tuple[int, int]] = {}
    for source, (documents, tokens) in pairs:
        before = totals.get(source, (0, 0))
        totals[source] = (before[0] + documents, before[1] + tokens)
    return totals


def _install(staging: Path, out_dir: Path, manifest: dict) -> None:
    """Replace the previous run's shards by the staged ones named in the manifest; the manifest goes last."""
    manifest_path = out_dir / "manifest.json"
    manifest_path.unlink(missing_ok=True)
    for split in SPLITS:
        shutil.rmtree(out_dir / split, ignore_errors=True)
    for shard in manifest["shards"]:
        (out_dir / shard["path"]).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".bin", ".idx"):
            os.replace(staging / (shard["path"] + ext), out_dir / (shard["path"] + ext))
    shutil.rmtree(staging)
    tmp = manifest_path.with_name("manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, manifest_path)


def write_shards(docs: DataFrame, tokenizer_path: Path, out_dir: Path, cfg: ShardsConfig,
                 mixture_cfg: MixtureConfig, seed: int, config_hash: str) -> dict:
    """Tokenize ``docs`` (``id``, ``source``, ``text``, optional ``minhash_cluster``), mix, shard; return the manifest."""
    from tokenizers import Tokenizer

    spark = docs.sparkSession
    seed = cfg.shuffle_seed if cfg.shuffle_seed is not None else seed
    tokenizer_path, out_dir = Path(tokenizer_path), Path(out_dir)
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    eos_id = tokenizer.token_to_id(cfg.eos_token)
    if eos_id is None:
        raise ValueError(f"shards.eos_token {cfg.eos_token!r} is not in the tokenizer {tokenizer_path}")
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    dtype = dtype_for_vocab(vocab_size)
    tokenizer_sha256 = sha256_file(tokenizer_path)

    staging = out_dir / "_staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    tokenized_path = str(staging / "tokenized")
    tokenized, counted = tokenize_documents(docs, tokenizer_path, tokenizer_sha256, eos_id, dtype, seed,
                                            cfg.valid_fraction)
    # a checkpoint read once more; token bytes do not compress, and dictionaries do not help them
    tokenized.write.option("compression", "none").option("parquet.enable.dictionary", "false") \
        .parquet(tokenized_path)
    counts = counted.value
    available = _sum_by_source((source, values) for (source, _), values in counts.items())
    plan = plan_mixture(available, mixture_cfg)
    rates = {row.source: row.epochs for row in plan}
    n_shards = _shard_counts(counts, rates, cfg)

    sampled = apply_mixture(spark.read.parquet(tokenized_path), plan, seed)
    shard = F.pmod(F.xxhash64("id", F.lit(seed), F.lit("shard")), lookup(F.col("split"), n_shards).cast("long"))
    order = F.xxhash64("id", F.lit(seed), F.lit("order"))
    arranged = sampled.select("split", shard.alias("shard"), order.alias("_order"), "id", "source", "n_tokens", "tokens") \
        .repartition(max(1, sum(n_shards.values())), "split", "shard") \
        .sortWithinPartitions("split", "shard", "_order", "id")
    written = sorted((r.asDict() for r in arranged.mapInArrow(_shard_writer(staging, dtype), _WRITTEN).collect()),
                     key=lambda r: (r["split"], r["shard"]))

    shards = []
    for row in written:
        per_source = json.loads(row["per_source"])
        shards.append({
            "split": row["split"], "path": row["path"],
            "sha256": {"bin": row["bin_sha256"], "idx": row["idx_sha256"]},
            "documents": row["documents"], "tokens": row["tokens"],
            "documents_per_source": {s: v[0] for s, v in per_source.items()},
            "tokens_per_source": {s: v[1] for s, v in per_source.items()},
            "tokenizer_sha256": tokenizer_sha256, "config_hash": config_hash,
        })
    used = _sum_by_source((source, (shard["documents_per_source"][source], tokens))
                          for shard in shards for source, tokens in shard["tokens_per_source"].items())
    manifest = {
        "format": "megatron-indexed-dataset (MMIDIDX v1), one sequence per document, eos appended",
        "tokenizer": {"path": str(tokenizer_path), "sha256": tokenizer_sha256, "vocab_size": vocab_size,
                      "eos_token": cfg.eos_token, "eos_id": eos_id},
        "dtype": dtype.name,
        "config_hash": config_hash,
        "seed": seed,
        "splits": {split: {"shards": sum(1 for s in shards if s["split"] == split),
                           "documents": sum(s["documents"] for s in shards if s["split"] == split),
                           "tokens": sum(s["tokens"] for s in shards if s["split"] == split)} for split in SPLITS},
        "mixture": mixture_table(plan, used),
        "shards": shards,
    }
    _install(staging, out_dir, manifest)
    return manifest
