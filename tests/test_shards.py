import json
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from tokenizer_train.train import TokenizerConfig, bpe_trainer, build_tokenizer
from trainer_output import shards
from trainer_output.indexed_dataset import IndexedDatasetReader, IndexedDatasetWriter, dtype_for_vocab, sha256_file
from trainer_output.mixture import MixtureConfig, SourceTarget
from trainer_output.shards import ShardsConfig, write_shards

EOS = "<|endoftext|>"
SEED = 11


def doc_text(source: str, i: int) -> str:
    extra = "数据清洗，去重。" if i % 3 == 0 else "Ünïcödé 🙂 tabs\tand\nnewlines"
    return f"{source} document {i}: {i * 7919} {extra} " + "word " * (i % 5)


def train_small_tokenizer(path: Path) -> Path:
    cfg = TokenizerConfig(vocab_size=384, reserved_tokens=2)
    tokenizer = build_tokenizer(cfg)
    trainer = bpe_trainer(cfg)
    tokenizer.train_from_iterator([doc_text(s, i) for s in "ab" for i in range(50)], trainer=trainer)
    tokenizer.save(str(path))
    return path


def read_all(out_dir: Path, manifest: dict, tokenizer: Tokenizer) -> list[tuple[str, str]]:
    """(split, decoded sequence) for every sequence of every shard, in manifest order (paths are relative
    to the parent of the shards folder, the run directory)."""
    seen = []
    for shard in manifest["shards"]:
        reader = IndexedDatasetReader(out_dir.parent / shard["path"])
        assert len(reader) == shard["documents"]
        assert int(reader.sequence_lengths.sum()) == shard["tokens"]
        seen += [
            (shard["split"], tokenizer.decode(reader[i].tolist(), skip_special_tokens=False))
            for i in range(len(reader))
        ]
    return seen


def test_writer_matches_megatron_layout_and_reader(tmp_path):
    docs = [[1, 2, 3], [], [65_535, 0]]
    writer = IndexedDatasetWriter(tmp_path / "x", np.uint16)
    for doc in docs:
        writer.add_document(doc)
    written = writer.finalize()
    raw = (tmp_path / "x.idx").read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    assert struct.unpack("<Q", raw[9:17]) == (1,)
    assert raw[17] == 8  # Megatron DType.uint16
    assert struct.unpack("<QQ", raw[18:34]) == (3, 4)
    assert np.frombuffer(raw, "<i4", 3, 34).tolist() == [3, 0, 2]
    assert np.frombuffer(raw, "<i8", 3, 46).tolist() == [0, 6, 6]
    assert np.frombuffer(raw, "<i8", 4, 70).tolist() == [0, 1, 2, 3]
    assert len(raw) == 102
    assert (tmp_path / "x.bin").read_bytes() == np.array([1, 2, 3, 65_535, 0], "<u2").tobytes()
    reader = IndexedDatasetReader(tmp_path / "x")
    assert [reader[i].tolist() for i in range(len(reader))] == docs
    assert (written.documents, written.tokens) == (3, 5)
    assert written.bin_sha256 == sha256_file(tmp_path / "x.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin", "x.idx"]


def test_dtype_at_vocabulary_boundary(tmp_path):
    assert dtype_for_vocab(65_499) == np.uint16
    assert dtype_for_vocab(65_500) == np.int32
    writer = IndexedDatasetWriter(tmp_path / "y", dtype_for_vocab(65_500))
    writer.add_document([70_000, 1])
    writer.finalize()
    assert (tmp_path / "y.idx").read_bytes()[17] == 4  # Megatron DType.int32
    assert IndexedDatasetReader(tmp_path / "y")[0].tolist() == [70_000, 1]


def test_shards_config_forbids_unknown_keys():
    with pytest.raises(ValidationError):
        ShardsConfig(shard_tokens=5)


def test_eos_token_must_be_in_the_tokenizer(spark, tmp_path):
    tokenizer_path = train_small_tokenizer(tmp_path / "tokenizer.json")
    docs = spark.createDataFrame([("d", "web", "text")], "id string, source string, text string")
    with pytest.raises(ValueError, match="shards.eos_token '<eos>' is not in the tokenizer"):
        write_shards(
            docs,
            tokenizer_path,
            tmp_path / "out",
            ShardsConfig(eos_token="<eos>"),
            MixtureConfig(),
            seed=SEED,
            config_hash="h",
        )


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    tokenizer_path = train_small_tokenizer(root / "tokenizer.json")
    rows = []
    for source in "ab":
        for i in range(40):
            cluster = None if i % 10 == 9 else f"{source}c{i // 4}"
            rows.append((f"{source}{i}", source, doc_text(source, i), cluster))
    docs = spark.createDataFrame(rows, "id string, source string, text string, minhash_cluster string")
    cfg = ShardsConfig(shard_unit="documents", shard_size=25, valid_fraction=0.3)
    mixture = MixtureConfig(sources={"a": SourceTarget(epochs=2.5)})
    out = root / "out"
    manifest = write_shards(docs, tokenizer_path, out, cfg, mixture, seed=SEED, config_hash="cfg123")
    return {
        "rows": rows,
        "docs": docs,
        "tokenizer": tokenizer_path,
        "cfg": cfg,
        "mixture": mixture,
        "out": out,
        "manifest": manifest,
    }


def test_shards_round_trip_with_mixture_and_cluster_splits(corpus):
    manifest, out = corpus["manifest"], corpus["out"]
    tokenizer = Tokenizer.from_file(str(corpus["tokenizer"]))
    seen = read_all(out, manifest, tokenizer)
    counts = Counter(text for _, text in seen)
    by_text = {
        doc_text(s, i) + EOS: (s, cluster or f"{s}{i}")
        for s, i, cluster in ((r[1], int(r[0][1:]), r[3]) for r in corpus["rows"])
    }
    assert set(counts) == set(by_text)  # every document, decoded exactly, eos appended
    split_of_text = {text: split for split, text in seen}
    for text, (source, _) in by_text.items():  # source a has 2.5 epochs; a validation document is never repeated
        assert counts[text] in ((2, 3) if source == "a" and split_of_text[text] == "train" else (1,))
    split_of_cluster: dict[str, set] = {}
    for split, text in seen:
        split_of_cluster.setdefault(by_text[text][1], set()).add(split)
    assert all(len(splits) == 1 for splits in split_of_cluster.values())
    assert {s for splits in split_of_cluster.values() for s in splits} == {"train", "valid"}

    assert manifest["dtype"] == "uint16" and manifest["tokenizer"]["eos_id"] == 0
    assert manifest["tokenizer"]["path"] == "tokenizer.json"  # relative to the run directory, out's parent
    for shard in manifest["shards"]:
        assert shard["path"].startswith(f"out/{shard['split']}/")
        assert (out.parent / (shard["path"] + ".idx")).read_bytes()[17] == 8
        assert shard["sha256"] == {
            "bin": sha256_file(out.parent / (shard["path"] + ".bin")),
            "idx": sha256_file(out.parent / (shard["path"] + ".idx")),
            "provenance": sha256_file(out.parent / shard["provenance"]),
        }
        assert shard["provenance"] == shard["path"] + ".prov.parquet"
        assert shard["tokenizer_sha256"] == sha256_file(corpus["tokenizer"]) and shard["config_hash"] == "cfg123"
        assert sum(shard["tokens_per_source"].values()) == shard["tokens"]
    train = manifest["splits"]["train"]
    assert train["shards"] >= 3 and train["documents"] == sum(1 for split, _ in seen if split == "train")
    table = {row["source"]: row for row in manifest["mixture"]}
    assert table["a"]["epochs"] == 2.5 and table["b"]["epochs"] == 1.0
    assert table["a"]["documents"] == 40 and table["a"]["documents_used"] == sum(
        c for text, c in counts.items() if by_text[text][0] == "a"
    )
    assert table["b"]["tokens_used"] == table["b"]["tokens_available"]
    assert sum(row["tokens_used"] for row in table.values()) == sum(s["tokens"] for s in manifest["shards"])
    assert json.loads((out / "manifest.json").read_text()) == manifest


def test_provenance_sidecar_names_the_document_of_every_sequence(corpus):
    """Each sidecar row is its sequence: the document's id, source and token count; repeats are copies."""
    out, manifest = corpus["out"], corpus["manifest"]
    tokenizer = Tokenizer.from_file(str(corpus["tokenizer"]))
    text_of = {doc_id: text for doc_id, _, text, _ in corpus["rows"]}
    copies = Counter()
    for shard in manifest["shards"]:
        reader = IndexedDatasetReader(out.parent / shard["path"])
        rows = pq.read_table(out.parent / shard["provenance"]).to_pylist()
        assert [r["sequence"] for r in rows] == list(range(len(reader)))
        for row in rows:
            tokens = reader[row["sequence"]]
            assert row["n_tokens"] == tokens.size and row["source"] == row["document_id"][0]
            assert tokenizer.decode(tokens.tolist(), skip_special_tokens=False) == text_of[row["document_id"]] + EOS
            assert row["sample_id"].split("#r")[0] == row["document_id"] and row["file"] is None
            copies[row["document_id"]] += 1
    assert set(copies) == set(text_of) and sum(copies.values()) == sum(s["documents"] for s in manifest["shards"])


def test_rerun_on_other_partitioning_is_byte_identical_and_leaves_no_stale_shards(corpus, monkeypatch):
    """Other input partitions, and fewer writing tasks (several shards each, not one per shard): the same bytes."""
    monkeypatch.setattr(shards, "WRITER_TASKS_PER_CORE", 1)  # 2 writing tasks (default parallelism 2)
    assert len(corpus["manifest"]["shards"]) > 2  # the first run used up to 4 writing tasks
    out = corpus["out"]
    stale = out / "train" / "train_99999.bin"
    stale.write_bytes(b"old")
    (out / "_staging" / "train").mkdir(parents=True)
    (out / "_staging" / "train" / "train_00000.bin.tmp7").write_bytes(b"killed attempt")
    again = write_shards(
        corpus["docs"].repartition(3),
        corpus["tokenizer"],
        out,
        corpus["cfg"],
        corpus["mixture"],
        seed=SEED,
        config_hash="cfg123",
    )
    assert again == corpus["manifest"]
    files = sorted(str(p.relative_to(out.parent)) for p in out.rglob("*") if p.is_file())
    expected = sorted(
        [s["path"] + ext for s in again["shards"] for ext in (".bin", ".idx", ".prov.parquet")] + ["out/manifest.json"]
    )
    assert files == expected


def test_tokenizers_and_tiktoken_write_the_same_shards(corpus, tmp_path):
    """``shards.encoder: tokenizers`` (the HF library alone) against the default, which chose tiktoken here."""
    assert corpus["manifest"]["tokenizer"]["encoder"] == "tiktoken"
    cfg = corpus["cfg"].model_copy(update={"encoder": "tokenizers"})
    out = tmp_path / "out"
    again = write_shards(
        corpus["docs"], corpus["tokenizer"], out, cfg, corpus["mixture"], seed=SEED, config_hash="cfg123"
    )
    assert again["tokenizer"]["encoder"] == "tokenizers"
    assert [s["sha256"] for s in again["shards"]] == [s["sha256"] for s in corpus["manifest"]["shards"]]


def test_failed_write_leaves_earlier_shards_and_no_staged_tokens(corpus, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_shards(corpus["docs"], corpus["tokenizer"], out, corpus["cfg"], corpus["mixture"], seed=SEED, config_hash="c")
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shards, "_install", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_shards(
            corpus["docs"], corpus["tokenizer"], out, corpus["cfg"], corpus["mixture"], seed=SEED, config_hash="c"
        )
    assert not (out / "_staging").exists()
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_int32_shards_at_vocabulary_of_65500_and_an_empty_valid_split_is_logged(spark, tmp_path, caplog):
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    vocab.update({f"<filler{i}>": i for i in range(len(vocab), 65_499)})
    vocab[EOS] = 65_499
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([EOS])
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    assert tokenizer.get_vocab_size(with_added_tokens=True) == 65_500
    texts = ["hello 世界", "second doc", "третий"]
    docs = spark.createDataFrame(
        [(f"d{i}", "web", t) for i, t in enumerate(texts)], "id string, source string, text string"
    )
    manifest = write_shards(
        docs,
        tmp_path / "tokenizer.json",
        tmp_path / "out",
        ShardsConfig(valid_fraction=0.01),
        MixtureConfig(),
        seed=SEED,
        config_hash="h",
    )
    assert manifest["dtype"] == "int32" and [s["split"] for s in manifest["shards"]] == ["train"]
    assert "[shards] the valid split is empty: shards.valid_fraction 0.01 of 3 documents" in caplog.text
    path = tmp_path / manifest["shards"][0]["path"]
    assert (tmp_path / (manifest["shards"][0]["path"] + ".idx")).read_bytes()[17] == 4
    reader = IndexedDatasetReader(path)
    decoded = sorted(tokenizer.decode(reader[i].tolist(), skip_special_tokens=False) for i in range(len(reader)))
    assert decoded == sorted(t + EOS for t in texts)
    assert all(reader[i][-1] == 65_499 for i in range(len(reader)))
