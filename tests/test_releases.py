"""Releases: a run deduplicated against an earlier release keeps exactly what a joint run would keep."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from releases.index import FORMAT_VERSION, ReleaseError, check_parameters, load_releases, write_manifest
from stages.base import StageContext
from stages.dedup_minhash import DedupMinhashConfig, DedupMinhashStage
from stages.dedup_sentence import RELEASE_COLUMN, DedupSentenceStage
from synthetic.releases import release_pair, sentences_of
from tests.conftest import shared_data

SCHEMA = "id string, source string, text string"


@pytest.fixture(scope="module")
def crawls():
    """Crawls A and B (300 documents each) from real books, with planted cross-release duplicates and chains."""
    books = sorted(shared_data("reference", "en").glob("[a-z]*-*.txt.gz"))
    return release_pair(sentences_of(books), 300, seed=3)


def frame(spark, records, source):
    return spark.createDataFrame([(r["id"], source, r["text"]) for r in records], SCHEMA)


def context(spark, folder, priority, releases=()):
    return StageContext(spark, 1, 2, folder / "scratch", source_priority=priority, releases=releases)


@pytest.fixture(scope="module")
def release_a(spark, crawls, tmp_path_factory):
    """Crawl A deduplicated alone and published as release "A" (its sentence and MinHash indexes)."""
    from pipeline.release import write_tables

    root = tmp_path_factory.mktemp("release")
    ctx = context(spark, root, ["a"])
    docs = frame(spark, crawls[0], "a")
    minhash, sentence = DedupMinhashStage(), DedupSentenceStage()
    clusters = ctx.checkpoint(minhash.apply(docs, ctx), "a_minhash")
    tables = {**sentence.release_tables(docs, ctx), **minhash.release_tables(docs, clusters, ctx)}
    rows = write_tables(root / "A", tables, 2)
    parameters = {"minhash": minhash.release_parameters(), "sentence": sentence.release_parameters()}
    write_manifest(
        root / "A", {"format_version": FORMAT_VERSION, "name": "A", "tables": rows, "parameters": parameters}
    )
    return load_releases([str(root / "A")])


def test_minhash_against_a_release_keeps_what_a_joint_run_keeps(spark, crawls, release_a, tmp_path):
    a, b = crawls
    stage = DedupMinhashStage()
    joint = stage.apply(frame(spark, a, "a").unionByName(frame(spark, b, "b")), context(spark, tmp_path, ["a", "b"]))
    joint_b = {r["id"]: r["reason"] for r in joint.where(F.col("source") == "b").collect()}
    incremental = stage.apply(frame(spark, b, "b"), context(spark, tmp_path, ["b"], release_a))
    rows = {r["id"]: r for r in incremental.collect()}

    assert {i for i, reason in joint_b.items() if reason is None} == {i for i, r in rows.items() if r["reason"] is None}
    against_a = {i for i, r in rows.items() if r["reason"] == "dedup:minhash:release:A"}
    assert against_a == {i for i, reason in joint_b.items() if (reason or "").startswith("dedup:minhash:a")}
    planted = {r["id"]: r["planted"] for r in b}
    removed = {kind: sum(planted[i] == kind for i in against_a) for kind in ("near_a", "chain", "near_a_dup")}
    assert removed["near_a"] >= 25 and removed["chain"] >= 10 and removed["near_a_dup"] >= 15, removed
    assert all(rows[i]["minhash_cluster"].startswith("a") for i in against_a)  # the release document's cluster
    within_b = [r for r in rows.values() if (r["reason"] or "").startswith("dedup:minhash:b")]
    assert len(within_b) >= 10  # B's own near-duplicates, deduplicated as before


def test_sentence_dedup_against_a_release_removes_what_a_joint_run_removes(spark, crawls, release_a, tmp_path):
    a, b = crawls
    stage = DedupSentenceStage()
    joint = stage.apply(frame(spark, a, "a").unionByName(frame(spark, b, "b")), context(spark, tmp_path, ["a", "b"]))
    joint_b = {r["id"]: (r["text"], r["reason"] is None) for r in joint.where(F.col("source") == "b").collect()}
    incremental = stage.apply(frame(spark, b, "b"), context(spark, tmp_path, ["b"], release_a)).collect()

    assert {r["id"]: (r["text"], r["reason"] is None) for r in incremental} == joint_b
    trimmed = [r for r in incremental if r[RELEASE_COLUMN] == "A"]
    planted = {r["id"]: r["planted"] for r in b}
    assert sum(planted[r["id"]] == "spans" for r in trimmed) >= 25
    assert all(r["dedup_sentence_chars_removed"] > 0 for r in trimmed)


def test_a_release_made_with_other_parameters_is_one_error_naming_the_key(release_a):
    other = DedupMinhashStage(DedupMinhashConfig(num_perm=64))
    with pytest.raises(ReleaseError) as err:
        check_parameters(release_a, "minhash", "stages.dedup_minhash", other.release_parameters())
    message = str(err.value)
    assert "stages.dedup_minhash.num_perm is 64 here but 128 in release 'A'" in message and "\n" not in message
    check_parameters(release_a, "minhash", "stages.dedup_minhash", DedupMinhashStage().release_parameters())


def test_verifying_against_a_release_without_shingle_sets_is_refused(release_a, tmp_path):
    import json
    import shutil

    folder = tmp_path / "A"
    shutil.copytree(release_a[0].path, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["tables"]["minhash_shingles"]
    write_manifest(folder, manifest)
    unverified = load_releases([str(folder)])
    with pytest.raises(ReleaseError, match="verify is true but release 'A' .* has no shingle sets"):
        DedupMinhashStage().check_releases(unverified)
    DedupMinhashStage(DedupMinhashConfig(verify=False, bands=16, rows=8)).check_releases(unverified)


def test_a_missing_release_folder_is_named_by_its_key(tmp_path):
    with pytest.raises(ReleaseError, match=r"releases.against\[0\]: .*manifest.json not found"):
        load_releases([str(tmp_path / "nowhere")])


def run_config(inputs, out, eval_file=None, against=(), **minhash):
    """A small run: normalize, both dedups and decontamination, over one crawl."""
    return {
        "run": {"output_dir": str(out), "partitions": 2, "progress_interval_s": 0},
        "sources": [{"name": "crawl", "format": "jsonl", "paths": [str(inputs)], "id_field": "id"}],
        "stages": {
            "normalize": {},
            "dedup_sentence": {},
            "dedup_minhash": minhash,
            "decontaminate": {"eval_sets": {"passages": str(eval_file)} if eval_file else {}, "mode": "reject"},
        },
        "tokenizer": {"vocab_size": 512, "sample_chars": 200000},
        "shards": {"shard_size": 20000, "valid_fraction": 0.1},
        "releases": {"against": [str(a) for a in against]},
    }


@pytest.mark.slow
def test_two_releases_end_to_end(spark, tmp_path, capsys):
    """Run A, publish it, run B against it: B's rejects, stats and card say what went against the release; B
    is decontaminated with A's evaluation sets though its own config names none; mismatches are one line."""
    import json

    import pyarrow.parquet as pq
    import yaml

    from pipeline.cli import main
    from synthetic.releases import write_release_pair

    books = sorted(shared_data("reference", "en").glob("[a-z]*-*.txt.gz"))
    a_file, b_file = write_release_pair(tmp_path / "in", sentences_of(books), 150, seed=5)
    b_fresh = [json.loads(line) for line in b_file.read_text().splitlines()]
    b_fresh = [r for r in b_fresh if r["planted"] == "fresh"][-2:]
    eval_file = tmp_path / "eval.jsonl"  # A's evaluation set holds two of B's documents
    eval_file.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in b_fresh))
    configs = {
        "a": run_config(a_file, tmp_path / "run-a", eval_file),
        "b": run_config(b_file, tmp_path / "run-b", against=[tmp_path / "rel" / "A1"]),
        "bad": run_config(b_file, tmp_path / "run-bad", against=[tmp_path / "rel" / "A1"], num_perm=64),
    }
    for name, config in configs.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(config))

    assert main(["run", "--config", str(tmp_path / "a.yaml")]) == 0
    assert main(["release", str(tmp_path / "run-a"), "--name", "A1", "--into", str(tmp_path / "rel")]) == 0
    manifest = json.loads((tmp_path / "rel" / "A1" / "manifest.json").read_text())
    final_a = pq.read_table(tmp_path / "run-a" / "work" / "stages" / "08_decontaminate" / "data").num_rows
    assert manifest["tables"]["documents"] == final_a and manifest["tables"]["decontamination"] > 0
    assert manifest["tables"]["minhash"] > 0 and manifest["tables"]["sentence"] > 0
    assert manifest["parameters"]["minhash"]["num_perm"] == 128
    assert main(["run", "--config", str(tmp_path / "b.yaml")]) == 0

    run_b = tmp_path / "run-b"
    stats = {
        name: json.loads((run_b / "stages" / folder / "stats.json").read_text())["extra"]
        for name, folder in (("sentence", "06_dedup_sentence"), ("minhash", "07_dedup_minhash"))
    }
    against = {name: extra.get("removed_against_releases", {}).get("A1", 0) for name, extra in stats.items()}
    # B's copies of A's documents: most lose their sentences shared with A in sentence dedup (trimmed; those
    # left too short are rejected), the rest go in MinHash dedup; both count against the release
    assert against["sentence"] >= 3 and against["minhash"] >= 2, against
    assert stats["sentence"]["docs_changed_against_releases"]["A1"] >= 30
    reasons = pq.read_table(run_b / "rejects" / "06_dedup_sentence").column("reason").to_pylist()
    reasons += pq.read_table(run_b / "rejects" / "07_dedup_minhash").column("reason").to_pylist()
    assert reasons.count("dedup_sentence:release:A1") == against["sentence"]
    assert reasons.count("dedup:minhash:release:A1") == against["minhash"]
    decontaminate = json.loads((run_b / "stages" / "08_decontaminate" / "stats.json").read_text())
    assert decontaminate["extra"]["documents_per_eval_set"]["passages"] >= 1
    card = (run_b / "README.md").read_text()
    assert "## Earlier releases" in card and "`A1`" in card

    capsys.readouterr()
    assert main(["run", "--config", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: stages.dedup_minhash.num_perm is 64 here but 128 in release 'A1'")
    assert not any(line.startswith("Traceback") for line in err)
    assert main(["release", str(tmp_path / "run-a"), "--name", "A1", "--into", str(tmp_path / "rel")]) == 2
    assert "exists already" in capsys.readouterr().err
