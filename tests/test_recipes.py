"""Per-source recipes: long documents cut into pieces, mail cleaned, text decoded with a fallback, and
stage settings per source (built-in recipes, a source's own changes), on real books, mail and pages."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from core.errors import ConfigError
from filters.mail import clean_mail
from filters.split import CHAPTER_HEADING, split_document
from filters.text_decode import decode_text
from pipeline.config import dump_resolved, parse_config
from pipeline.resume import StepHash, stage_hash
from pipeline.runner import run_pipeline
from stages.heuristics import HeuristicsStage
from stages.per_source import PER_SOURCE, build_stage
from tests.conftest import shared_data
from tests.reference_job import read_rows


def book(name: str) -> str:
    return gzip.open(shared_data("reference", name), "rt", encoding="utf-8").read()


def test_a_novel_is_cut_at_chapters_into_pieces_that_give_back_the_text():
    text = book("en/melville-moby_dick.txt.gz")  # 1.2M characters: normalize's max_chars rejected it whole
    pieces = split_document(text, 20_000)
    assert 60 <= len(pieces) <= 130 and max(map(len, pieces)) <= 20_000
    assert "".join(pieces).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")
    starts = [p for p in pieces if CHAPTER_HEADING.match(p)]
    assert len(starts) >= 0.7 * len(pieces)  # most pieces start at a chapter heading
    chinese = split_document(book("zh/西游记.txt.gz").replace("\r\n", "\n"), 20_000)
    assert sum(1 for p in chinese if p.startswith("第")) >= 0.9 * len(chinese)
    assert split_document("short text", 20_000) == ["short text"]


def test_a_paragraph_longer_than_the_size_is_cut_at_lines_then_characters():
    lines = "\n".join(f"line {i} of a poem without blank lines" for i in range(400))
    pieces = split_document(lines, 2_000)
    assert all(len(p) <= 2_000 for p in pieces) and all(p.startswith("line ") for p in pieces)
    assert [len(p) for p in split_document("x" * 5_000, 2_000)] == [2_000, 2_000, 1_000]


def test_mail_keeps_the_messages_own_prose():
    rows = [json.loads(line) for line in gzip.open(shared_data("web", "spamassassin_emails.jsonl.gz"), "rt")][:200]
    cleaned = [clean_mail(row["text"]) for row in rows]
    assert all("Received:" not in c.text and "Return-Path:" not in c.text for c in cleaned)
    assert not any(line.startswith(">") for c in cleaned for line in c.text.splitlines())
    carbonara = cleaned[5].text  # a reply to a list: quoted text and the Yahoo Groups footer removed
    assert carbonara.startswith("Isn't it just basically a mixture of beaten egg") and carbonara.endswith("Martin")
    assert sum(len(c.text) for c in cleaned) < 0.5 * sum(len(r["text"]) for r in rows)
    assert sum(1 for c in cleaned if len(c.text) > 200) > 140  # the prose stays (short replies are short)
    assert clean_mail("Plain text without headers.\n-- \nsig").text == "Plain text without headers."


def test_a_book_with_one_invalid_byte_is_decoded_not_lost():
    raw = gzip.open(shared_data("reference", "en", "chesterton-ball.txt.gz")).read()
    decoded = decode_text(raw)
    assert decoded.encoding == "utf-8" and decoded.replaced == raw.decode("utf-8", "replace").count("\ufffd") > 0
    assert len(decoded.text) > 400_000 and decode_text(raw, "strict").text is None
    assert decode_text(raw, "replace").replaced == decoded.replaced
    german = "Grüße aus Köln, die Straße ist schön und der Fluss fließt ruhig.\n" * 20
    assert decode_text(german.encode("cp1252")) .text == german  # fmt: skip
    assert decode_text(german.encode("utf-8")).replaced == 0


def config_with(tmp_path: Path, **changes) -> dict:
    raw = {
        "run": {"output_dir": str(tmp_path / "run"), "partitions": 2},
        "sources": [
            {"name": "web", "format": "jsonl", "paths": [str(tmp_path / "web")]},
            {"name": "books", "format": "text", "paths": [str(tmp_path / "books")], "recipe": "books"},
        ],
        "stages": {"normalize": {"min_chars": 100}, "heuristics": {}, "dedup_minhash": {}, "pii": {}},
    }
    raw.update(changes)
    return raw


def test_recipes_resolve_per_source_and_show_in_the_resolved_config(tmp_path):
    config = parse_config(config_with(tmp_path))
    books = config.source_sections("heuristics")["books"]
    assert not books.c4.enabled and not books.gopher_quality.enabled and books.gopher_repetition.enabled
    assert config.source_sections("heuristics")["web"] is config.stages.heuristics
    assert not config.source_sections("pii")["books"].ner and config.source_sections("pii")["web"].ner
    assert config.sources[1].split_chars == 20_000 and config.sources[0].split_chars == 0
    assert config.sources[1].clean == "none"
    resolved = yaml.safe_load(dump_resolved(config))
    assert resolved["sources"][1]["recipe"] == "books" and resolved["recipes"]["books"]["split_chars"] == 20_000
    reloaded = parse_config(resolved).source_sections("heuristics")["books"]  # loads back the same
    assert reloaded.model_dump(mode="json") == books.model_dump(mode="json")

    own = config_with(tmp_path)
    own["sources"][1]["stages"] = {"heuristics": {"c4": {"enabled": True}}, "pii": {"enabled": False}}
    own["sources"][1]["split_chars"] = None  # as `corpus init` writes it: the recipe's
    own["sources"][0]["split_chars"] = 50_000
    own["recipes"] = {"web": {"stages": {"normalize": {"min_chars": 300}}}}  # replaces the built-in one
    changed = parse_config(own)
    assert changed.source_sections("heuristics")["books"].c4.enabled
    assert changed.source_sections("pii")["books"] is None
    assert changed.source_sections("normalize")["web"].min_chars == 300
    assert changed.source_sections("normalize")["books"].min_chars == 100
    assert [s.split_chars for s in changed.sources] == [50_000, 20_000]


@pytest.mark.parametrize(
    ("source_stages", "message"),
    [
        ({"dedup_minhash": {"threshold": 0.5}}, "compares documents across sources"),
        ({"langid": {"threshold": 0.5}}, "not under `stages:`"),
        ({"heuristics": {"c4": {"no_such_key": 1}}}, "sources.1.stages.heuristics"),
    ],
)
def test_bad_per_source_settings_name_the_key(tmp_path, source_stages, message):
    raw = config_with(tmp_path)
    raw["sources"][1]["stages"] = source_stages
    with pytest.raises(ConfigError, match=message.replace("`", ".")):
        parse_config(raw)
    raw["sources"][1] = {**raw["sources"][1], "stages": {}, "recipe": "novel"}
    with pytest.raises(ConfigError, match="sources.1.recipe: unknown recipe 'novel'"):
        parse_config(raw)


def test_per_source_settings_change_the_stage_hash(tmp_path):
    def heuristics_hash(raw: dict) -> str:
        config = parse_config(raw)
        section = config.stages.heuristics
        stage = build_stage(HeuristicsStage, section, config.source_sections("heuristics"))
        return stage_hash(StepHash("upstream", {}), stage).value

    plain = config_with(tmp_path)
    plain["sources"][1]["recipe"] = "web"
    assert type(build_stage(HeuristicsStage, parse_config(plain).stages.heuristics, {})) is HeuristicsStage
    books = config_with(tmp_path)
    other = config_with(tmp_path)
    other["sources"][1]["stages"] = {"heuristics": {"gopher_quality": {"min_words": 10}}}
    hashes = {heuristics_hash(plain), heuristics_hash(books), heuristics_hash(other)}
    assert len(hashes) == 3


def write_inputs(tmp_path: Path) -> None:
    (tmp_path / "books").mkdir()
    shutil.copy(shared_data("reference", "en", "chesterton-ball.txt.gz"), tmp_path / "books")
    pages = [json.loads(line) for line in gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt")]
    (tmp_path / "web").mkdir()
    with open(tmp_path / "web" / "pages.jsonl", "w", encoding="utf-8") as out:
        for page in pages[:200:10]:
            out.write(json.dumps({"text": page["text"]}, ensure_ascii=False) + "\n")


def test_books_are_cut_decoded_and_filtered_by_their_recipe(spark, tmp_path):
    write_inputs(tmp_path)
    config = parse_config(config_with(tmp_path))
    outcomes = {o.name: o.stats for o in run_pipeline(spark, config, stop_after="heuristics")}
    ingest = outcomes["ingest"]
    assert ingest["reasons"] == {}  # the Chesterton book's invalid bytes no longer quarantine it
    prepared = ingest["extra"]["prepared"]["by_source"]["books"]
    assert prepared["split_documents"] == 1 and prepared["pieces"] >= 20
    assert prepared["decoded_with_fallback"] == 1 and prepared["ingest:replaced_bytes"] > 0
    assert ingest["extra"]["records_read"] == 1 + 20
    heuristics = outcomes["heuristics"]["extra"][PER_SOURCE]
    assert heuristics["books"]["changes"]["c4.enabled"] is False and heuristics["web"]["changes"] == {}
    assert heuristics["books"]["rejected"] <= 2 and heuristics["web"]["rejected"] > 0
    assert heuristics["books"]["extra"]["c4_chars_removed"] == 0 < heuristics["web"]["extra"]["c4_chars_removed"]
    final = read_rows(tmp_path / "run" / "work" / "stages" / "03_heuristics" / "data")
    books = sorted((json.loads(row["meta"])["piece"], row) for row in final if row["source"] == "books")
    assert len(books) >= 0.9 * prepared["pieces"] and all(len(row["text"]) <= 20_000 for _, row in books)
    assert len({json.loads(row["meta"])["parent_id"] for _, row in books}) == 1
    assert sum(len(row["text"]) for _, row in books) > 0.95 * 457_000  # no C4 line rules gutting the prose


def test_the_books_recipe_keeps_names_that_web_pages_have_replaced(spark, stage_ctx, tmp_path):
    from stages.pii import PiiStage

    config = parse_config(config_with(tmp_path, stages={"pii": {}}))
    stage = build_stage(PiiStage, config.stages.pii, config.source_sections("pii"))
    text = "Captain Wentworth called on Anne Elliot at Kellynch Hall; write to anne.elliot@example.org."
    rows = [("1", "books", text, "en"), ("2", "web", text, "en")]
    out = {
        r["source"]: r["text"]
        for r in stage.apply(
            spark.createDataFrame(rows, "id string, source string, text string, lang string"), stage_ctx
        ).collect()
    }
    assert "Anne Elliot" in out["books"] and "<EMAIL>" in out["books"]  # names kept, e-mail still scrubbed
    assert "Anne Elliot" not in out["web"] and "<PERSON>" in out["web"]


def test_languages_without_a_model_are_named_at_start(tmp_path):
    from pipeline.recipes import unmodelled_language_warnings

    raw = config_with(tmp_path)
    raw["stages"] = {
        "langid": {"languages": ["en", "zh", "de"]},
        "quality_classifier": {"models": {"en": "models/quality/en.bin"}, "no_model": "reject"},
    }
    warnings = unmodelled_language_warnings(parse_config(raw))
    assert warnings == [
        "stages.langid.languages allows zh, de but quality_classifier has no model for it (models: en): such "
        "documents of web are rejected (no_model: reject)"
    ]  # books: the books recipe turns the quality classifier off


def test_the_reference_recipe_keeps_reference_pages_the_web_rules_reject(tmp_path):
    from filters.heuristics import decide, score
    from filters.text_units import make_segmenter

    raw = config_with(tmp_path)
    raw["sources"][1] = {"name": "wiki", "format": "jsonl", "paths": ["x.jsonl"], "recipe": "reference"}
    raw["stages"] = {"heuristics": {}, "quality_classifier": {}, "perplexity": {}}
    config = parse_config(raw)
    assert config.source_sections("quality_classifier")["wiki"] is None  # no quality model for reference text
    assert config.source_sections("perplexity")["wiki"] is None
    pages = [json.loads(line)["text"] for line in gzip.open(shared_data("handbook", "en-US.jsonl.gz"), "rt")]
    segmenter = make_segmenter("whitespace", "")

    def rejected(source: str) -> int:
        rules = config.source_sections("heuristics")[source].rules_for("en")
        return sum(decide(score(page, rules, segmenter).signals, rules) is not None for page in pages)

    web, reference = rejected("web"), rejected("wiki")
    assert reference < web and reference <= 0.1 * len(pages)  # light rules: few reference pages rejected


def test_ingest_prepares_mail_and_cuts_books_with_ids_per_piece():
    from pipeline.config import SourceConfig
    from pipeline.readers.prepare import piece_id, prepare
    from pipeline.readers.records import Record, quarantine

    mail = parse_config(
        {
            "run": {"output_dir": "/tmp/x"},
            "sources": [{"name": "m", "format": "jsonl", "paths": ["m"], "recipe": "mail"}],
        }
    ).sources[0]
    message = "From: a@b.org\nSubject: hi\n\nThe answer is yes.\n\n> old question\n-- \nBob, +1 555 0100"
    assert [r.text for r in prepare(Record(3, text=message), mail, "m1")] == ["The answer is yes."]
    books = SourceConfig(name="b", format="text", paths=["b"], split_chars=20_000)
    pieces = prepare(Record(0, text=book("en/austen-persuasion.txt.gz"), meta={"k": 1}), books, "parent")
    assert len(pieces) > 20 and [p.doc_id for p in pieces[:2]] == [piece_id("parent", 0), piece_id("parent", 1)]
    assert pieces[5].meta == {"k": 1, "parent_id": "parent", "piece": 5, "pieces": len(pieces)}
    bad = quarantine(7, "invalid_json", "x")
    assert prepare(bad, books, "id") == [bad]


def test_a_source_stage_setting_reruns_its_stage_not_ingest(tmp_path):
    from pipeline.resume import planned_steps

    def hashes(raw: dict) -> dict[str, str]:
        return {name: step.value for name, _, step, _ in planned_steps(parse_config(raw), files=[])}

    before = hashes(config_with(tmp_path))
    changed = config_with(tmp_path)
    changed["sources"][1]["stages"] = {"pii": {"enabled": False}}
    after = hashes(changed)
    assert after["ingest"] == before["ingest"] and after["heuristics"] == before["heuristics"]
    assert after["pii"] != before["pii"]
    cut = config_with(tmp_path)
    cut["sources"][1]["split_chars"] = 30_000
    assert hashes(cut)["ingest"] != before["ingest"]


def test_the_card_counts_a_stage_run_per_source_as_done(tmp_path):
    from card.run_data import DONE, STALE, _stage_status

    (tmp_path / "_SUCCESS").touch()
    config = {"stages": {"pii": {"enabled": True, "ner": True}}}
    stats = {"rows_in": 5, "config": {"enabled": True, "ner": True, "per_source": {"books": {"ner": False}}}}
    assert _stage_status("pii", tmp_path, stats, config, 5)[0] == DONE
    stats["config"]["ner"] = False
    assert _stage_status("pii", tmp_path, stats, config, 5)[0] == STALE


def test_a_change_to_the_value_the_run_has_keeps_the_plain_stage(tmp_path):
    raw = config_with(tmp_path)
    raw["stages"]["pii"] = {"ner": False}  # what the books recipe sets: nothing differs per source
    config = parse_config(raw)
    assert config.source_sections("pii")["books"] is config.stages.pii
    from stages.pii import PiiStage

    assert type(build_stage(PiiStage, config.stages.pii, config.source_sections("pii"))) is PiiStage
