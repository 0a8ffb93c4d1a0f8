"""The per-stage debugging command: `corpus stage NAME --config C --input PATH --output DIR`."""

import json
import re

import pytest
import yaml

from core.errors import InputError
from pipeline.cli import format_of, input_source, main
from tests.conftest import shared_data


def test_stage_command_runs_one_stage_and_shows_counts_and_rejects(spark, tmp_path, capsys):
    rows = [{"text": f"Document {i}: " + "words to keep it long enough " * 3} for i in range(6)]
    rows += [{"text": "tiny"}, {"text": "short one"}]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows) + '{"text": "broken\n', encoding="utf-8")
    config = tmp_path / "config.yaml"  # 4 partitions, as the shared test session: its shuffle setting stays
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(tmp_path / "unused"), "partitions": 4},
                "sources": [{"name": "web", "format": "jsonl", "paths": [str(source)]}],
                "stages": {"normalize": {"min_chars": 20}},
            }
        )
    )
    out = tmp_path / "out"

    code = main(
        [
            "stage",
            "normalize",
            "--config",
            str(config),
            "--input",
            str(source),
            "--output",
            str(out),
            "--show-rejects",
            "5",
        ]
    )

    printed = capsys.readouterr().out
    assert code == 0
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["rows_in"], stats["rows_kept"], stats["reasons"]) == (8, 6, {"normalize:too_short": 2})
    assert (out / "_SUCCESS").exists() and not (out / "scratch").exists()
    assert spark.read.parquet(str(out / "data")).count() == 6
    assert "normalize" in printed and "example rejects (up to 5):" in printed
    assert printed.count("normalize:too_short") >= 2 and "short one" in printed
    assert '"chars_out"' in printed  # the stage's own stats

    assert (
        main(
            [
                "stage",
                "normalize",
                "--config",
                str(config),
                "--input",
                str(source),
                "--output",
                str(tmp_path / "limited"),
                "--limit",
                "3",
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "limited" / "stats.json").read_text())["rows_in"] == 3

    # the next stage straight from this one's output folder (its data/ and document ids)
    assert (
        main(["stage", "heuristics", "--config", str(config), "--input", str(out), "--output", str(tmp_path / "next")])
        == 0
    )
    assert json.loads((tmp_path / "next" / "stats.json").read_text())["rows_in"] == 6
    assert {r["id"] for r in spark.read.parquet(str(tmp_path / "next" / "data")).collect()} | {
        r["id"] for r in spark.read.parquet(str(tmp_path / "next" / "rejects")).collect()
    } == {r["id"] for r in spark.read.parquet(str(out / "data")).collect()}


def test_stage_command_reads_text_folders_and_other_text_fields(spark, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(tmp_path / "unused"), "partitions": 4},
                "sources": [{"name": "web", "format": "jsonl", "paths": ["x.jsonl"]}],
            }
        )
    )
    books = tmp_path / "books"
    books.mkdir()
    for i in range(3):
        (books / f"{i}.txt").write_text(f"Book {i}. " + "A line of a book long enough to keep. " * 5, encoding="utf-8")
    assert (
        main(
            [
                "stage",
                "normalize",
                "--config",
                str(config),
                "--input",
                str(books),
                "--output",
                str(tmp_path / "books_out"),
            ]
        )
        == 0
    )
    assert spark.read.parquet(str(tmp_path / "books_out" / "data")).count() == 3

    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        "".join(json.dumps({"content": f"Post {i}: " + "enough words here " * 4}) + "\n" for i in range(4)),
        encoding="utf-8",
    )
    assert (
        main(
            [
                "stage",
                "normalize",
                "--config",
                str(config),
                "--input",
                str(posts),
                "--text-field",
                "content",
                "--output",
                str(tmp_path / "posts_out"),
            ]
        )
        == 0
    )
    assert spark.read.parquet(str(tmp_path / "posts_out" / "data")).count() == 4


def test_input_format_from_file_names(tmp_path):
    names = ["a.warc.gz", "b.warc.wet.gz", "c.jsonl.zst", "d.parquet", "e.txt", "f.json", "G.JSONL", "README.md"]
    assert [format_of(n) for n in names] == ["warc", "warc", "jsonl", "parquet", "text", "jsonl", "jsonl", None]


def test_input_folder_reads_its_one_format_and_ignores_other_files(tmp_path):
    folder = tmp_path / "hf_dataset"
    (folder / "20231101.en").mkdir(parents=True)
    for name in [
        "20231101.en/train-00001.parquet",
        "20231101.en/train-00000.parquet",
        "README.md",
        "LICENSE",
        ".cache/huggingface/x.lock",
        "_SUCCESS",
    ]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")
    source = input_source(str(folder))
    assert source.format == "parquet"
    assert source.paths == [str(folder / "20231101.en" / f"train-0000{i}.parquet") for i in (0, 1)]
    assert input_source(str(folder), fmt="jsonl").paths == [str(folder)]  # told: every file, as given

    (folder / "notes.txt").write_text("a text file")
    with pytest.raises(InputError, match="found 2 parquet, 1 text"):
        input_source(str(folder))
    with pytest.raises(InputError, match="found none"):
        input_source(str(folder / ".cache"))


def test_stage_command_refuses_a_foreign_output_folder_and_a_zero_limit(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(tmp_path / "run")},
                "sources": [{"name": "web", "format": "jsonl", "paths": ["x.jsonl"]}],
            }
        )
    )
    (tmp_path / "x.jsonl").write_text('{"text": "a document"}\n')
    command = ["stage", "normalize", "--config", str(config), "--input", str(tmp_path / "x.jsonl"), "--output"]
    assert main(command + [str(tmp_path)]) == 2
    assert "not empty and was not written by this tool" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(command + [str(tmp_path / "out"), "--limit", "0"])
    assert "expected a number >= 1" in capsys.readouterr().err


def test_stage_command_rejects_an_unknown_stage_with_the_list(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"sources": [{"name": "web", "format": "jsonl", "paths": ["x.jsonl"]}]}))
    assert main(["stage", "no_such", "--config", str(config), "--input", "x.jsonl", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown stage 'no_such'" in err and "normalize" in err and "dedup_minhash" in err


def test_stage_command_names_a_missing_model_file_in_one_line(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "Some text to score."}) + "\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(tmp_path / "unused"), "partitions": 4},
                "sources": [{"name": "web", "format": "jsonl", "paths": [str(source)]}],
                "stages": {"quality_classifier": {"models": {"en": str(tmp_path / "no.bin")}}},
            }
        )
    )
    assert (
        main(
            [
                "stage",
                "quality_classifier",
                "--config",
                str(config),
                "--input",
                str(source),
                "--output",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: fastText quality model not found: ") and str(tmp_path / "no.bin") in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_stage_command_reruns_only_when_something_changed_and_reports_its_quarantine(spark, tmp_path, caplog):
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"text": f"Post {i}: " + "enough words here " * 4}) + "\n" for i in range(4)) + "{broken\n",
        encoding="utf-8",
    )
    config = tmp_path / "config.yaml"

    def run(min_chars: int) -> dict:
        config.write_text(
            yaml.safe_dump(
                {
                    "run": {"output_dir": str(tmp_path / "unused"), "partitions": 4},
                    "sources": [{"name": "web", "format": "jsonl", "paths": ["x.jsonl"]}],
                    "stages": {"normalize": {"min_chars": min_chars}},
                }
            )
        )
        assert (
            main(
                [
                    "stage",
                    "normalize",
                    "--config",
                    str(config),
                    "--input",
                    str(source),
                    "--output",
                    str(tmp_path / "out"),
                ]
            )
            == 0
        )
        return json.loads((tmp_path / "out" / "stats.json").read_text())

    first = run(20)
    assert first["rows_kept"] == 4
    quarantine = spark.read.parquet(str(tmp_path / "out" / "quarantine")).collect()
    assert [(q["line"], q["reason"]) for q in quarantine] == [(5, "ingest:invalid_json")]
    assert "quarantined 1 x ingest:invalid_json" in caplog.text
    assert run(20) == first, "the same command again: skipped, same stats"
    assert run(500)["reasons"] == {"normalize:too_short": 4}, "a changed stage config reruns the stage"


def test_stage_command_reads_a_plain_parquet_folder_and_checks_stop_after(spark, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "hf"
    folder.mkdir()
    for part in range(2):
        pq.write_table(
            pa.table({"text": [f"Row {part}-{i}: " + "a downloaded dataset row " * 3 for i in range(3)]}),
            folder / f"train-0000{part}.parquet",
        )
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(tmp_path / "run"), "partitions": 4},
                "sources": [{"name": "web", "format": "parquet", "paths": [str(folder)]}],
                "stages": {"normalize": {}},
            }
        )
    )
    assert (
        main(
            [
                "stage",
                "normalize",
                "--config",
                str(config),
                "--input",
                str(folder),
                "--output",
                str(tmp_path / "out"),
                "--limit",
                "4",
            ]
        )
        == 0
    )
    kept = spark.read.parquet(str(tmp_path / "out" / "data")).collect()
    assert len(kept) == 4 and all(r["id"] and r["source"] == "web" for r in kept)  # the configured source's folder
    (folder / "README.md").write_text("# a dataset card, not Parquet")  # told --format parquet: read per file
    assert (
        main(
            [
                "stage",
                "normalize",
                "--config",
                str(config),
                "--input",
                str(folder),
                "--format",
                "parquet",
                "--output",
                str(tmp_path / "told"),
            ]
        )
        == 0
    )
    assert spark.read.parquet(str(tmp_path / "told" / "data")).count() == 6
    assert [r["reason"] for r in spark.read.parquet(str(tmp_path / "told" / "quarantine")).collect()] == [
        "ingest:unreadable_file"
    ]

    assert main(["run", "--config", str(config), "--stop-after", "langid"]) == 2
    err = capsys.readouterr().err
    assert "--stop-after 'langid' is not a stage of this run; choose one of: ingest, normalize" in err


def test_stage_command_refuses_a_run_directory_or_its_input_as_output(spark, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"text": "tiny"}) + "\n" + json.dumps({"text": "A page long enough to keep. " * 4}) + "\n{broken\n",
        encoding="utf-8",
    )
    config = tmp_path / "config.yaml"
    run_dir = tmp_path / "run"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(run_dir), "partitions": 2},
                "sources": [{"name": "web", "format": "jsonl", "paths": [str(source)]}],
                "stages": {"normalize": {"min_chars": 20}},
            }
        )
    )
    assert main(["run", "--config", str(config), "--stop-after", "normalize"]) == 0
    kept = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    assert (run_dir / "rejects" / "01_normalize").is_dir() and (run_dir / "quarantine").is_dir()
    capsys.readouterr()

    command = ["stage", "normalize", "--config", str(config), "--input", str(source), "--output"]
    for output, says in (
        (run_dir, f"--output {run_dir} is the run directory"),
        (run_dir / "stages" / "01_normalize", f"is inside the run directory {run_dir}"),
    ):
        assert main(command + [str(output)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and says in err and err.count("\n") == 1
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == kept, "the run is untouched"

    debug = tmp_path / "debug"
    assert main(command + [str(debug)]) == 0
    assert main(["stage", "normalize", "--config", str(config), "--input", str(debug), "--output", str(debug)]) == 2
    assert "holds the --input" in capsys.readouterr().err


def write_web_pages(path, count: int) -> None:
    """The first ``count`` real web pages (mostly German and English), text only: no `lang` column."""
    import gzip

    with gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt", encoding="utf-8") as pages:
        rows = [json.loads(line) for _, line in zip(range(count), pages)]
    path.write_text("".join(json.dumps({"text": row["text"]}) + "\n" for row in rows), encoding="utf-8")


def test_stage_that_reads_lang_tags_raw_input_with_langid_first_or_says_it_did_not(spark, tmp_path, capsys, caplog):
    source = tmp_path / "pages.jsonl"
    write_web_pages(source, 60)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(tmp_path / "unused"), "partitions": 4},
                "sources": [{"name": "web", "format": "jsonl", "paths": [str(source)]}],
            }
        )
    )
    command = ["stage", "heuristics", "--config", str(config), "--input", str(source), "--output"]

    assert main(command + [str(tmp_path / "tagged")]) == 0
    assert "so langid (" in caplog.text and "tags the documents first and rejects none" in caplog.text
    printed = capsys.readouterr().out
    tagged = spark.read.parquet(str(tmp_path / "tagged" / "data")).select("lang")
    tagged = tagged.unionByName(spark.read.parquet(str(tmp_path / "tagged" / "rejects")).select("lang"))
    langs = {r["lang"]: r["count"] for r in tagged.groupBy("lang").count().collect()}
    assert langs["de"] >= 10 and langs["en"] >= 10 and sum(langs.values()) == 60
    assert f"languages (lang column): de {langs['de']}" in printed

    caplog.clear()
    assert main(command + [str(tmp_path / "untagged"), "--no-langid"]) == 0
    assert "no `lang` column and --no-langid: every document gets the rules of stages.heuristics" in caplog.text

    def stop_word_rejects(folder: str) -> int:
        stats = json.loads((tmp_path / folder / "stats.json").read_text())
        return stats["reasons"].get("gopher_quality:stop_words", 0)

    assert stop_word_rejects("untagged") >= stop_word_rejects("tagged") + 5, "German pages judged by English words"

    assert (
        main(
            ["stage", "quality_classifier", "--config", str(config), "--input", str(source), "--output"]
            + [str(tmp_path / "qc"), "--no-langid"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "stage quality_classifier needs the `lang` column and --no-langid" in err and err.count("\n") == 1


def test_run_refuses_a_stage_needing_lang_without_langid_and_warns_for_one_with_a_fallback(tmp_path, capsys, caplog):
    from pipeline.cli import check_langid_runs_first
    from pipeline.config import parse_config

    base = {"run": {"output_dir": str(tmp_path / "run")}, "sources": [{"name": "w", "format": "jsonl", "paths": ["x"]}]}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**base, "stages": {"normalize": {}, "perplexity": {}}}))
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stages.perplexity needs the `lang` column") and "add `langid: {}`" in err
    assert not (tmp_path / "run").exists(), "refused before anything is written"

    check_langid_runs_first(parse_config({**base, "stages": {"heuristics": {}}}))
    assert "stages.heuristics reads each document's language, but langid does not run" in caplog.text
    caplog.clear()
    check_langid_runs_first(parse_config({**base, "stages": {"langid": {}, "heuristics": {}, "perplexity": {}}}))
    assert caplog.text == ""


def test_stages_prints_every_section_with_its_defaults_as_commented_yaml_that_loads(capsys):
    from pipeline.config import PipelineConfig, parse_config
    from stages.registry import STAGES

    assert main(["stages"]) == 0
    printed = capsys.readouterr().out
    config = parse_config(yaml.safe_load(printed))
    for stage in STAGES:
        assert getattr(config.stages, stage.name) == stage.Config(), stage.name
    for name in ("spark", "ingest", "tokenizer", "mixture", "shards", "card", "train"):
        assert getattr(config, name) == PipelineConfig.model_fields[name].get_default(), name
    for line in (
        "    min_chars: 50  # shorter documents are rejected (normalize:too_short)",
        "  default_epochs: 1.0  # epochs of sources not named in `sources`",
        "  heldout_fraction: 0.01  # documents kept out of the sample for evaluation",
        "  shard_size: 100000000  # target size of one shard, in shard_unit",
        "      min_words: 50  # fewer words: gopher_quality:word_count (Gopher A.1.1)",
        "      EMAIL: {mode: replace, min_score: 0.5}",
    ):
        assert line + "\n" in printed, line
    assert "\n  # 03 heuristics: Published heuristic recipes" in printed
    assert "enabled=True" not in printed and "PiiRule(" not in printed  # YAML, not Python reprs

    assert main(["stages", "heuristics"]) == 0
    section = yaml.safe_load(capsys.readouterr().out)
    assert list(section) == ["stages"] and list(section["stages"]) == ["heuristics"]
    heuristics = next(s for s in STAGES if s.name == "heuristics")
    assert heuristics.Config(**section["stages"]["heuristics"]) == heuristics.Config()
    assert main(["stages", "no_such"]) == 2
    assert "choose one of: normalize, langid" in capsys.readouterr().err


def test_init_writes_a_starter_config_for_my_files(tmp_path, monkeypatch, capsys):
    from pipeline.config import load_config

    monkeypatch.chdir(tmp_path)  # no models/ here: the model stages cannot run yet
    (tmp_path / "web").mkdir()
    write_web_pages(tmp_path / "web" / "a.jsonl", 3)
    write_web_pages(tmp_path / "web" / "b.jsonl", 4)
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "one.txt").write_text("A book. " * 50, encoding="utf-8")
    (tmp_path / "notes.jsonl").write_text(json.dumps({"text": "a note"}) + "\n", encoding="utf-8")

    assert main(["init", "my.yaml", "web/a.jsonl", "web/b.jsonl", "books", "mail=notes.jsonl"]) == 0
    printed = capsys.readouterr().out
    assert "disabled (see the notes in the file): quality_classifier, perplexity, decontaminate" in printed
    config = load_config("my.yaml")
    assert [(s.name, s.format, s.paths) for s in config.sources] == [
        ("web", "jsonl", ["web/a.jsonl", "web/b.jsonl"]),
        ("books", "text", ["books"]),
        ("mail", "jsonl", ["notes.jsonl"]),
    ]
    assert config.run.output_dir == str(tmp_path / "runs" / "my")
    enabled = [stage.name for _, stage, _ in config.enabled_stages()]
    assert enabled == ["normalize", "langid", "heuristics", "dedup_sentence", "dedup_minhash", "pii"]
    text = re.sub(r"\n *# ", " ", (tmp_path / "my.yaml").read_text())  # comment lines joined
    assert "DISABLED, cannot run yet: fastText quality model not found" in text
    assert "train it with `python jobs/train_quality_classifier.py" in text

    assert main(["init", "my.yaml", "books"]) == 2
    assert "my.yaml exists already: pass --force" in capsys.readouterr().err
    assert main(["init", "other.yaml", "missing.jsonl"]) == 2
    assert "error: missing.jsonl: no such file or folder" in capsys.readouterr().err
