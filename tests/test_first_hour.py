"""The README's "Running" walk, as a new user does it: own files in an empty folder, `corpus init`, one
stage on a sample, the whole run, `corpus inspect`, and the outputs loaded elsewhere with transformers
and NumPy (the Megatron reader's layout)."""

import gzip
import json
import re
import shutil

import transformers

from filters.split import split_document
from pipeline.cli import main
from tests.conftest import ROOT, shared_data
from trainer_output.indexed_dataset import IndexedDatasetReader


def write_own_files(folder) -> None:
    """Real web pages (German and English, one JSONL per site batch) and two book chapters as .txt."""
    with gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt", encoding="utf-8") as f:
        pages = [json.loads(line)["text"] for _, line in zip(range(40), f)]
    (folder / "web").mkdir()
    for part in range(2):
        rows = pages[part * 20 : (part + 1) * 20]
        (folder / "web" / f"part-{part}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in rows))
    (folder / "books").mkdir()
    for name in ("austen-emma", "melville-moby_dick"):  # their first chapter each
        book = (ROOT / "data" / "sample" / "books" / f"{name}.txt").read_text(encoding="utf-8")
        (folder / "books" / f"{name}-01.txt").write_text(split_document(book, 12_000)[0] + "\n", encoding="utf-8")


def test_from_my_own_files_to_shards_as_the_readme_says(spark, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.chdir(tmp_path)
    write_own_files(tmp_path)
    assert main(["init", "my.yaml", "web/part-0.jsonl", "web/part-1.jsonl", "books"]) == 0
    config = (tmp_path / "my.yaml").read_text()
    # what a user edits: a 2-core machine, a small vocabulary for a small corpus, a validation set, progress
    for old, new in (
        ("partitions: 8", "partitions: 2"),
        ("vocab_size: 32768", "vocab_size: 2048"),
        ("valid_fraction: 0.005", "valid_fraction: 0.2"),
        ("progress_interval_s: 60", "progress_interval_s: 0.5"),
    ):
        assert old in config, old
        config = config.replace(old, new)
    (tmp_path / "my.yaml").write_text(config)

    debug = tmp_path / "debug"
    assert main(["stage", "heuristics", "--config", "my.yaml", "--input", "web", "--output", str(debug)]) == 0
    assert "languages (lang column): de" in capsys.readouterr().out

    caplog.set_level("INFO", logger="corpus")
    assert main(["run", "--config", "my.yaml"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"\[\d/\d \w+\] (all )?\d[\d,]* (of \d[\d,]* )?documents", caplog.text), "progress lines"
    for heading in ("quarantine: none", "tokenizer: ", "shards: ", "card: "):
        assert heading in printed, heading

    run_dir = tmp_path / "runs" / "my"
    assert main(["inspect", str(run_dir)]) == 0
    inspected = capsys.readouterr().out
    tokenizer_stats = json.loads((run_dir / "tokenizer" / "stats.json").read_text())
    for lang in ("de", "en"):  # every language of the corpus is evaluated, held out at least 20 (or half)
        figures = tokenizer_stats["evaluation"][lang]
        assert figures["documents"] >= 2 and f"  {lang:<10} {figures['documents']:>10,}" in inspected
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    for split, totals in manifest["splits"].items():
        assert f"  {split:<6} {totals['shards']:>4} shards {totals['documents']:>11,} documents" in inspected
    assert f"card: {run_dir / 'README.md'}" in inspected and "## Tokenizer" in (run_dir / "README.md").read_text()

    moved = tmp_path / "elsewhere"  # a copied run points at its own files
    shutil.move(run_dir, moved)
    manifest = json.loads((moved / "shards" / "manifest.json").read_text())
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(moved / manifest["tokenizer"]["path"].rsplit("/", 1)[0]))
    assert tokenizer.eos_token_id == manifest["tokenizer"]["eos_id"]
    splits = {s["split"] for s in manifest["shards"]}
    assert splits == {"train", "valid"}
    first = IndexedDatasetReader(moved / manifest["shards"][0]["path"])[0]
    assert first[-1] == manifest["tokenizer"]["eos_id"] and len(tokenizer.decode(first.tolist())) > 100
