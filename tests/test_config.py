import os

import pytest
import yaml

from pipeline.config import ConfigError, digest, load_config, parse_config

BASE = {"run": {"output_dir": "out"}, "sources": [{"name": "web", "format": "jsonl", "paths": ["x.jsonl"]}]}


def test_sample_config_is_valid():
    config = load_config("configs/sample.yaml")
    assert config.run.output_dir == os.path.abspath("runs/sample")  # executors may run in other folders
    assert [s.name for s in config.sources][:2] == ["web", "email"]
    assert config.source_priority[0] == "wiki"


def test_unknown_keys_name_the_key_and_the_allowed_ones():
    raw = {**BASE, "stages": {"normalize": {"min_chars": 5, "min_char": 3}}}
    with pytest.raises(ConfigError) as err:
        parse_config(raw, origin="my.yaml")
    message = str(err.value)
    assert "my.yaml" in message and "stages.normalize.min_char: unknown key" in message
    assert "min_chars" in message  # the allowed keys are listed


def test_bad_values_name_the_key_and_allowed_values():
    raw = {**BASE, "sources": [{"name": "web", "format": "csv", "paths": ["x"]}]}
    with pytest.raises(
        ConfigError, match=r"sources\.0\.format: Input should be 'jsonl', 'parquet', 'text', 'warc' or 'code'"
    ):
        parse_config(raw)


def test_unknown_stage_and_bad_priority_are_rejected():
    with pytest.raises(ConfigError, match=r"stages\.nope: unknown key"):
        parse_config({**BASE, "stages": {"nope": {}}})
    with pytest.raises(ConfigError, match="source_priority names unknown sources"):
        parse_config({**BASE, "run": {"output_dir": "o", "source_priority": ["wiki"]}})


def test_mixture_shares_and_eos_token_are_checked_when_the_config_is_read():
    two = {**BASE, "sources": [{"name": n, "format": "jsonl", "paths": ["x.jsonl"]} for n in ("web", "wiki")]}
    with pytest.raises(ConfigError, match="shares sum to 1.2 > 1"):
        parse_config({**two, "mixture": {"sources": {"web": {"share": 0.6}, "wiki": {"share": 0.6}}}})
    with pytest.raises(ConfigError, match=r"leaving nothing for \['wiki'\]"):
        parse_config({**two, "mixture": {"sources": {"web": {"share": 1.0}}}})
    with pytest.raises(ConfigError, match=r"shards.eos_token .<\|endoftext\|>. is not a special token"):
        parse_config({**BASE, "tokenizer": {"eos_token": "</s>"}})
    parse_config({**BASE, "tokenizer": {"eos_token": "</s>"}, "shards": {"eos_token": "</s>"}})


def test_rehydration_needs_the_minhash_stage():
    weights = {"mixture": {"cluster_size_weights": {2: 2.0}}}
    with pytest.raises(ConfigError, match="cluster_size_weights needs each document's minhash_cluster_size"):
        parse_config({**BASE, **weights})
    parse_config({**BASE, **weights, "stages": {"dedup_minhash": {}}})


def test_missing_file_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: [unclosed")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)


def test_digest_is_stable_and_order_independent():
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})


@pytest.mark.parametrize(
    ("section", "key", "allowed"),
    [
        ({"mixture": {"sources": {"web": {"rest": True}}}}, "mixture.sources.web.rest", "share, epochs"),
        (
            {"stages": {"pii": {"entities": {"EMAIL": {"mod": "x"}}}}},
            "stages.pii.entities.EMAIL.mod",
            "mode, min_score",
        ),
        (
            {"stages": {"heuristics": {"languages": {"de": {"segmentr": "x"}}}}},
            "stages.heuristics.languages.de.segmentr",
            "recipe, segmenter, gopher_quality",
        ),
        (
            {"sources": [{"name": "web", "format": "jsonl", "paths": ["x"], "pth": 1}]},
            "sources.0.pth",
            "name, format, paths",
        ),
    ],
)
def test_unknown_keys_inside_mappings_and_lists_are_one_error_naming_the_allowed_keys(
    tmp_path, capsys, section, key, allowed
):
    from pipeline.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**BASE, **section}))
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {config}: invalid config") and "Traceback" not in err
    assert f"{key}: unknown key (allowed: {allowed}" in err
