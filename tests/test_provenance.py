"""Token provenance on a small whole run: every shard sequence traces back to its exact input record."""

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer

from card.build import build_card
from filters.normalize import normalize_text
from pipeline.cli import main
from pipeline.config import parse_config
from pipeline.runner import run_pipeline
from tests.conftest import shared_data
from tests.reference_job import config_dict, write_corpus
from trainer_output.indexed_dataset import IndexedDatasetReader
from trainer_output.provenance import trace

PAGES = 40


def write_web_pages(path: Path) -> None:
    """40 real web pages (cut to 3,000 characters) with planted near-duplicates: pages 0-9 copied once with a
    line added (clusters of 2), pages 0-2 twice (clusters of 3), each copy at its own line with its own id."""
    with gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt", encoding="utf-8") as f:
        pages = [p for p in map(json.loads, f) if len(p["text"]) > 1500][:PAGES]
    records = [{"id": p["id"], "text": p["text"][:3000]} for p in pages]
    for copy in (1, 2):
        records += [
            {"id": f"{r['id']}-copy{copy}", "text": r["text"] + f"\nShared again ({copy})."}
            for r in records[: 10 if copy == 1 else 3]
        ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="module")
def run_dir(spark, tmp_path_factory):
    """The reference job (ingest, normalize, dedup_minhash, tokenizer, shards) on real pages, with cluster-size
    rehydration."""
    root = tmp_path_factory.mktemp("provenance")
    write_corpus(root / "in", n_docs=20)
    write_web_pages(root / "in" / "web.jsonl")
    config = config_dict(root / "in", root / "run")
    config["sources"][0]["id_field"] = "id"
    config["tokenizer"]["vocab_size"] = 1024
    config["shards"]["shard_size"] = 30_000
    config["mixture"] = {"sources": {"books": {"epochs": 2.0}}, "cluster_size_weights": {2: 2.0}}
    run_pipeline(spark, parse_config(config))
    return root / "run"


def input_record(file: str, line: int, source: str) -> dict:
    """The input record at ``file`` and ``line`` (JSONL: its 1-based line; a text file: the whole file)."""
    if source == "books":
        return {"text": Path(file).read_text(encoding="utf-8")}
    return json.loads(Path(file).read_text(encoding="utf-8").splitlines()[line - 1])


def test_every_sequence_round_trips_to_its_input_record(run_dir):
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    tokenizer = Tokenizer.from_file(str(run_dir / manifest["tokenizer"]["path"]))
    sequences, sources = 0, set()
    for shard in manifest["shards"]:
        reader = IndexedDatasetReader(run_dir / shard["path"])
        for row in pq.read_table(run_dir / shard["provenance"]).to_pylist():
            decoded = tokenizer.decode(reader[row["sequence"]].tolist()[:-1], skip_special_tokens=False)
            record = input_record(row["file"], row["line"], row["source"])
            assert decoded == normalize_text(record["text"])  # the record, as the normalize stage left it
            assert record.get("id", row["document_id"]) == row["document_id"]
            assert row["release"] == "run" and row["n_tokens"] == len(reader[row["sequence"]])
            sequences, sources = sequences + 1, sources | {row["source"]}
    assert sequences == manifest["splits"]["train"]["documents"] + manifest["splits"]["valid"]["documents"]
    assert sources == {"web", "books"}


def test_trace_prints_the_record_and_the_final_text(run_dir, capsys):
    shard = json.loads((run_dir / "shards" / "manifest.json").read_text())["shards"][0]
    prefix = run_dir / shard["path"]
    found = trace(prefix, 1)
    record = input_record(found["file"], found["line"], found["source"])
    assert found["tokens_match"] and found["text"] == normalize_text(record["text"])
    assert found["text_from"].startswith("work/stages/") and found["text_from"].endswith("_dedup_minhash/data")
    assert main(["trace", str(prefix), "1"]) == 0
    out = capsys.readouterr().out
    assert f"document  {found['document_id']}" in out and f"input     {found['file']}, line" in out
    assert "the shard's tokens are exactly its encoding" in out and found["text"] in out
    assert main(["trace", str(prefix), str(shard["documents"])]) == 2
    assert f"sequence {shard['documents']} out of range" in capsys.readouterr().err
    assert main(["trace", str(run_dir / "shards" / "train" / "nope"), "0"]) == 2
    assert "no provenance sidecar" in capsys.readouterr().err


def test_rehydration_repeats_duplicated_documents_and_the_card_shows_effective_epochs(spark, run_dir, capsys):
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    table = {row["source"]: row for row in manifest["mixture"]}
    assert table["web"]["rehydration"] > 1 and table["books"]["rehydration"] == 1.0
    assert table["web"]["effective_epochs"] == pytest.approx(
        table["web"]["tokens_used"] / table["web"]["tokens_available"]
    )
    kept = pq.read_table(next(run_dir.glob("work/stages/*_dedup_minhash/data"))).to_pylist()
    size = {row["id"]: row["minhash_cluster_size"] for row in kept}
    copies: dict[str, int] = {}
    source: dict[str, str] = {}
    for shard in manifest["shards"]:
        if shard["split"] == "train":
            for row in pq.read_table(run_dir / shard["provenance"]).to_pylist():
                copies[row["document_id"]] = copies.get(row["document_id"], 0) + 1
                source[row["document_id"]] = row["source"]
    assert sorted(n for n in size.values() if n >= 2) == [2] * 7 + [3] * 3  # every planted cluster, one kept each
    assert sum(1 for d in copies if size[d] >= 2) >= 5 and sum(1 for d in copies if size[d] == 1) >= 20
    for document, n in copies.items():  # web: epochs 1 times weight 2 for a cluster of 2 or more; books: epochs 2
        assert n == (2 if source[document] == "books" else 1) * (2 if size[document] >= 2 else 1)
    build_card(run_dir, spark)
    card = (run_dir / "README.md").read_text()
    assert "effective epochs" in card and f"| {table['web']['effective_epochs']:.2f}x |" in card
    first = next(s["path"] for s in manifest["shards"] if s["split"] == "train")
    assert f"corpus trace {first} 0" in card
    assert main(["inspect", str(run_dir)]) == 0
    web = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("web "))
    assert f"{table['web']['epochs']:.2f} {table['web']['effective_epochs']:>9.2f}" in web
