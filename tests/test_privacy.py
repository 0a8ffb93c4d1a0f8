"""The privacy rule end to end: raw personal data only in the input files and the run's work area.

The whole job runs on a small corpus with planted PII of every entity type in ``text``, ``url`` and ``meta``,
in documents kept to the end and in documents rejected at every stage, and in records quarantined at ingest;
then every file outside ``work/`` (Parquet decoded, gz decompressed, token shards detokenized), the job's
captured log and CLI output, ``corpus inspect``, ``corpus stage --show-rejects`` and the HTML report are
searched for each planted value.
"""

import gzip
import json
import random
import shutil
import stat
import subprocess

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT

from filters.perplexity import document_perplexity, load_kenlm_model
from filters.quality_model import load_quality_model, quality_score
from model_training.inputs import read_texts
from pipeline.cli import main
from pipeline.config import parse_config
from pipeline.runner import run_pipeline
from tests.reference_job import run_job
from tests.test_perplexity import tiny_lm  # noqa: F401  (fixtures: the tiny models the model stages need)
from tests.test_quality_model import tiny_classifier  # noqa: F401

# One value per entity type (LOCATION is replaced in this run: its default is keep).
PLANTED = {
    "PERSON": "Margaret Thornbury",
    "EMAIL": "wanda.pike@lakeside-mail.net",
    "PHONE": "+1 415 555 0133",
    "IP": "203.0.113.77",
    "CREDIT_CARD": "4539 1488 0343 6467",
    "IBAN": "DE89 3704 0044 0532 0130 00",
    "US_SSN": "536-22-8145",
    "CRYPTO": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "CN_ID": "11010519491231002X",
    "LOCATION": "Minneapolis",
    "ZH_PERSON": "张伟",
    "ZH_PHONE": "13812345678",
    "ZH_ADDRESS": "北京市海淀区中关村大街27号",
}
P = PLANTED
EN_PII = (
    f"Dr. {P['PERSON']} moved from Boston to {P['LOCATION']} in May; write to {P['EMAIL']} or call {P['PHONE']}. "
    f"Her server at {P['IP']} was paid with card {P['CREDIT_CARD']}, IBAN {P['IBAN']}, "
    f"SSN {P['US_SSN']}, wallet {P['CRYPTO']}, ID {P['CN_ID']}."
)
ZH_PII = f"{P['ZH_PERSON']}住在{P['ZH_ADDRESS']}，电话{P['ZH_PHONE']}，身份证号码{P['CN_ID']}，邮箱{P['EMAIL']}。"
URL = f"https://lakeside-mail.net/profile?mail={P['EMAIL']}&ip={P['IP']}"
META = {"author": P["PERSON"], "sender": P["EMAIL"], "phone": P["PHONE"]}


def paragraphs() -> tuple[list[str], list[str]]:
    """Real book paragraphs of 60+ words: ones the tiny KenLM model trained on (low perplexity even with the
    planted PII) and held-out ones (shuffled, they make the high-perplexity document)."""
    lines = next(read_texts(ROOT / "data/train/en/gutenberg.txt.gz")).split("\n")
    long = [i for i, p in enumerate(lines) if len(p.split()) >= 60]
    return [lines[i] for i in long if i < 300][:12], [lines[i] for i in long if i >= 400][:4]


def spam_text() -> str:
    """A real spam mail (auto warranty) that passes the heuristics: the quality classifier must reject it."""
    with gzip.open(ROOT / "data/train/en/spam.jsonl.gz", "rt", encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    return next(t for t in texts if t.startswith("Protect your financial well-being."))


def documents(books: list[str], held_out: list[str]) -> dict[str, list[str]]:
    """Texts by the stage meant to reject them ("kept": none); every one holds planted PII."""
    shuffled = " ".join(held_out).replace(".", "").split()  # long: its perplexity outweighs the PII's
    random.Random(3).shuffle(shuffled)
    copy = books[0].split()
    copy[len(copy) // 2] = "lantern"
    lines = books[6:10]
    return {
        "kept": [f"{b} {EN_PII}" for b in books[:6]] + ["\n".join([f"{lines[0]} {EN_PII}", *lines[1:]])],
        "normalize": [f"Dr. {P['PERSON']} {P['PHONE']}"],
        "langid": [ZH_PII * 4, f"Bitte schreiben Sie an {P['EMAIL']} oder rufen Sie {P['PHONE']} an. " * 4],
        "heuristics": ["\n".join(f"{P['PERSON']} {P['EMAIL']} river cold mill farmer fence {i}" for i in range(12))],
        "quality_classifier": [f"{spam_text()} {EN_PII}"],
        "perplexity": [" ".join(shuffled) + f". {EN_PII}"],
        "dedup_sentence": ["\n".join([lines[1], lines[2], EN_PII])],
        "dedup_minhash": [" ".join(copy) + f" {EN_PII}"],
        "decontaminate": [f"{books[11]} {EN_PII}"],
    }


def write_inputs(folder, books: list[str], held_out: list[str]) -> dict[str, list[str]]:
    """web.jsonl (the kept and most rejected documents), copies.jsonl (a lower-priority source: its duplicates
    are the ones removed), the eval set, and two records ingest quarantines."""
    folder.mkdir(parents=True)
    docs = documents(books, held_out)
    copies = ("dedup_sentence", "dedup_minhash")
    for name, kinds in (("web", [k for k in docs if k not in copies]), ("copies", copies)):
        with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for kind in kinds:
                for text in docs[kind]:
                    handle.write(json.dumps({"text": text, "url": URL, **META}, ensure_ascii=False) + "\n")
    with open(folder / "web.jsonl", "ab") as handle:
        handle.write(f'{{"text": "{EN_PII}", "url": "{URL}\n'.encode())  # broken JSON
        handle.write(b'{"text": "' + EN_PII.encode() + b' \xff\xfe"}\n')  # invalid UTF-8
    (folder / "eval.jsonl").write_text(json.dumps({"text": books[11]}) + "\n", encoding="utf-8")
    return docs


def thresholds(docs: dict[str, list[str]], classifier_path, lm_path) -> tuple[float, float]:
    """A quality threshold between the spam and the book texts, and a perplexity maximum between the book
    texts and the shuffled one, from the tiny models themselves."""
    quality = load_quality_model(str(classifier_path))
    books = [*docs["kept"], *docs["perplexity"], *docs["dedup_sentence"], *docs["decontaminate"]]
    spam, book_scores = (
        quality_score(quality, docs["quality_classifier"][0]),
        [quality_score(quality, t) for t in books],
    )
    assert spam < min(book_scores), (spam, book_scores)
    lm = load_kenlm_model(str(lm_path))
    shuffled = document_perplexity(lm, docs["perplexity"][0])
    kept = [document_perplexity(lm, t) for t in [*docs["kept"], *docs["dedup_minhash"], *docs["decontaminate"]]]
    assert max(kept) < shuffled, (kept, shuffled)
    return (spam + min(book_scores)) / 2, (max(kept) * shuffled) ** 0.5


def config_for(root, classifier_path, lm_path, quality_threshold: float, max_perplexity: float) -> dict:
    inputs = root / "in"
    source = {"format": "jsonl", "meta_fields": ["author", "sender", "phone"]}
    return {
        "run": {"output_dir": str(root / "run"), "partitions": 2, "seed": 3, "source_priority": ["web", "copies"]},
        "sources": [
            {"name": "web", "paths": [str(inputs / "web.jsonl")], **source},
            {"name": "copies", "paths": [str(inputs / "copies.jsonl")], **source},
        ],
        "stages": {
            "normalize": {"min_chars": 80},
            "langid": {"languages": ["en"], "threshold": 0.3},
            "heuristics": {},
            "quality_classifier": {
                "models": {"en": str(classifier_path)},
                "keep_rule": "threshold",
                "threshold": quality_threshold,
            },
            "perplexity": {
                "models": {"en": str(lm_path)},
                "keep_buckets": ["head", "middle", "tail"],
                "max_perplexity": max_perplexity,
            },
            "dedup_sentence": {"mode": "lines", "span": 2, "min_chars": 400},
            "dedup_minhash": {"threshold": 0.7},
            "decontaminate": {"eval_sets": {"held_out": str(inputs / "eval.jsonl")}, "mode": "reject"},
            "pii": {"entities": {"LOCATION": {"mode": "replace"}}},
        },
        "tokenizer": {"vocab_size": 384, "sample_chars": 200000, "heldout_fraction": 0.2},
        "shards": {"shard_size": 2000, "valid_fraction": 0.0},
    }


@pytest.fixture(scope="module")
def leak_run(tmp_path_factory, tiny_classifier, tiny_lm):  # noqa: F811
    root = tmp_path_factory.mktemp("privacy")
    docs = write_inputs(root / "in", *paragraphs())
    classifier_path, lm_path = tiny_classifier[0], tiny_lm[0]
    config = config_for(root, classifier_path, lm_path, *thresholds(docs, classifier_path, lm_path))
    (root / "job.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    job = run_job(root / "job.yaml", "--master", "local[2]", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = job.communicate(timeout=900)
    log = output.decode("utf-8", "replace")
    assert job.returncode == 0, log[-3000:]
    return {"root": root, "run": root / "run", "config": config, "log": log}


def published_texts(run, tokenizer_texts: bool = True):
    """(file, its text) for every file of the run directory outside work/: Parquet rows as JSON, gz
    decompressed, token shards decoded with the run's tokenizer, anything else as UTF-8."""
    for path in sorted(p for p in run.rglob("*") if p.is_file() and p.relative_to(run).parts[0] != "work"):
        if path.suffix == ".parquet":
            yield path, json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False, default=str)
        elif path.suffix == ".gz":
            yield path, gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        elif path.suffix == ".bin" and tokenizer_texts:
            yield path, decoded_shard(run, path)
        else:
            yield path, path.read_bytes().decode("utf-8", "replace")


def decoded_shard(run, path) -> str:
    from tokenizers import Tokenizer

    from trainer_output.indexed_dataset import IndexedDatasetReader

    tokenizer = Tokenizer.from_file(str(run / "tokenizer" / "tokenizer.json"))
    reader = IndexedDatasetReader(str(path.with_suffix("")))
    return "\n".join(tokenizer.decode(reader[i].tolist()) for i in range(len(reader)))


def hits(text: str) -> list[str]:
    return [f"{entity} {value!r}" for entity, value in PLANTED.items() if value in text]


@pytest.mark.slow
def test_no_planted_value_outside_the_work_area_or_in_any_output(spark, leak_run, tmp_path, capsys, caplog):
    run = leak_run["run"]
    funnel = {s["stage"]: s for s in json.loads((run / "summary.json").read_text())["funnel"]}
    rejected = {name: s["rows_rejected"] for name, s in funnel.items() if name != "pii"}  # pii rejects none
    assert min(rejected.values()) >= 1, rejected  # every stage rejected some (ingest: quarantined)
    assert funnel["pii"]["rows_kept"] >= 3 and (run / "shards" / "manifest.json").is_file()

    work = run / "work"
    assert stat.S_IMODE(work.stat().st_mode) == 0o700 and "RAW TEXT" in (work / "README.md").read_text()
    raw = "".join(text for _, text in published_texts(work, tokenizer_texts=False))
    assert hits(raw), "the work area holds the raw text (the test plants values the search can find)"
    assert not (run / "stages" / "01_normalize" / "data").exists() and (run / "stages" / "09_pii" / "data").is_dir()

    found = {str(path.relative_to(run)): hits(text) for path, text in published_texts(run)}
    assert {path: h for path, h in found.items() if h} == {}
    assert len([p for p in found if p.endswith(".parquet")]) >= 10  # rejects of every stage, quarantine, final
    assert hits(leak_run["log"]) == []

    assert main(["inspect", str(run)]) == 0
    from card.report import build_html_report

    report = build_html_report(run, spark)
    assert hits(report.read_text(encoding="utf-8")) == []
    out = tmp_path / "stage"
    stage_input = leak_run["root"] / "in" / "web.jsonl"
    config = leak_run["root"] / "job.yaml"
    args = ["stage", "normalize", "--config", str(config), "--input", str(stage_input), "--output", str(out)]
    assert main([*args, "--show-rejects", "5"]) == 0
    printed = capsys.readouterr()
    assert "example rejects" in printed.out and "<PERSON>" in printed.out
    assert hits(printed.out + printed.err + caplog.text) == []
    stage_files = [(p, t) for p, t in published_texts(out) if p.relative_to(out).parts[0] in ("rejects", "quarantine")]
    assert stage_files and [str(p) for p, t in stage_files if hits(t)] == []


@pytest.mark.slow
def test_clean_work_removes_the_raw_area_and_a_later_run_recomputes_what_it_needs(spark, leak_run, capsys):
    run = leak_run["run"]
    config = parse_config(leak_run["config"])
    assert main(["clean", str(run), "--work"]) == 0
    assert "removed the raw work area" in capsys.readouterr().out and not (run / "work").exists()
    again = run_pipeline(spark, config)  # the published pii data is complete: nothing before it reruns
    assert all(o.skipped for o in again) and not any((run / "work" / "stages").glob("*/data"))
    assert (run / "work" / "README.md").is_file()

    pii = {**leak_run["config"]["stages"]["pii"], "nlp_batch_size": 8}  # the same findings, another stage hash
    changed = {**leak_run["config"], "stages": {**leak_run["config"]["stages"], "pii": pii}}
    rerun = run_pipeline(spark, parse_config(changed))  # the pii stage changed: its input is recomputed
    assert [o.skipped for o in rerun] == [False] * len(rerun)
    assert [o.stats["rows_kept"] for o in rerun] == [o.stats["rows_kept"] for o in again]


def test_meta_is_scrubbed_value_by_value_and_stays_json():
    from filters.pii import scrub_json_values
    from stages.pii import PiiConfig, published_rules, worker_scrubber

    scrubber = worker_scrubber(PiiConfig(), published_rules(PiiConfig()), b"")
    meta = json.dumps({"author": P["PERSON"], "mail": {"from": P["EMAIL"]}, "phone": 14155550133, "n": 3})
    clean, plain, none = scrub_json_values(scrubber, [meta, f"not json {P['EMAIL']}", None], ["en", "en", None])
    assert json.loads(clean) == {"author": "<PERSON>", "mail": {"from": "<EMAIL>"}, "phone": "<PHONE>", "n": 3}
    assert (plain, none) == ("not json <EMAIL>", None)


def test_a_runs_stage_folder_as_input_reads_its_data_in_the_work_area(tmp_path):
    from core.errors import InputError
    from pipeline.cli import stage_folder_data

    run, elsewhere = tmp_path / "run", tmp_path / "fast-disk"
    (run / "stages" / "02_langid").mkdir(parents=True)
    (run / "config.resolved.yaml").write_text(yaml.safe_dump({"run": {"work_dir": str(elsewhere)}}))
    (elsewhere / "stages" / "02_langid" / "data").mkdir(parents=True)
    assert stage_folder_data(run / "stages" / "02_langid") == elsewhere / "stages" / "02_langid" / "data"
    (run / "stages" / "09_pii" / "data").mkdir(parents=True)
    assert stage_folder_data(run / "stages" / "09_pii") == run / "stages" / "09_pii" / "data"
    shutil.rmtree(elsewhere)
    with pytest.raises(InputError, match="corpus clean --work"):
        stage_folder_data(run / "stages" / "02_langid")


@pytest.mark.slow
def test_work_dir_elsewhere_holds_the_raw_data_and_a_foreign_folder_is_refused(spark, tmp_path):
    from pipeline.runner import OutputError
    from tests.reference_job import config_dict, write_corpus

    write_corpus(tmp_path / "in")
    raw = config_dict(tmp_path / "in", tmp_path / "run")
    raw["run"]["work_dir"] = str(tmp_path / "scratch-disk" / "work")
    outcomes = run_pipeline(spark, parse_config(raw))
    work = tmp_path / "scratch-disk" / "work"
    assert stat.S_IMODE(work.stat().st_mode) == 0o700 and (work / "README.md").is_file()
    assert {p.parent.name for p in work.glob("stages/*/data")} == {"00_ingest", "01_normalize", "07_dedup_minhash"}
    assert not (tmp_path / "run" / "work").exists() and not list((tmp_path / "run").glob("stages/*/data"))
    assert outcomes[-1].stats["rows_kept"] > 0 and (tmp_path / "run" / "shards" / "manifest.json").is_file()
    short = pq.read_table(tmp_path / "run" / "rejects" / "01_normalize").to_pylist()
    assert [r["text"] for r in short] == ["short"]  # scrubbed (nothing to replace) and cut

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("someone else's files")
    raw["run"]["work_dir"] = str(tmp_path / "other")
    with pytest.raises(OutputError, match="the work area"):
        run_pipeline(spark, parse_config(raw))


def test_a_reject_is_scrubbed_on_a_prefix_then_cut_and_never_shows_a_split_entity():
    from filters.pii import scrub_strings
    from stages.pii import SCRUB_MARGIN, PiiConfig, published_rules, scrub_prefixes, worker_scrubber

    scrubber = worker_scrubber(PiiConfig(), published_rules(PiiConfig()), b"")
    straddling = "y " * 495 + f" {P['EMAIL']} and more text " * 3  # the address crosses the cut at 1000
    long = "plain words. " * 400 + P["EMAIL"]  # the address lies past keep + SCRUB_MARGIN: never scrubbed, cut
    wallets = f"wallet {P['CRYPTO']}. " * 70  # placeholders shorten the prefix by more than the margin allows
    short, far, dense, none = scrub_prefixes(scrubber, [straddling, long, wallets, None], None, 1000)
    assert len(short) <= 1000 and "@" not in short and "wanda" not in short and "lakeside" not in short
    assert far == long[:1000] and len(long) > 1000 + SCRUB_MARGIN and none is None
    assert dense == scrub_strings(scrubber, [wallets])[0][:1000] and P["CRYPTO"][:10] not in dense


def test_a_stages_details_are_scrubbed_unless_it_says_they_never_quote_the_document(spark, monkeypatch):
    """``Publishing.rejects``: a detail may quote the document (scrubbed by default); a stage whose details are
    signal names and numbers (``Stage.details_quote_text = False``: heuristics) has them published as they are,
    its text still scrubbed; with the text left out too, nothing is scrubbed and no pii engine is loaded."""
    import pipeline.privacy as privacy
    from pipeline.config import PrivacyConfig

    quoting, numeric = f"matched {P['EMAIL']}", "line_punct_ratio 0.08 < 0.12"
    rows = [("a", EN_PII, URL, quoting, "en"), ("b", EN_PII, URL, numeric, "en")]
    df = spark.createDataFrame(rows, "id string, text string, url string, detail string, lang string").coalesce(1)
    scrubbed = {r["id"]: r for r in privacy.Publishing().rejects(df).collect()}
    assert scrubbed["a"]["detail"] == "matched <EMAIL>" and scrubbed["b"]["detail"] == numeric
    as_they_are = {r["id"]: r for r in privacy.Publishing().rejects(df, details_quote_text=False).collect()}
    assert as_they_are["a"]["detail"] == quoting and as_they_are["b"]["detail"] == numeric
    kept_by_default = f"LOCATION {P['LOCATION']!r}"  # the pii stage keeps places unless told otherwise
    assert all(set(hits(r["text"] + r["url"])) <= {kept_by_default} for r in as_they_are.values())

    def no_engine(*args, **kwargs):
        raise AssertionError("nothing is left to scrub: the pii engine must not run")

    monkeypatch.setattr(privacy, "published_scrub", no_engine)
    bare = privacy.Publishing(PrivacyConfig(rejects_text="none")).rejects(df, details_quote_text=False).collect()
    assert [(r["text"], r["url"], r["detail"]) for r in bare] == [(None, None, quoting), (None, None, numeric)]
