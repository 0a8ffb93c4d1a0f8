"""Stage: near-duplicate documents by MinHash LSH, clustered with connected components in Spark.

1. Signatures (datasketch-compatible, numpy over Arrow batches) and one key per LSH band.
2. Documents sharing a (band, band hash) key are candidates: each bucket links every member
   to its first member in (source priority, id) order, so a k-document bucket gives k-1 edges.
3. Optionally each candidate edge is kept only if the exact Jaccard similarity of the two
   shingle sets reaches ``threshold``. Only member-to-first-member pairs are checked, so a
   member failing against its bucket's first member joins others only through its other
   buckets (the price of not checking every pair of a large bucket).
4. Connected components with the large-star/small-star algorithm (Kiveris et al., 2014),
   iterated as DataFrame window aggregations and checkpointed every round, until every
   component is a star around its smallest node (checked with a count). Nodes are order
   keys (source priority, then id), so that smallest node is the document to keep,
   whatever the partitioning or run.
5. Every row gets ``minhash_cluster`` (the kept document's id; its own id when alone) and
   ``minhash_cluster_size`` (the documents of its cluster, itself included: the mixture's
   rehydration upsamples by it); the other members are rejected with ``dedup:minhash:<kept id>``.

Book-level comparison (``unit: parent``, which the ``books`` recipe sets): before step 1, the documents
cut from one parent (``meta.parent_id``; an uncut document is its own unit) of the sources with that unit
are compared as whole books. A book's signature is the element-wise minimum of its pieces' signatures (the
MinHash of the union of their shingle sets; a shingle spanning a cut is in no piece, so it is left out),
its LSH keys come from that signature, and a candidate pair is verified with the exact Jaccard of the
unions of the pieces' shingle sets. Every piece of a book clustered with a smaller (source priority, parent
id) one is rejected with ``dedup:minhash:book:<kept parent id>``; the remaining documents, the kept books'
pieces among them, are then compared one by one as above.

With earlier releases (``releases.against``), their documents' band keys and shingle sets join in as
if part of this run, before every source (:meth:`DedupMinhashStage.apply_against_releases`); a
document clustered with one is rejected with ``dedup:minhash:release:<name>``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BinaryType, DoubleType, LongType, StringType, StructField

from core.spark_batches import map_batches
from filters.dedup_text import ORDER_KEY_WIDTH, doc_order_key
from filters.minhash import (
    MAX_HASH,
    band_hashes,
    optimal_param,
    set_jaccard,
    shingle_hashes,
    shingle_set_bytes,
    shingle_set_from_bytes,
    signatures,
    union_jaccard,
)
from releases.index import MINHASH, MINHASH_SHINGLES, RELEASE_NODE_PREFIX, ReleaseError
from stages.base import REASON, CardSpec, Stage, StageConfig, StageContext, release_reject_counts

CLUSTER = "minhash_cluster"
CLUSTER_SIZE = "minhash_cluster_size"
SHINGLES = "shingles"
RELEASE_REASON = "dedup:minhash:release:"  # + the release's name
BOOK_REASON = "dedup:minhash:book:"  # + the kept book's parent id
PARENT_ID = "parent_id"  # meta key of a cut document's pieces (pipeline/readers/prepare.py)


class DedupMinhashConfig(StageConfig):
    num_perm: int = Field(128, ge=2, le=1024, description="MinHash permutations (datasketch num_perm)")
    seed: int = Field(1, ge=0, description="permutation seed (datasketch MinHash seed)")
    threshold: float = Field(0.8, gt=0.0, lt=1.0, description="target Jaccard similarity of near-duplicates")
    bands: int | None = Field(None, ge=1, description="LSH bands; default: optimal for threshold (datasketch)")
    rows: int | None = Field(None, ge=1, description="rows per band; default: optimal for threshold (datasketch)")
    false_negative_weight: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="weight of missed pairs when choosing bands/rows (false positives weigh 1 minus it); default 0.95 "
        "with verify, since the exact check removes false positives, else 0.5 (datasketch's default)",
    )
    word_ngram: int = Field(5, ge=1, description="shingle size in words")
    char_ngram: int = Field(5, ge=1, description="shingle size in characters for Chinese/Japanese/Thai/... text")
    verify: bool = Field(True, description="keep only candidate pairs whose exact shingle Jaccard >= threshold")
    block_shingles: int = Field(
        1024, ge=1, description="shingles permuted per numpy block (memory: block * num_perm * 16 bytes)"
    )
    max_iterations: int = Field(40, ge=1, description="connected-components rounds before giving up (error)")
    unit: Literal["document", "parent"] = Field(
        "document",
        description="parent: the pieces cut from one document (a book) are also compared as one whole, and every "
        "piece of a near-duplicate copy is rejected (the books recipe sets it; may differ per source)",
    )

    @model_validator(mode="after")
    def _bands_and_rows(self):
        if (self.bands is None) != (self.rows is None):
            raise ValueError("stages.dedup_minhash: set both bands and rows, or neither")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"stages.dedup_minhash: bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}"
            )
        return self

    def lsh_params(self) -> tuple[int, int]:
        if self.bands is not None:
            return self.bands, self.rows
        fn_weight = self.false_negative_weight
        if fn_weight is None:
            fn_weight = 0.95 if self.verify else 0.5
        return optimal_param(self.threshold, self.num_perm, 1.0 - fn_weight, fn_weight)


class DedupMinhashStage(Stage):
    name = "dedup_minhash"
    libraries = ("numpy",)
    Config = DedupMinhashConfig
    summary = "MinHash LSH near-duplicate clusters (connected components in Spark); keeps one per cluster."
    card = CardSpec(removes_duplicates=True)
    release_table = MINHASH

    per_row_keys = ("unit",)

    def __init__(self, config: DedupMinhashConfig | None = None, source_sections: dict | None = None):
        super().__init__(config)
        self.source_sections = source_sections  # source -> its section (its ``unit``); None: ``config.unit`` for all

    def apply(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        books = self.book_rows(df)
        if books is None:
            return self.apply_to_documents(df, ctx)
        pieces = ctx.checkpoint(self.piece_signatures(books, ctx), "dedup_minhash/book_pieces")
        copies = self.book_duplicates(pieces, ctx)
        rejected = df.join(copies, "id").select(
            *df.columns,
            F.col("kept_book").alias(CLUSTER),
            F.lit(1).alias(CLUSTER_SIZE),
            F.concat(F.lit(BOOK_REASON), "kept_book").cast(StringType()).alias(REASON),
        )
        remaining = df.join(copies, "id", "left_anti")
        # the kept books' pieces keep the signatures hashed for their books; only the other documents are hashed
        keyed = self.piece_keys(pieces.join(copies, "id", "left_anti"), ctx)
        others = self.book_rows(df, complement=True)
        if others is not None:
            keyed = keyed.unionByName(self.signed(others, ctx, "other_signatures").select(*keyed.columns))
        return self.apply_to_documents(remaining, ctx, keyed).unionByName(rejected)

    def apply_to_documents(self, df: DataFrame, ctx: StageContext, keyed: DataFrame | None = None) -> DataFrame:
        """Document by document (a book's pieces one by one): steps 1 to 5, or against earlier releases;
        ``keyed``: every document's ``node``, ``bands`` (and ``shingles`` when verifying) when they are known
        already."""
        if any(release.table(MINHASH) for release in ctx.releases):
            return self.apply_against_releases(df, ctx)
        signed = self.signed(df, ctx) if keyed is None else keyed
        edges = _bucket_edges(signed)
        if self.config.verify:
            edges = self.verified(edges, signed.select("node", SHINGLES))
        roots = connected_components(edges, ctx, self.config.max_iterations)
        members = roots.select(_key_id("node").alias("id"), _key_id("root").alias("kept_id"))
        out = df.join(_with_cluster_sizes(members), "id", "left")
        return out.select(
            *df.columns,
            F.coalesce("kept_id", "id").alias(CLUSTER),
            F.coalesce(CLUSTER_SIZE, F.lit(1)).alias(CLUSTER_SIZE),
            F.when(F.col("kept_id") != F.col("id"), F.concat(F.lit("dedup:minhash:"), "kept_id"))
            .cast(StringType())
            .alias(REASON),
        )

    def signed(self, df: DataFrame, ctx: StageContext, name: str = "signatures") -> DataFrame:
        """The signature frame, with shingle sets when candidates are verified, computed once (checkpoint
        ``name``): each document's shingles are hashed once, not once per candidate pair it is in."""
        return ctx.checkpoint(self.signature_frame(df, ctx, self.config.verify), f"dedup_minhash/{name}")

    # ---- whole books: the pieces cut from one parent document compared as one -----------------------------

    def book_sources(self) -> list[str] | None:
        """The sources whose unit is ``parent`` (None: every source; []: none)."""
        if self.source_sections is None:
            return None if self.config.unit == "parent" else []
        return sorted(s for s, section in self.source_sections.items() if section and section.unit == "parent")

    def book_rows(self, df: DataFrame, complement: bool = False) -> DataFrame | None:
        """The rows whose source compares whole books, or with ``complement`` the others (None: no row)."""
        sources = self.book_sources()
        if sources is None:
            return None if complement else df
        if not sources:
            return df if complement else None
        chosen = F.col("source").isin(sources)
        return df.where(~chosen if complement else chosen)

    def book_duplicates(self, pieces: DataFrame, ctx: StageContext) -> DataFrame:
        """``id, kept_book`` of every piece (of :meth:`piece_signatures`) of a book that is a near-duplicate of a
        smaller (source priority, parent id) book: LSH over the books' signatures (each the element-wise
        minimum of its pieces'), the candidates verified on the unions of the pieces' shingle sets, connected
        components."""
        cfg = self.config
        bands, rows = cfg.lsh_params()
        no_value = F.array_repeat(F.lit(int(MAX_HASH)).cast("long"), cfg.num_perm)
        whole = (
            pieces.groupBy("node")
            .agg(
                F.aggregate(
                    F.collect_list("signature"),
                    no_value,
                    lambda acc, sig: F.zip_with(acc, sig, lambda a, b: F.least(a, b)),
                ).alias("signature"),
                F.sum("shingle_count").alias("shingle_count"),
            )
            .where(F.col("shingle_count") > 0)  # no shingles: never a candidate
        )

        def band_batch(batch: pa.RecordBatch) -> dict:
            return {"bands": band_hashes(np.array(batch.column("signature").to_pylist(), dtype=np.uint64), bands, rows)}

        keyed = map_batches(whole.select("node", "signature"), band_batch, [_BANDS_FIELD])
        edges = _bucket_edges(keyed)
        if cfg.verify:
            edges = _verified_books(edges, pieces, cfg.threshold)
        roots = connected_components(edges, ctx, cfg.max_iterations, "dedup_minhash/book_cc")
        return pieces.select("id", "node").join(roots, "node").select("id", _key_id("root").alias("kept_book"))

    def piece_keys(self, pieces: DataFrame, ctx: StageContext) -> DataFrame:
        """``node`` (the piece's own order key) and ``bands`` of pieces, from their stored signatures."""
        bands, rows = self.config.lsh_params()
        priority = list(ctx.source_priority)

        def key_batch(batch: pa.RecordBatch) -> dict:
            sigs = np.array(batch.column("signature").to_pylist(), dtype=np.uint64).reshape(batch.num_rows, -1)
            keys = band_hashes(sigs, bands, rows)
            ids, sources = batch.column("id").to_pylist(), batch.column("source").to_pylist()
            counts = batch.column("shingle_count").to_pylist()
            return {
                "node": [doc_order_key(s, i, priority) for s, i in zip(sources, ids)],
                "bands": [k if n else [] for k, n in zip(keys, counts)],  # no shingles: never a candidate
            }

        fields = [StructField("node", StringType(), False), _BANDS_FIELD]
        kept = ["id", "source", "signature", "shingle_count"] + ([SHINGLES] if self.config.verify else [])
        keyed = map_batches(pieces.select(*kept), key_batch, fields)
        return keyed.select("node", "bands", *([SHINGLES] if self.config.verify else []))

    def piece_signatures(self, books: DataFrame, ctx: StageContext) -> DataFrame:
        """``id``, ``node`` (the order key of its book: source priority, parent id), ``signature``,
        ``shingle_count`` and, when verifying, ``shingles`` of every piece; an uncut document is its own book."""
        cfg = self.config
        word_ngram, char_ngram = cfg.word_ngram, cfg.char_ngram
        num_perm, seed, block, verify = cfg.num_perm, cfg.seed, cfg.block_shingles, cfg.verify
        priority = list(ctx.source_priority)
        parent = F.get_json_object("meta", f"$.{PARENT_ID}") if "meta" in books.columns else F.lit(None)
        units = books.select("id", "source", "text", F.coalesce(parent.cast("string"), "id").alias("unit"))

        def piece_batch(batch: pa.RecordBatch) -> dict:
            hashes = [shingle_hashes(t, word_ngram, char_ngram) for t in batch.column("text").to_pylist()]
            sources, parents = batch.column("source").to_pylist(), batch.column("unit").to_pylist()
            out = {
                "node": [doc_order_key(s, p, priority) for s, p in zip(sources, parents)],
                "signature": signatures(hashes, num_perm, seed, block).tolist(),
                "shingle_count": [len(h) for h in hashes],
            }
            if verify:
                out[SHINGLES] = [shingle_set_bytes(h) for h in hashes]
            return out

        fields = [
            StructField("node", StringType(), False),
            StructField("signature", ArrayType(LongType(), False), False),
            StructField("shingle_count", LongType(), False),
        ]
        if verify:
            fields.append(StructField(SHINGLES, BinaryType(), False))
        return map_batches(units, piece_batch, fields).drop("text", "unit")

    def signature_frame(self, df: DataFrame, ctx: StageContext, with_shingles: bool = False) -> DataFrame:
        """``id``, ``source``, ``text``, ``node`` (the order key) and ``bands`` (one LSH key per band) of every
        document; ``with_shingles`` adds its shingle set as bytes (what a release keeps for the exact check)."""
        cfg = self.config  # plain values only in closures: a pickled config would import every stage in the workers
        bands, rows = cfg.lsh_params()
        word_ngram, char_ngram = cfg.word_ngram, cfg.char_ngram
        num_perm, seed, block = cfg.num_perm, cfg.seed, cfg.block_shingles
        priority = list(ctx.source_priority)

        def signature_batch(batch: pa.RecordBatch) -> dict:
            hashes = [shingle_hashes(t, word_ngram, char_ngram) for t in batch.column("text").to_pylist()]
            keys = band_hashes(signatures(hashes, num_perm, seed, block), bands, rows)
            ids, sources = batch.column("id").to_pylist(), batch.column("source").to_pylist()
            out = {
                "node": [doc_order_key(s, i, priority) for s, i in zip(sources, ids)],
                "bands": [k if len(h) else [] for k, h in zip(keys, hashes)],  # no shingles: never a candidate
            }
            if with_shingles:
                out[SHINGLES] = [shingle_set_bytes(h) for h in hashes]
            return out

        fields = [StructField("node", StringType(), False), _BANDS_FIELD]
        if with_shingles:
            fields.append(StructField(SHINGLES, BinaryType(), False))
        return map_batches(df.select("id", "source", "text"), signature_batch, fields)

    def verified(self, edges: DataFrame, sets: DataFrame) -> DataFrame:
        """The candidate edges whose documents' exact shingle Jaccard reaches the threshold; ``sets`` holds
        ``node`` and ``shingles`` of every node an edge names."""

        def ends(name: str) -> DataFrame:
            return sets.select(F.col("node").alias(name), F.col(SHINGLES).alias(f"set_{name}"))

        pairs = edges.join(ends("u"), "u").join(ends("v"), "v").select("u", "v", "set_u", "set_v")

        def jaccard_batch(batch: pa.RecordBatch) -> dict:
            pairs = zip(batch.column("set_u").to_pylist(), batch.column("set_v").to_pylist())
            return {"jaccard": [set_jaccard(shingle_set_from_bytes(a), shingle_set_from_bytes(b)) for a, b in pairs]}

        scored = map_batches(pairs, jaccard_batch, [StructField("jaccard", DoubleType(), False)])
        return scored.where(F.col("jaccard") >= self.config.threshold).select("u", "v")

    def summarize(self, kept: DataFrame, rejected: DataFrame) -> dict:
        """Clusters that lost at least one document (each keeps one), and documents removed as duplicates of
        each earlier release."""
        stats = {"duplicate_clusters": rejected.select(CLUSTER).distinct().count()}
        if self.book_sources() != []:
            copies = rejected.where(F.col(REASON).startswith(BOOK_REASON))
            row = copies.agg(F.count(F.lit(1)).alias("pieces"), F.countDistinct(REASON).alias("kept")).collect()[0]
            stats["book_duplicates"] = {"pieces_rejected": row["pieces"], "books_kept_over_a_copy": row["kept"]}
        against = release_reject_counts(rejected, RELEASE_REASON)
        if against:
            stats["removed_against_releases"] = against
        return stats

    # ---- releases: publishing this stage's state, and deduplicating against earlier releases ------------

    def release_parameters(self) -> dict:
        """What a release's MinHash index and a run using it must share for their band keys to compare."""
        cfg = self.config
        bands, rows = cfg.lsh_params()
        return {
            "num_perm": cfg.num_perm,
            "seed": cfg.seed,
            "bands": bands,
            "rows": rows,
            "word_ngram": cfg.word_ngram,
            "char_ngram": cfg.char_ngram,
        }

    def check_releases(self, releases: tuple) -> None:
        """The parameters (see ``Stage.check_releases``) and, when candidates are verified, the releases'
        shingle sets (a release of a run that did not verify has none)."""
        super().check_releases(releases)
        for release in releases:
            if self.config.verify and release.table(MINHASH) and not release.table(MINHASH_SHINGLES):
                theirs = release.parameters(MINHASH) or {}
                raise ReleaseError(
                    f"stages.dedup_minhash.verify is true but release {release.name!r} ({release.path}) has no "
                    "shingle sets (its run did not verify candidates): set stages.dedup_minhash.verify: false, "
                    f"with bands: {theirs.get('bands')} and rows: {theirs.get('rows')} as in the release"
                )

    def release_tables(self, documents: DataFrame, clusters: DataFrame, ctx: StageContext) -> dict[str, DataFrame]:
        """The index a release keeps: every document that entered this stage (``documents``), with its band
        keys and its ``minhash_cluster`` (from ``clusters``: the stage's kept and rejected rows), and, when
        the stage verifies candidates, its shingle set."""
        sigs = ctx.checkpoint(self.signature_frame(documents, ctx, self.config.verify), "release/minhash_signatures")
        with_cluster = sigs.join(clusters.select("id", CLUSTER), "id")
        tables = {
            MINHASH: with_cluster.select(
                "id",
                "source",
                "node",
                F.posexplode("bands").alias("band", "band_hash"),
                F.col(CLUSTER).alias("cluster"),
            )
        }
        if self.config.verify:
            tables[MINHASH_SHINGLES] = sigs.select("id", "node", SHINGLES)
        return tables

    def apply_against_releases(self, df: DataFrame, ctx: StageContext) -> DataFrame:
        """Deduplicate as one run over the earlier releases' documents and these, releases first, without
        hashing the releases' documents again: their band keys come from each release's index.

        A bucket holding a release document links each of this run's members to the bucket's smallest
        release node, as the joint run's bucket head would be (and verifies that pair against the release's
        stored shingles); other buckets link as in :func:`_bucket_edges`. A document whose component
        reaches a release node is rejected as ``dedup:minhash:release:<name>`` with that release document's
        cluster as its ``minhash_cluster``; the others keep their in-run clusters. The kept set equals that
        of a joint run over the releases' and this run's documents (tests/test_releases.py).
        """
        self.check_releases(ctx.releases)
        index = _release_index(ctx)
        heads = index.groupBy("band", "band_hash").agg(F.min("node").alias("release_head"))
        bucket = Window.partitionBy("band", "band_hash")
        signed = self.signed(df, ctx)
        edges = (
            signed.select("node", F.posexplode("bands").alias("band", "band_hash"))
            .join(heads, ["band", "band_hash"], "left")
            .withColumn("head", F.coalesce("release_head", F.min("node").over(bucket)))
            .where(F.col("node") != F.col("head"))
            .select(F.col("node").alias("u"), F.col("head").alias("v"))
            .distinct()
        )
        if self.config.verify:
            edges = self.verified(edges, signed.select("node", SHINGLES).unionByName(_release_shingles(ctx)))
        roots = connected_components(edges, ctx, self.config.max_iterations)
        release_nodes = index.select(F.col("node").alias("root"), "cluster", "release").distinct()
        members = (
            roots.where(~F.col("node").startswith(RELEASE_NODE_PREFIX))
            .join(release_nodes, "root", "left")
            .select(_key_id("node").alias("id"), F.coalesce("cluster", _key_id("root")).alias("kept_id"), "release")
        )
        to_release = members.where(F.col("release").isNotNull()).withColumn(CLUSTER_SIZE, F.lit(None).cast("int"))
        in_run = _with_cluster_sizes(members.where(F.col("release").isNull()).drop("release"))
        out = df.join(to_release.unionByName(in_run, allowMissingColumns=True), "id", "left")
        reason = F.when(F.col("release").isNotNull(), F.concat(F.lit(RELEASE_REASON), "release")).when(
            F.col("kept_id") != F.col("id"), F.concat(F.lit("dedup:minhash:"), "kept_id")
        )
        return out.select(
            *df.columns,
            F.coalesce("kept_id", "id").alias(CLUSTER),
            F.coalesce(CLUSTER_SIZE, F.lit(1)).alias(CLUSTER_SIZE),
            reason.cast(StringType()).alias(REASON),
        )


def _release_index(ctx: StageContext) -> DataFrame:
    """The MinHash index rows of every earlier release: ``node`` (prefixed so releases sort first, in config
    order), ``band``, ``band_hash``, ``cluster``, ``release`` (its name)."""
    frames = [
        ctx.spark.read.parquet(release.table(MINHASH)).select(
            F.concat(F.lit(release.node_prefix), "node").alias("node"),
            "band",
            "band_hash",
            "cluster",
            F.lit(release.name).alias("release"),
        )
        for release in ctx.releases
        if release.table(MINHASH)
    ]
    return _union(frames)


def _release_shingles(ctx: StageContext) -> DataFrame:
    """``node`` (prefixed as in :func:`_release_index`) and ``shingles`` of every release document."""
    frames = [
        ctx.spark.read.parquet(release.table(MINHASH_SHINGLES)).select(
            F.concat(F.lit(release.node_prefix), "node").alias("node"), SHINGLES
        )
        for release in ctx.releases
        if release.table(MINHASH_SHINGLES)
    ]
    return _union(frames)


def _union(frames: list[DataFrame]) -> DataFrame:
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


_BANDS_FIELD = StructField("bands", ArrayType(LongType(), False), False)


def _bucket_edges(keyed: DataFrame) -> DataFrame:
    """Distinct ``(u, v)`` node pairs, ``u > v``, of nodes sharing an LSH bucket (``node``, ``bands``): each
    bucket links every member to its smallest."""
    bucket = Window.partitionBy("band", "band_hash")
    return (
        keyed.select("node", F.posexplode("bands").alias("band", "band_hash"))
        .withColumn("head", F.min("node").over(bucket))
        .where(F.col("node") != F.col("head"))
        .select(F.col("node").alias("u"), F.col("head").alias("v"))
        .distinct()
    )


def _verified_books(edges: DataFrame, pieces: DataFrame, threshold: float) -> DataFrame:
    """The candidate book pairs whose exact Jaccard over the unions of their pieces' shingle sets reaches
    ``threshold`` (the sets of the books in a candidate pair only)."""
    ends = edges.select(F.col("u").alias("node")).union(edges.select(F.col("v").alias("node"))).distinct()
    sets = pieces.join(ends, "node", "left_semi").groupBy("node").agg(F.collect_list(SHINGLES).alias("sets"))
    pairs = edges.join(sets.select(F.col("node").alias("u"), F.col("sets").alias("sets_u")), "u").join(
        sets.select(F.col("node").alias("v"), F.col("sets").alias("sets_v")), "v"
    )

    def jaccard_batch(batch: pa.RecordBatch) -> dict:
        sets_u, sets_v = batch.column("sets_u").to_pylist(), batch.column("sets_v").to_pylist()
        return {"jaccard": [union_jaccard(a, b) for a, b in zip(sets_u, sets_v)]}

    scored = map_batches(pairs.select("u", "v", "sets_u", "sets_v"), jaccard_batch, [
        StructField("jaccard", DoubleType(), False)])  # fmt: skip
    return scored.where(F.col("jaccard") >= threshold).select("u", "v")


def _with_cluster_sizes(members: DataFrame) -> DataFrame:
    """``id, kept_id, minhash_cluster_size`` for every document of a cluster, the kept one included
    (``members`` lists the others); computed on the small member table, not on the documents."""
    kept = members.select(F.col("kept_id").alias("id"), "kept_id").distinct()
    sizes = members.groupBy("kept_id").agg((F.count(F.lit(1)) + 1).cast("int").alias(CLUSTER_SIZE))
    return members.union(kept).join(sizes, "kept_id")


def _key_id(column: str):
    """The document id inside an order-key column (see ``filters.dedup_text.doc_order_key``)."""
    return F.substring(column, ORDER_KEY_WIDTH + 1, 1 << 30)


def connected_components(
    edges: DataFrame, ctx: StageContext, max_iterations: int, scratch: str = "dedup_minhash/cc"
) -> DataFrame:
    """``(node, root)`` for every node in a component of ``edges`` other than its root.

    ``edges`` has string columns ``u``, ``v``; the root of a component is its smallest
    node. Large-star then small-star rounds run until the edges form stars around the
    component minima (often already true of LSH bucket edges: zero rounds); each round is
    checkpointed so lineage (and plan size) stays flat.
    """
    current = ctx.checkpoint(_oriented(edges).distinct(), f"{scratch}_0")
    rounds = 0
    while not _is_star_forest(current):
        if rounds == max_iterations:
            raise RuntimeError(
                f"stages.dedup_minhash: connected components did not converge in max_iterations={max_iterations}"
            )
        rounds += 1
        current = ctx.checkpoint(_small_star(_large_star(current)), f"{scratch}_{rounds}")
    return current.select(F.col("u").alias("node"), F.col("v").alias("root"))


def _is_star_forest(edges: DataFrame) -> bool:
    """Whether oriented edges (``u > v``) are stars: one edge per source, no target is a source.

    Then every component is one root (its minimum, as ``v < u``) with all other nodes
    pointing to it. Checked with one count; nothing is collected.
    """
    sources = edges.groupBy("u").agg(F.count(F.lit(1)).alias("out_degree"))
    several_targets = sources.where(F.col("out_degree") > 1).select(F.col("u").alias("node"))
    chained = (
        edges.select(F.col("v").alias("node"))
        .distinct()
        .join(sources.select(F.col("u").alias("node")), "node", "left_semi")
    )
    return several_targets.union(chained).limit(1).count() == 0


def _oriented(edges: DataFrame) -> DataFrame:
    """Edges as ``(u, v)`` with ``u > v`` (self-loops dropped)."""
    return edges.where(F.col("u") != F.col("v")).select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v"))


def _large_star(edges: DataFrame) -> DataFrame:
    """Link every neighbour larger than a node to the smallest of the node's neighbourhood."""
    both = edges.union(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
    smallest = F.least(F.min("v").over(Window.partitionBy("u")), F.col("u"))
    return (
        both.withColumn("m", smallest)
        .where(F.col("v") > F.col("u"))
        .select(F.col("v").alias("u"), F.col("m").alias("v"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Link a node and its smaller neighbours to the smallest of them."""
    with_min = _oriented(edges).withColumn("m", F.min("v").over(Window.partitionBy("u")))
    links = F.array(
        F.struct(F.col("v").alias("a"), F.col("m").alias("b")), F.struct(F.col("u").alias("a"), F.col("m").alias("b"))
    )
    return (
        with_min.select(F.explode(links).alias("link"))
        .select(F.col("link.a").alias("u"), F.col("link.b").alias("v"))
        .where(F.col("u") != F.col("v"))
        .distinct()
    )
