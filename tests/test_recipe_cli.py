"""Recipes at the command line: `corpus stage` applies a source's recipe as `corpus run` does, and `corpus init`
suggests a recipe per source, on real books, mail, reference pages and web pages."""

from __future__ import annotations

import gzip
import json
import re
import shutil

import yaml

from pipeline.cli import main
from pipeline.config import SourceConfig, load_config
from pipeline.recipe_suggest import looks_like_mail
from pipeline.stage_sources import as_configured_source
from tests.conftest import shared_data
from tests.reference_job import read_rows


def jsonl_lines(name: str, count: int, *parts: str) -> list[dict]:
    with gzip.open(shared_data(*parts, name), "rt", encoding="utf-8") as stream:
        return [json.loads(line) for _, line in zip(range(count), stream)]


def write_jsonl(path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": row["text"]}) + "\n" for row in rows), encoding="utf-8")


def test_init_suggests_a_recipe_for_each_source(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "library").mkdir()
    shutil.copy(shared_data("reference", "en", "austen-persuasion.txt.gz"), tmp_path / "library")  # 466k chars
    write_jsonl(tmp_path / "inbox" / "messages.jsonl", jsonl_lines("spamassassin_emails.jsonl.gz", 3, "web"))
    write_jsonl(tmp_path / "enwiki" / "pages.jsonl", jsonl_lines("en-US.jsonl.gz", 3, "handbook"))
    write_jsonl(tmp_path / "crawl" / "pages.jsonl", jsonl_lines("pages_wet_like.jsonl.gz", 3, "web"))

    assert main(["init", "my.yaml", "library", "inbox", "enwiki", "crawl"]) == 0
    assert "library (text, 1 paths, recipe books)" in capsys.readouterr().out
    config = load_config("my.yaml")
    assert [(s.name, s.recipe) for s in config.sources] == [
        ("library", "books"),
        ("inbox", "mail"),
        ("enwiki", "reference"),
        ("crawl", "web"),
    ]
    assert config.sources[0].split_chars == 20_000  # the recipe's cutting comes with it
    text = re.sub(r"\n *# ", " ", (tmp_path / "my.yaml").read_text())  # comment lines joined
    assert "suggested: plain text of over 100,000 characters" in text
    assert "suggested: its first document starts with mail headers" in text
    assert text.count("suggested: ") == 4


def test_mail_is_recognised_by_its_headers_not_by_a_mention():
    messages = jsonl_lines("spamassassin_emails.jsonl.gz", 50, "web")
    assert sum(looks_like_mail(m["text"]) for m in messages) >= 48
    pages = jsonl_lines("pages_wet_like.jsonl.gz", 50, "web")
    assert not any(looks_like_mail(p["text"]) for p in pages)
    assert not looks_like_mail("Subject: a talk on mail\n\nFrom: here to there, a walk.")


def test_stage_cli_reads_a_configured_sources_file_as_that_source(spark, tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(shared_data("reference", "en", "blake-poems.txt.gz"), books)  # 38k characters: two pieces
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"output_dir": str(tmp_path / "unused"), "partitions": 2},
                "sources": [
                    {"name": "books", "format": "text", "paths": [str(books)], "recipe": "books"},
                    {"name": "web", "format": "jsonl", "paths": [str(tmp_path / "web")]},
                ],
                "stages": {"heuristics": {}},
            }
        )
    )

    out = tmp_path / "as_books"
    argv = ["stage", "heuristics", "--config", str(config), "--input", str(books / "blake-poems.txt.gz")]
    assert main([*argv, "--output", str(out), "--no-langid"]) == 0
    as_books = json.loads((out / "stats.json").read_text())
    assert as_books["rows_in"] == 2 and as_books["rows_kept"] == 2  # cut as the recipe says; no web rules
    assert as_books["config"]["per_source"]["books"]["c4.enabled"] is False
    rows = read_rows(out / "data")
    assert {row["source"] for row in rows} == {"books"}
    assert {json.loads(row["meta"])["pieces"] for row in rows} == {2}
    assert sum(len(row["text"]) for row in rows) > 37_000  # the poems' short lines kept whole

    elsewhere = SourceConfig(name="input", format="text", paths=[str(tmp_path / "elsewhere" / "poems.txt")])
    assert as_configured_source(load_config(config), elsewhere) == elsewhere  # not a source's file: as it is
    other_format = SourceConfig(name="input", format="jsonl", paths=[str(books / "blake-poems.txt.gz")])
    assert as_configured_source(load_config(config), other_format) == other_format  # --format jsonl: not the books
