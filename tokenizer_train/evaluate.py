"""Tokenizer evaluation on held-out text: bytes per token and tokens per word, per language.

Words: a run of letters/digits, except that each CJK ideograph or kana counts as one word
(Chinese and Japanese are written without spaces; one character is the usual unit there).
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from core.spark_batches import worker_cached
from trainer_output.indexed_dataset import sha256_file

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def count_words(text: str) -> int:
    """Words in ``text``: letter/digit runs, each CJK ideograph or kana one word."""
    return sum(1 for _ in _WORD.finditer(text))


def text_counts(tokenizer, texts: list[str]) -> tuple[list[int], list[int], list[int]]:
    """(UTF-8 bytes, tokens, words) per text; no special tokens are added."""
    encodings = tokenizer.encode_batch_fast(texts, add_special_tokens=False)
    return ([len(t.encode("utf-8")) for t in texts], [len(e.ids) for e in encodings], [count_words(t) for t in texts])


def _ratios(documents: int, n_bytes: int, tokens: int, words: int) -> dict:
    return {
        "documents": documents,
        "bytes": n_bytes,
        "tokens": tokens,
        "words": words,
        "bytes_per_token": n_bytes / tokens if tokens else None,
        "tokens_per_word": tokens / words if words else None,
    }


def evaluate_tokenizer(docs: DataFrame, tokenizer_path: Path) -> dict:
    """Per-language (column ``lang``) and overall ("all") counts and ratios over ``docs.text``."""
    path, digest = str(tokenizer_path), sha256_file(tokenizer_path)
    schema = StructType(
        [
            StructField("lang", StringType()),
            StructField("bytes", LongType()),
            StructField("tokens", LongType()),
            StructField("words", LongType()),
        ]
    )

    def count_batches(batches):
        from tokenizers import Tokenizer

        tokenizer = worker_cached(f"tokenizer:{digest}", lambda: Tokenizer.from_file(path))
        for batch in batches:
            n_bytes, tokens, words = text_counts(tokenizer, batch.column("text").to_pylist())
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("lang"),
                    pa.array(n_bytes, pa.int64()),
                    pa.array(tokens, pa.int64()),
                    pa.array(words, pa.int64()),
                ],
                schema=pa.schema(
                    [("lang", pa.string()), ("bytes", pa.int64()), ("tokens", pa.int64()), ("words", pa.int64())]
                ),
            )

    counted = docs.select("lang", "text").mapInArrow(count_batches, schema)
    rows = (
        counted.groupBy("lang")
        .agg(
            F.count(F.lit(1)).alias("documents"),
            F.sum("bytes").alias("bytes"),
            F.sum("tokens").alias("tokens"),
            F.sum("words").alias("words"),
        )
        .collect()
    )
    result = {
        r["lang"]: _ratios(int(r["documents"]), int(r["bytes"]), int(r["tokens"]), int(r["words"]))
        for r in sorted(rows, key=lambda r: r["lang"])
    }
    result["all"] = _ratios(*(sum(v[k] for v in result.values()) for k in ("documents", "bytes", "tokens", "words")))
    return result
