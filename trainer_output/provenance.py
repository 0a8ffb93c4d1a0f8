"""Token provenance: a Parquet sidecar beside every shard, and tracing one sequence back to its input record.

``<prefix>.prov.parquet`` has one row per sequence of ``<prefix>.idx``, in the same order: ``sequence`` (its
index), ``document_id`` (the id the stages gave the document), ``sample_id`` (the mixture's copy: the id, or
``<id>#r1``, ``<id>#r2``, ... for repeats), ``source``, ``file`` and ``line`` (the input file and the record's
line, row or byte offset, as in ``quarantine/``), ``release`` (the run that wrote the shard) and ``n_tokens``.
The shard writer fills it in the same pass as the shard, from the rows it copies tokens for, so nothing is
tokenized twice. ``trace`` reads it (and the final stage's data, when it is still there) with pyarrow alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import yaml

from core.errors import CorpusError
from core.run_layout import work_dir_of_run

SIDECAR_SUFFIX = ".prov.parquet"
COLUMNS = ("document_id", "sample_id", "source", "file", "line", "release", "n_tokens")  # as the writer gets them
SCHEMA = pa.schema(
    [
        ("sequence", pa.int64()),
        ("document_id", pa.string()),
        ("sample_id", pa.string()),
        ("source", pa.string()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("release", pa.string()),
        ("n_tokens", pa.int32()),
    ]
)


class TraceError(CorpusError):
    """A shard prefix or sequence index that cannot be traced."""


def write_sidecar(pieces: list[pa.Table], path: Path) -> None:
    """Write the rows of one shard's sequences (``COLUMNS``, in shard order) with their sequence numbers."""
    rows = pa.concat_tables(pieces) if pieces else pa.table({name: [] for name in COLUMNS})
    columns = [pa.array(np.arange(rows.num_rows, dtype=np.int64))]
    columns += [rows.column(name).cast(SCHEMA.field(name).type) for name in COLUMNS]
    pq.write_table(pa.Table.from_arrays(columns, schema=SCHEMA), path, compression="zstd")


def _final_stage_data(run_dir: Path) -> Path | None:
    """The last complete stage's ``data/`` of a run directory, if kept: in ``stages/`` when a pii stage
    scrubbed it, else in the run's work area (a run without a pii stage, whose shards are as raw)."""
    stages = sorted(p for p in (run_dir / "stages").glob("[0-9][0-9]_*") if (p / "_SUCCESS").is_file())
    if not stages:
        return None
    resolved = run_dir / "config.resolved.yaml"
    work = work_dir_of_run(
        run_dir, yaml.safe_load(resolved.read_text(encoding="utf-8")) if resolved.is_file() else None
    )
    homes = [stages[-1] / "data", work / "stages" / stages[-1].name / "data"]
    return next((home for home in homes if home.is_dir()), None)


def _document_text(data: Path, document_id: str) -> str | None:
    table = ds.dataset(data, format="parquet").to_table(columns=["text"], filter=ds.field("id") == document_id)
    return table.column("text")[0].as_py() if table.num_rows else None


def trace(prefix: str | Path, index: int) -> dict:
    """Where sequence ``index`` of the shard at ``prefix`` came from, and the final text when the run still has it.

    The run directory is the folder holding ``shards/``; ``tokens_match`` says whether the shard's tokens are
    exactly the tokenizer's encoding of that text (plus the end-of-document token).
    """
    from tokenizers import Tokenizer

    from trainer_output.indexed_dataset import IndexedDatasetReader

    prefix = Path(str(prefix).removesuffix(".bin").removesuffix(".idx"))
    sidecar = Path(f"{prefix}{SIDECAR_SUFFIX}")
    if not sidecar.is_file():
        raise TraceError(
            f"{sidecar}: no provenance sidecar (give a shard prefix such as runs/x/shards/train/train_00000)"
        )
    table = pq.read_table(sidecar)
    if not 0 <= index < table.num_rows:
        raise TraceError(f"{prefix}: sequence {index} out of range (the shard holds {table.num_rows} sequences)")
    row = table.slice(index, 1).to_pylist()[0]
    run_dir = prefix.absolute().parent.parent.parent
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text(encoding="utf-8"))
    tokens = IndexedDatasetReader(prefix)[index]
    data = _final_stage_data(run_dir)
    text = _document_text(data, row["document_id"]) if data is not None else None
    match = None
    if text is not None:
        tokenizer = Tokenizer.from_file(str(run_dir / manifest["tokenizer"]["path"]))
        expected = tokenizer.encode(text, add_special_tokens=False).ids + [manifest["tokenizer"]["eos_id"]]
        match = tokens.tolist() == expected
    return {
        **row,
        "shard": str(prefix),
        "tokens": int(tokens.size),
        "text_from": os.path.relpath(data, run_dir) if text is not None else None,
        "text": text,
        "tokens_match": match,
    }


def format_trace(found: dict) -> str:
    """``trace``'s answer as the lines ``corpus trace`` prints."""
    lines = [
        f"sequence  {found['sequence']} of {found['shard']} ({found['tokens']} tokens)",
        f"document  {found['document_id']}"
        + (f" (mixture copy {found['sample_id']})" if found["sample_id"] != found["document_id"] else ""),
        f"source    {found['source']}",
        f"input     {found['file']}, line (JSONL), row (Parquet) or byte offset (WARC) {found['line']}",
        f"release   {found['release']}",
    ]
    if found["text"] is None:
        return "\n".join(lines + ["text      not in the run directory any more (its final stage's data/ is gone)"])
    agreement = "are exactly" if found["tokens_match"] else "DIFFER from"
    lines.append(f"text      from {found['text_from']} (the shard's tokens {agreement} its encoding):")
    return "\n".join(lines + [found["text"]])
