"""Token shards: tokenize in Spark, apply the mixture, split train/valid, write Megatron shards + manifest.

Two Spark passes; the driver only ever holds per-source counts and one row per shard:
1. tokenize every document (encoder loaded once per Python worker: tiktoken where it gives the
   tokenizer's ids, else ``tokenizers``; trainer_output/encoder.py) and append ``<|endoftext|>``. Each task appends its documents' tokens, in the shard dtype, to its own
   segment file under ``out_dir/_staging/segments`` and returns one small row per document (id,
   source, split, segment, byte offset, token count), written as Parquet; documents and tokens per
   source and split are summed by an accumulator in the same pass. The split comes from hashing the
   document's ``minhash_cluster`` (else its ``id``) with the seed, so a near-duplicate cluster never
   crosses splits.
2. plan the mixture from those counts and sample it (whole repeats + fractional sample by hashed
   id); give every document copy a shard by hashing its id (shard count = expected size / shard
   size, so sizes are close to the target, not exact) and an order by hashing id and seed. Only the
   small rows are shuffled; each shard's task copies its documents' tokens from the segments into
   the shard, under temporary names, then renames it.
Shards are staged in ``out_dir/_staging`` and moved into ``out_dir/train`` and ``out_dir/valid``
only when all are written, replacing the previous run's (a rerun never leaves old or partial
shards behind); ``manifest.json`` is written last, so its presence marks a complete output. Every path
in it (shards, tokenizer) is relative to the run directory, the parent of ``out_dir``.
The same input and config give byte-identical shards, whatever the partitioning.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from pyspark.accumulators import Accumulator, AccumulatorParam
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType

from core.progress import StageProgress
from core.spark_batches import take_document_counter, worker_cached
from stages.dedup_minhash import CLUSTER, CLUSTER_SIZE
from trainer_output import provenance
from trainer_output.encoder import DocumentEncoder, why_not_tiktoken
from trainer_output.indexed_dataset import IndexedDatasetWriter, dtype_for_vocab, sha256_file
from trainer_output.mixture import (
    REHYDRATION_NEEDS_MINHASH,
    MixtureConfig,
    MixtureError,
    apply_mixture,
    lookup,
    mixture_table,
    plan_mixture,
    rehydration_band,
    unit_hash,
    weighted_tokens,
)

SPLITS = ("train", "valid")
log = logging.getLogger("corpus")
_OPEN_SEGMENTS = 64
WRITER_TASKS_PER_CORE = 2  # shard-writing tasks per core: enough to even out shards of unequal size


class ShardsConfig(BaseModel):
    """The ``shards`` config section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shard_size: int = Field(100_000_000, gt=0, description="target size of one shard, in shard_unit")
    shard_unit: Literal["tokens", "documents"] = Field("tokens", description="what shard_size counts")
    valid_fraction: float = Field(0.005, ge=0, lt=1, description="share of documents (or dedup clusters) in valid")
    shuffle_seed: int | None = Field(None, description="seed for split, sampling and order; default: the run seed")
    eos_token: str = Field("<|endoftext|>", description="token appended to every document")
    encoder: Literal["auto", "tokenizers"] = Field(
        "auto",
        description="auto: tiktoken where it provably gives the tokenizer's ids (about 4x faster), else "
        "tokenizers; tokenizers: always the HF library (trainer_output/encoder.py)",
    )


_TOKENIZED = StructType(
    [
        StructField("id", StringType()),
        StructField("source", StringType()),
        StructField("split", StringType()),
        StructField("rehydration_band", IntegerType()),
        StructField("file", StringType()),
        StructField("line", LongType()),
        StructField("segment", StringType()),
        StructField("offset", LongType()),
        StructField("n_tokens", IntegerType()),
    ]
)
_WRITTEN = StructType(
    [
        StructField("split", StringType()),
        StructField("shard", LongType()),
        StructField("path", StringType()),
        StructField("bin_sha256", StringType()),
        StructField("idx_sha256", StringType()),
        StructField("provenance_sha256", StringType()),
        StructField("documents", LongType()),
        StructField("tokens", LongType()),
        StructField("per_source", StringType()),
    ]
)


class _CountsParam(AccumulatorParam):
    """Accumulates {(source, split, rehydration band): (documents, tokens)} from the tokenizing tasks."""

    def zero(self, value):
        return {}

    def addInPlace(self, total, more):
        for key, (documents, tokens) in more.items():
            before = total.get(key, (0, 0))
            total[key] = (before[0] + documents, before[1] + tokens)
        return total


def tokenize_documents(
    docs: DataFrame,
    tokenizer_path: Path,
    tokenizer_sha256: str,
    use_tiktoken: bool,
    eos_id: int,
    dtype: np.dtype,
    seed: int,
    valid_fraction: float,
    segments_dir: Path,
    mixture_cfg: MixtureConfig,
) -> tuple[DataFrame, Accumulator]:
    """Tokenize into segment files; ``id, source, split, rehydration_band, file, line, segment, offset,
    n_tokens`` rows point into them (``file``, ``line``: the input record, for the provenance sidecars).

    A document's tokens (its ids plus ``eos_id``, as ``dtype``) are ``n_tokens`` items at byte ``offset``
    of ``segments_dir/<segment>``. Each task attempt writes its own segment, so a retried task never
    mixes with the first attempt; only the rows of the attempt Spark keeps point anywhere. The returned
    accumulator holds ``{(source, split, band): (documents, tokens)}`` once the rows have been written (once).
    """
    counts = docs.sparkSession.sparkContext.accumulator({}, _CountsParam())
    progress = take_document_counter()
    path, directory = str(tokenizer_path), str(segments_dir)
    token_type = pa.from_numpy_dtype(dtype)
    arrow_schema = to_arrow_schema(_TOKENIZED)

    def tokenize(batches):
        from pyspark import TaskContext

        encoder = worker_cached(
            f"encoder:{tokenizer_sha256}:{use_tiktoken}", lambda: DocumentEncoder(path, use_tiktoken)
        )
        context = TaskContext.get()
        segment = f"part-{context.partitionId():05d}-{context.taskAttemptId()}.tok"
        local: dict[tuple[str, str, int], tuple[int, int]] = {}
        position = 0
        with open(os.path.join(directory, segment), "wb") as out:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                if progress is not None:
                    progress.add(batch.num_rows)
                ids = []
                for doc_ids in encoder.encode_batch(batch.column("text").to_pylist()):
                    doc_ids.append(eos_id)
                    ids.append(doc_ids)
                lists = pa.array(ids, type=pa.list_(token_type))
                offsets = np.frombuffer(lists.buffers()[1], dtype=np.int32, count=len(lists) + 1).astype(np.int64)
                out.write(memoryview(lists.buffers()[3])[: offsets[-1] * dtype.itemsize])
                lengths = np.diff(offsets)
                keys = zip(
                    batch.column("source").to_pylist(),
                    batch.column("split").to_pylist(),
                    batch.column("rehydration_band").to_pylist(),
                )
                for key, n in zip(keys, lengths.tolist()):
                    before = local.get(key, (0, 0))
                    local[key] = (before[0] + 1, before[1] + n)
                yield pa.RecordBatch.from_arrays(
                    [
                        *(batch.column(name) for name in _TOKENIZED.fieldNames()[:6]),
                        pa.array([segment] * len(ids), pa.string()),
                        pa.array(position + offsets[:-1] * dtype.itemsize),
                        pa.array(lengths, pa.int32()),
                    ],
                    schema=arrow_schema,
                )
                position += int(offsets[-1]) * dtype.itemsize
        counts.add(local)

    tokenized = _tokenizer_input(docs, seed, valid_fraction, mixture_cfg).mapInArrow(tokenize, _TOKENIZED)
    return tokenized, counts


def _tokenizer_input(docs: DataFrame, seed: int, valid_fraction: float, mixture_cfg: MixtureConfig) -> DataFrame:
    """The columns the tokenizing pass keeps, with each document's split (by dedup cluster) and rehydration
    band, then ``text``; ``file`` and ``line`` are null for documents that did not come from a run's ingest."""
    cluster = F.col("id")
    if CLUSTER in docs.columns:
        cluster = F.coalesce(F.col(CLUSTER).cast("string"), F.col("id"))
    split = F.when(unit_hash(cluster, seed=seed, salt="split") < valid_fraction, "valid").otherwise("train")
    size = F.col(CLUSTER_SIZE) if CLUSTER_SIZE in docs.columns else F.lit(1)
    return docs.select(
        "id",
        "source",
        split.alias("split"),
        rehydration_band(size, mixture_cfg).alias("rehydration_band"),
        *(
            F.col(c) if c in docs.columns else F.lit(None).cast(t).alias(c)
            for c, t in (("file", "string"), ("line", "long"))
        ),
        F.coalesce("text", F.lit("")).alias("text"),
    )


class _Segments:
    """Read token bytes from segment files, keeping the most recently used ones open."""

    def __init__(self, directory: str):
        self.directory = directory
        self.open_files: OrderedDict[str, int] = OrderedDict()

    def read(self, segment: str, offset: int, size: int) -> bytes:
        fd = self.open_files.pop(segment, None)
        if fd is None:
            fd = os.open(os.path.join(self.directory, segment), os.O_RDONLY)
            if len(self.open_files) >= _OPEN_SEGMENTS:
                os.close(self.open_files.popitem(last=False)[1])
        self.open_files[segment] = fd
        data = os.pread(fd, size, offset)
        if len(data) != size:
            raise OSError(f"{self.directory}/{segment}: short read at byte {offset}")
        return data

    def close(self) -> None:
        for fd in self.open_files.values():
            os.close(fd)
        self.open_files.clear()


class _ShardFiles:
    """The shards of one Spark partition (rows sorted by split, shard, order): one writer open at a time,
    with the shard's provenance rows, written beside it when it is finalized."""

    def __init__(self, staging: str, dtype: np.dtype, tmp_suffix: str):
        self.staging, self.dtype, self.tmp_suffix = staging, dtype, tmp_suffix
        self.key: tuple[str, int] | None = None
        self.writer: IndexedDatasetWriter | None = None
        self.per_source: dict[str, list[int]] = {}
        self.provenance: list[pa.Table] = []

    def open(self, split: str, shard: int) -> None:
        directory = Path(self.staging, split)
        directory.mkdir(parents=True, exist_ok=True)
        self.key, self.per_source, self.provenance = (split, shard), {}, []
        self.writer = IndexedDatasetWriter(directory / f"{split}_{shard:05d}", self.dtype, self.tmp_suffix)

    def add(self, token_bytes, lengths: np.ndarray, sources: list[str], provenance_rows: pa.Table) -> None:
        self.writer.add_documents(token_bytes, lengths)
        self.provenance.append(provenance_rows)
        for source, n in zip(sources, lengths.tolist()):
            counts = self.per_source.setdefault(source, [0, 0])
            counts[0] += 1
            counts[1] += n

    def close(self) -> dict:
        """Finalize the open shard and its provenance sidecar; its manifest row."""
        sidecar_tmp = self.writer.prefix.with_name(
            f"{self.writer.prefix.name}{provenance.SIDECAR_SUFFIX}.{self.tmp_suffix}"
        )
        provenance.write_sidecar(self.provenance, sidecar_tmp)
        done = self.writer.finalize()
        self.writer = None
        sidecar = done.prefix.with_name(done.prefix.name + provenance.SIDECAR_SUFFIX)
        os.replace(sidecar_tmp, sidecar)
        split, shard = self.key
        return {
            "split": split,
            "shard": shard,
            "path": f"{split}/{done.prefix.name}",
            "bin_sha256": done.bin_sha256,
            "idx_sha256": done.idx_sha256,
            "provenance_sha256": sha256_file(sidecar),
            "documents": done.documents,
            "tokens": done.tokens,
            "per_source": json.dumps(dict(sorted(self.per_source.items()))),
        }


def _shard_writer(staging: Path, segments_dir: Path, dtype: np.dtype):
    """mapInArrow function writing the shards of a sorted partition; yields one row per shard."""
    root, segments_root = str(staging), str(segments_dir)
    arrow_schema = to_arrow_schema(_WRITTEN)

    def write(batches):
        from pyspark import TaskContext

        files = _ShardFiles(root, dtype, f"tmp{TaskContext.get().taskAttemptId()}")
        segments = _Segments(segments_root)
        try:
            for batch in batches:
                keys = list(zip(batch.column("split").to_pylist(), batch.column("shard").to_pylist()))
                sources = batch.column("source").to_pylist()
                lengths = batch.column("n_tokens").to_numpy()
                rows = pa.Table.from_batches([batch]).select(list(provenance.COLUMNS))
                pieces = [
                    segments.read(segment, offset, n * dtype.itemsize)
                    for segment, offset, n in zip(
                        batch.column("segment").to_pylist(), batch.column("offset").to_pylist(), lengths.tolist()
                    )
                ]
                start = 0
                for end in range(1, len(keys) + 1):
                    if end < len(keys) and keys[end] == keys[start]:
                        continue
                    if keys[start] != files.key:
                        if files.writer is not None:
                            yield pa.RecordBatch.from_pylist([files.close()], schema=arrow_schema)
                        files.open(*keys[start])
                    files.add(
                        b"".join(pieces[start:end]),
                        lengths[start:end],
                        sources[start:end],
                        rows.slice(start, end - start),
                    )
                    start = end
            if files.writer is not None:
                yield pa.RecordBatch.from_pylist([files.close()], schema=arrow_schema)
        except BaseException:
            if files.writer is not None:
                files.writer.abort()
            raise
        finally:
            segments.close()

    return write


def _shard_counts(
    counts: dict[tuple[str, str, int], tuple[int, int]],
    rates: dict[str, float],
    cfg: ShardsConfig,
    mixture_cfg: MixtureConfig,
) -> dict[str, int]:
    """Shards per split: expected (documents or tokens) after sampling (rate times the band's rehydration
    weight; valid: never repeated) / shard size, at least 1 if non-empty."""
    unit = 0 if cfg.shard_unit == "documents" else 1
    expected = dict.fromkeys(SPLITS, 0.0)
    for (source, split, band), values in sorted(counts.items()):
        rate = rates[source] * mixture_cfg.band_weight(band)
        expected[split] += (rate if split == "train" else min(rate, 1.0)) * values[unit]
    return {split: max(1, math.ceil(e / cfg.shard_size)) if e > 0 else 0 for split, e in expected.items()}


def _plan(counts: dict[tuple[str, str, int], tuple[int, int]], mixture_cfg: MixtureConfig) -> list:
    """The mixture plan from the tokenizing pass's exact counts per (source, split, rehydration band)."""
    available = _sum_by_source((source, values) for (source, _, _), values in sorted(counts.items()))
    band_tokens: dict[tuple[str, int], int] = {}
    for (source, _, band), (_, tokens) in counts.items():
        band_tokens[(source, band)] = band_tokens.get((source, band), 0) + tokens
    return plan_mixture(available, mixture_cfg, weighted_tokens(band_tokens, mixture_cfg))


def _sum_by_source(pairs) -> dict[str, tuple[int, int]]:
    """Sum (documents, tokens) pairs per source."""
    totals: dict[str, tuple[int, int]] = {}
    for source, (documents, tokens) in pairs:
        before = totals.get(source, (0, 0))
        totals[source] = (before[0] + documents, before[1] + tokens)
    return totals


def _install(staging: Path, out_dir: Path, written: list[dict], manifest: dict) -> None:
    """Replace the previous run's shards by the staged ones (``written``: paths relative to ``out_dir``);
    the manifest goes last."""
    manifest_path = out_dir / "manifest.json"
    manifest_path.unlink(missing_ok=True)
    for split in SPLITS:
        shutil.rmtree(out_dir / split, ignore_errors=True)
    for shard in written:
        (out_dir / shard["path"]).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".bin", ".idx", provenance.SIDECAR_SUFFIX):
            os.replace(staging / (shard["path"] + ext), out_dir / (shard["path"] + ext))
    shutil.rmtree(staging)
    tmp = manifest_path.with_name("manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, manifest_path)


@contextmanager
def _removed_on_failure(path: Path):
    try:
        yield
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def write_shards(
    docs: DataFrame,
    tokenizer_path: Path,
    out_dir: Path,
    cfg: ShardsConfig,
    mixture_cfg: MixtureConfig,
    seed: int,
    config_hash: str,
    progress_interval_s: float = 0.0,
    release: str | None = None,
) -> dict:
    """Tokenize ``docs`` (``id``, ``source``, ``text``, optional ``minhash_cluster``, ``minhash_cluster_size``,
    ``file``, ``line``), mix, shard with provenance sidecars (``release`` names the run in them); return the
    manifest. Every ``progress_interval_s`` (0: never) the tokenizing pass logs documents done, rate and ETA."""
    if mixture_cfg.cluster_size_weights and CLUSTER_SIZE not in docs.columns:
        raise MixtureError(REHYDRATION_NEEDS_MINHASH)

    spark = docs.sparkSession
    seed = cfg.shuffle_seed if cfg.shuffle_seed is not None else seed
    tokenizer_path, out_dir = Path(tokenizer_path), Path(out_dir)
    tokenizer = _tokenizer_info(tokenizer_path, out_dir, cfg)
    dtype = dtype_for_vocab(tokenizer["vocab_size"])

    staging = out_dir / "_staging"
    shutil.rmtree(staging, ignore_errors=True)
    with _removed_on_failure(staging):  # segments hold every token: do not leave them behind
        segments_dir = staging / "segments"
        segments_dir.mkdir(parents=True)
        rows_path = str(staging / "documents")
        with StageProgress(spark, "[shards] tokenizing:", docs.count(), progress_interval_s):
            tokenized, counted = tokenize_documents(
                docs,
                tokenizer_path,
                tokenizer["sha256"],
                tokenizer["encoder"] == "tiktoken",
                tokenizer["eos_id"],
                dtype,
                seed,
                cfg.valid_fraction,
                segments_dir,
                mixture_cfg,
            )
            tokenized.write.parquet(rows_path)
        counts = counted.value
        plan = _plan(counts, mixture_cfg)
        n_shards = _shard_counts(counts, {row.source: row.epochs for row in plan}, cfg, mixture_cfg)

        rows = spark.read.parquet(rows_path).withColumn("document_id", F.col("id"))
        sampled = apply_mixture(rows, plan, seed, mixture_cfg).withColumn("release", F.lit(release).cast("string"))
        arranged = _arrange(sampled, n_shards, seed, WRITER_TASKS_PER_CORE * spark.sparkContext.defaultParallelism)
        rows = arranged.mapInArrow(_shard_writer(staging, segments_dir, dtype), _WRITTEN).collect()  # one per shard
        written = sorted(
            (dict(r.asDict(), per_source=json.loads(r["per_source"])) for r in rows),
            key=lambda r: (r["split"], r["shard"]),
        )
        manifest = _manifest(written, plan, tokenizer, dtype, config_hash, seed, out_dir)
        _install(staging, out_dir, written, manifest)
    if cfg.valid_fraction > 0 and not manifest["splits"]["valid"]["documents"]:
        log.warning(
            "[shards] the valid split is empty: shards.valid_fraction %g of %d documents (by dedup cluster) "
            "chose none; raise it for a validation set",
            cfg.valid_fraction,
            manifest["splits"]["train"]["documents"],
        )
    return manifest


def _tokenizer_info(tokenizer_path: Path, out_dir: Path, cfg: ShardsConfig) -> dict:
    """The manifest's tokenizer entry: its path, sha256, size, end-of-document token (checked) and which
    library encodes."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    eos_id = tokenizer.token_to_id(cfg.eos_token)
    if eos_id is None:
        raise ValueError(f"shards.eos_token {cfg.eos_token!r} is not in the tokenizer {tokenizer_path}")
    return {
        "path": run_relative(tokenizer_path, out_dir),
        "sha256": sha256_file(tokenizer_path),
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "eos_token": cfg.eos_token,
        "eos_id": eos_id,
        "encoder": "tiktoken" if _use_tiktoken(tokenizer_path, cfg) else "tokenizers",
    }


def _use_tiktoken(tokenizer_path: Path, cfg: ShardsConfig) -> bool:
    """Whether tiktoken encodes (``shards.encoder: auto`` and it gives this tokenizer's ids); says why not."""
    if cfg.encoder == "tokenizers":
        return False
    reason = why_not_tiktoken(json.loads(tokenizer_path.read_text("utf-8")))
    if reason:
        log.info("[shards] tokenizers encodes, not tiktoken: %s", reason)
    return reason is None


def _arrange(sampled: DataFrame, n_shards: dict[str, int], seed: int, writers: int) -> DataFrame:
    """Every shard's documents in one of ``writers`` partitions, in a seeded order: a task writes its shards one
    after the other. A shard's content depends only on its documents and their order, not on ``writers``;
    few tasks rather than one per shard, since each PySpark task costs about 0.2 s of Python CPU here."""
    shard = F.pmod(F.xxhash64("id", F.lit(seed), F.lit("shard")), lookup(F.col("split"), n_shards).cast("long"))
    order = F.xxhash64("id", F.lit(seed), F.lit("order"))
    return (
        sampled.select(
            "split",
            shard.alias("shard"),
            order.alias("_order"),
            F.col("id").alias("sample_id"),
            *provenance.COLUMNS[2:6],
            "document_id",
            "segment",
            "offset",
            "n_tokens",
        )
        .repartition(max(1, min(writers, sum(n_shards.values()))), "split", "shard")
        .sortWithinPartitions("split", "shard", "_order", "sample_id")
    )


def run_relative(path: Path, out_dir: Path) -> str:
    """``path`` relative to the run directory (the parent of the shards folder ``out_dir``), so a copied or
    moved run still finds its files."""
    return Path(os.path.relpath(Path(path).absolute(), Path(out_dir).absolute().parent)).as_posix()


def _manifest(
    written: list[dict], plan, tokenizer: dict, dtype: np.dtype, config_hash: str, seed: int, out_dir: Path
) -> dict:
    """Every shard with its sha256, documents and tokens per source; the splits and the mixture as applied."""
    shards = [
        {
            "split": row["split"],
            "path": run_relative(out_dir / row["path"], out_dir),
            "sha256": {"bin": row["bin_sha256"], "idx": row["idx_sha256"], "provenance": row["provenance_sha256"]},
            "provenance": run_relative(out_dir / (row["path"] + provenance.SIDECAR_SUFFIX), out_dir),
            "documents": row["documents"],
            "tokens": row["tokens"],
            "documents_per_source": {s: v[0] for s, v in row["per_source"].items()},
            "tokens_per_source": {s: v[1] for s, v in row["per_source"].items()},
            "tokenizer_sha256": tokenizer["sha256"],
            "config_hash": config_hash,
        }
        for row in written
    ]
    used = _sum_by_source((source, tuple(v)) for row in written for source, v in row["per_source"].items())
    return {
        "format": "megatron-indexed-dataset (MMIDIDX v1), one sequence per document, eos appended",
        "paths": "relative to the run directory (the folder holding shards/ and tokenizer/)",
        "tokenizer": tokenizer,
        "dtype": dtype.name,
        "config_hash": config_hash,
        "seed": seed,
        "splits": {
            split: {
                "shards": sum(1 for s in shards if s["split"] == split),
                "documents": sum(s["documents"] for s in shards if s["split"] == split),
                "tokens": sum(s["tokens"] for s in shards if s["split"] == split),
            }
            for split in SPLITS
        },
        "mixture": mixture_table(plan, used),
        "shards": shards,
    }
