"""The `code` recipe on real code: repositories built in tmp folders from installed packages (their files
and their own licence files; nothing third-party is committed), the reader's skips, licences, the per-file
rules and the recipe run beside a web source."""

from __future__ import annotations

import gzip
import importlib.metadata
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from filters.code import (
    CodeConfig,
    code_checks,
    code_signals,
    language_of,
    license_allowed,
    spdx_header,
    strip_boilerplate,
)
from filters.heuristics import LanguageRules, decide, score
from filters.text_units import TextUnits, make_segmenter
from pipeline.config import IngestConfig, parse_config
from pipeline.readers.code import read_code, repository_folders, repository_license
from pipeline.readers.prepare import document_license, prepare
from tests.conftest import shared_data

PERMISSIVE = ("MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause")


def package_file(distribution: str, suffix: str) -> Path:
    """An installed file of ``distribution`` whose path ends with ``suffix``."""
    for item in importlib.metadata.distribution(distribution).files or []:
        if str(item).endswith(suffix):
            return Path(item.locate())
    raise AssertionError(f"{distribution} has no {suffix}")


def make_repo(root: Path, name: str, distribution: str, files: list[str], licences: list[str]) -> Path:
    """A repository folder: some of the package's files and its licence files (as they are named in the wheel)."""
    repo = root / name
    for suffix in files:
        target = repo / suffix
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(package_file(distribution, suffix), target)
    for suffix in licences:
        shutil.copy(package_file(distribution, suffix), repo / Path(suffix).name)
    return repo


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("repos")
    attrs = make_repo(root, "attrs", "attrs", ["attr/_compat.py", "attr/setters.py", "attr/filters.py"], ["LICENSE"])
    (attrs / "notes.txt").write_text("release notes\n")  # no language: skipped
    (attrs / "node_modules").mkdir()
    shutil.copy(attrs / "attr" / "setters.py", attrs / "node_modules" / "setters.py")  # vendored copy
    (attrs / "build").mkdir()
    shutil.copy(attrs / "attr" / "filters.py", attrs / "build" / "filters.py")  # build output
    make_repo(root, "tld", "tld", ["tld/utils.py", "tld/base.py"], ["LICENSE_GPL2.0.txt", "LICENSE_LGPL_2.1.txt"])
    make_repo(
        root,
        "import-linter",
        "import-linter",
        ["importlinter/ui/static/viz-standalone.js", "importlinter/ui/static/logo.png", "importlinter/api.py"],
        ["LICENSE"],
    )
    make_repo(root, "pyspark", "pyspark", ["pyspark/sql/connect/proto/commands_pb2.py"], [])
    return root


def code_source(path: Path):
    raw = {"run": {"output_dir": "/tmp/unused"}, "sources": [{"name": "code", "format": "code", "paths": [str(path)]}]}
    raw["sources"][0]["recipe"] = "code"
    return parse_config(raw).sources[0]


def read_repo(repo: Path) -> list:
    source = code_source(repo.parent)
    return [out for record in read_code(source, str(repo), IngestConfig()) for out in prepare(record, source, "k")]


def test_the_reader_reads_each_file_of_each_repository_with_its_language_and_licence(repos, tmp_path):
    assert [Path(p).name for p in repository_folders(str(repos))] == ["attrs", "import-linter", "pyspark", "tld"]
    assert repository_folders(str(repos / "attrs")) == [str(repos / "attrs")]  # a repository root itself
    (tmp_path / "license-expression").mkdir()  # a repository named like a licence file
    (tmp_path / "license-expression" / "LICENSE").write_text("")
    assert repository_folders(str(tmp_path)) == [str(tmp_path / "license-expression")]
    assert repository_license(str(repos / "attrs")) == "MIT"
    assert repository_license(str(repos / "import-linter")) == "BSD-2-Clause"
    assert repository_license(str(repos / "tld")) == "GPL-2.0 AND LGPL-2.1"  # each licence file respected
    assert repository_license(str(repos / "pyspark")) == "unknown"  # no licence file

    attrs = read_repo(repos / "attrs")
    kept = {r.meta["path"]: r for r in attrs if r.reason is None}
    assert sorted(kept) == ["attr/_compat.py", "attr/filters.py", "attr/setters.py"]
    assert kept["attr/_compat.py"].meta == {
        "repo": "attrs",
        "path": "attr/_compat.py",
        "language": "python",
        "license": "MIT",
    }
    skipped = {r.detail: r.reason for r in attrs if r.reason}
    assert skipped == {
        "build/filters.py": "skipped:code:build_output",
        "node_modules/setters.py": "skipped:code:vendored",
        "notes.txt": "skipped:code:no_language",
        "LICENSE": "skipped:code:no_language",
    }
    assert len(attrs) == 7 and [r.line for r in attrs] == sorted(r.line for r in attrs)  # one record per file

    linter = Counter(r.reason for r in read_repo(repos / "import-linter"))
    assert linter == {
        None: 1,  # api.py
        "skipped:code:binary": 1,  # logo.png
        "skipped:code:too_large": 1,  # viz-standalone.js: 1.4 MB, over Codex's 1 MB
        "skipped:code:no_language": 1,  # LICENSE
    }
    assert Counter(r.reason for r in read_repo(repos / "pyspark")) == {"skipped:code:generated": 1}  # *_pb2.py


def test_files_outside_the_allowed_licences_are_skipped_with_the_licence_as_reason(repos):
    tld = read_repo(repos / "tld")
    assert Counter(r.reason for r in tld if r.detail != "LICENSE_GPL2.0.txt") >= Counter(
        {"skipped:code:license:GPL-2.0 AND LGPL-2.1": 2}
    )
    assert not [r for r in tld if r.reason is None]
    assert license_allowed("MIT", PERMISSIVE) and license_allowed("mit", PERMISSIVE)
    assert license_allowed("Apache-2.0 OR BSD-3-Clause", PERMISSIVE)  # cryptography's header
    assert license_allowed("GPL-2.0-only OR MIT", PERMISSIVE)  # one choice is enough
    assert not license_allowed("GPL-2.0-only AND MIT", PERMISSIVE)
    assert license_allowed("Apache-2.0 WITH LLVM-exception", PERMISSIVE)
    assert not license_allowed("LGPL-2.1-or-later", PERMISSIVE)
    assert not license_allowed("unknown", PERMISSIVE) and not license_allowed("MIT AND (", PERMISSIVE)
    assert license_allowed("LGPL-2.1-or-later", ("LGPL-2.1-or-later", "MIT"))  # the allow-list is configurable
    # The Stack's rows: a repository's licences as a list (all must be allowed)
    assert document_license({"max_stars_repo_licenses": ["MIT", "Apache-2.0"]}) == "Apache-2.0 AND MIT"
    assert document_license({"lang": "Python"}) == "unknown"


def test_the_stacks_rows_are_read_by_the_jsonl_reader_with_their_licences(tmp_path):
    from pipeline.readers.read import read_file

    content = package_file("attrs", "attr/setters.py").read_text()
    rows = [
        {"content": content, "max_stars_repo_path": "src/a.py", "max_stars_repo_licenses": ["MIT"], "lang": "Python"},
        {"content": content, "max_stars_repo_path": "b.py", "max_stars_repo_licenses": ["GPL-3.0"], "lang": "Python"},
        {"content": content, "max_stars_repo_path": "c.py", "max_stars_repo_licenses": [], "lang": "Python"},
    ]
    (tmp_path / "stack.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    raw = {"run": {"output_dir": "/tmp/unused"}, "sources": [{"name": "stack", "format": "jsonl", "paths": ["x"]}]}
    raw["sources"][0].update(
        recipe="code", text_field="content", meta_fields=["max_stars_repo_path", "max_stars_repo_licenses", "lang"]
    )
    source = parse_config(raw).sources[0]
    records = [
        r
        for record in read_file(source, str(tmp_path / "stack.jsonl"), IngestConfig())
        for r in prepare(record, source, "k")
    ]
    assert [r.reason for r in records] == [None, "skipped:code:license:GPL-3.0", "skipped:code:license:unknown"]
    assert records[0].meta["max_stars_repo_path"] == "src/a.py" and records[0].text == strip_boilerplate(content)


def test_a_licence_text_cut_short_is_recognised():
    from identify.identify import license_id

    from filters.code import truncated_license_id

    apache = package_file("botocore", "LICENSE.txt")  # Apache-2.0 without its appendix
    assert license_id(str(apache)) is None and truncated_license_id(apache.read_text()) == "Apache-2.0"
    readme = package_file("boolean.py", "README.rst").read_text()
    assert truncated_license_id(readme) is None
    assert truncated_license_id(package_file("attrs", "LICENSE").read_text()) is None  # whole texts: identify's


def test_an_spdx_header_gives_the_files_own_licence():
    compat = package_file("attrs", "attr/_compat.py").read_text()
    assert spdx_header(compat) == "MIT"
    assert spdx_header("/* SPDX-License-Identifier: GPL-2.0-only */\nint x;") == "GPL-2.0-only"
    assert spdx_header("x = 1\n" * 30 + "# SPDX-License-Identifier: MIT\n") is None  # only in the header lines


def test_licence_headers_and_author_lines_are_removed_and_the_code_kept():
    session = package_file("pyspark", "pyspark/sql/session.py").read_text()  # the ASF's Apache-2.0 header
    assert session.startswith("#\n# Licensed to the Apache Software Foundation (ASF)")
    cleaned = strip_boilerplate(session)
    assert "Licensed to the Apache" not in cleaned and "www.apache.org/licenses" not in cleaned[:200]
    assert cleaned.startswith("import os") and session.endswith(cleaned)  # the code after the header, whole
    script = "#!/usr/bin/env python\n# Copyright (c) 2020 Jane Roe\n# Licensed under the MIT license\n\nimport os\n"
    assert strip_boilerplate(script) == "#!/usr/bin/env python\nimport os\n"
    javadoc = "package a;\n/**\n * Parses.\n * @author Jane Roe\n */\nclass A {}\n"
    assert strip_boilerplate(javadoc) == "package a;\n/**\n * Parses.\n */\nclass A {}\n"
    lexer = package_file("pygments", "pygments/lexers/ampl.py").read_text()  # reST fields in the docstring
    assert ":copyright: Copyright 2006-present by the Pygments team" in lexer
    assert ":copyright:" not in strip_boilerplate(lexer) and "Lexers for the AMPL language." in strip_boilerplate(lexer)
    plain = package_file("datasketch", "datasketch/minhash.py").read_text()
    assert strip_boilerplate(plain) == plain  # no header, no author line: unchanged


def code_decision(text: str, rules: LanguageRules | None = None) -> tuple[str, str] | None:
    rules = rules or LanguageRules(recipe="code")
    return decide(score(text, rules, make_segmenter("whitespace", "")).signals, rules)


def test_the_per_file_rules_on_real_files():
    minified = package_file("import-linter", "importlinter/ui/static/viz-standalone.js").read_text()
    signals = code_signals(TextUnits(minified, make_segmenter("whitespace", "")), CodeConfig())
    assert signals["max_line_length"] > 100_000 and signals["encoded_run"] > 1024  # the embedded WebAssembly
    assert code_decision(minified)[0] == "code:max_line_length"
    generated = package_file("pyspark", "pyspark/sql/connect/proto/commands_pb2.py").read_text()
    assert "DO NOT EDIT" not in generated[:300]  # under the ASF licence header, which ingest removes first
    generated = strip_boilerplate(generated)
    assert "DO NOT EDIT" in generated[:300]
    assert code_decision(generated) == ("code:generated", "generated 1 > 0")
    palette = package_file("pillow", "PIL/PalmImagePlugin.py").read_text()  # mostly a table of numbers
    assert code_decision(palette)[0] == "code:alpha_token_ratio"
    for module in ("datasketch/minhash.py", "datasketch/lsh.py"):
        assert code_decision(package_file("datasketch", module).read_text()) is None
    assert code_decision(package_file("attrs", "attr/_make.py").read_text()) is None
    lenient = CodeConfig(reject_generated=False, max_line_length=None)  # thresholds are settings
    assert "generated" not in [c.name for c in code_checks(lenient) if c.high is not None or c.low is not None]
    assert code_decision(generated, LanguageRules(recipe="code", code=lenient))[0] == "code:mean_line_length"


def test_keys_and_tokens_in_code_are_scrubbed_as_secrets():
    from filters.pii import PiiScrubber, build_analyzer

    scrubber = PiiScrubber(build_analyzer(ner=False))  # the code recipe's PII: patterns only
    sts = package_file("moto", "moto/sts/responses.py").read_text()  # AWS's documented example access key
    private_key = package_file("moto", "moto/moto_proxy/ca.key").read_text()  # a real PEM private key
    token = "ghp_" + "a1B2" * 9
    program = f'KEY = """\n{private_key}"""\nTOKEN = "{token}"\nprint(KEY)\n'
    scrubbed_sts, scrubbed_program = scrubber.scrub([sts, program], ["en", "en"])
    assert "AKIAIOSFODNN7EXAMPLE" in sts and "AKIAIOSFODNN7EXAMPLE" not in scrubbed_sts.text
    assert scrubbed_sts.counts["SECRET"] == sts.count("AKIAIOSFODNN7EXAMPLE")
    assert scrubbed_program.text == 'KEY = """\n<SECRET>\n"""\nTOKEN = "<SECRET>"\nprint(KEY)\n'
    plain = package_file("datasketch", "datasketch/minhash.py").read_text()
    assert scrubber.scrub([plain], ["en"])[0].counts.get("SECRET", 0) == 0  # hashes and identifiers are not keys


def test_language_comes_from_the_file_name():
    assert [language_of(p) for p in ("a.py", "b.min.js", "Makefile", "x.h", "notes.txt", "logo.png")] == [
        "python",
        "javascript",
        "makefile",
        "c",
        None,
        None,
    ]


def test_the_code_recipe_turns_the_prose_stages_off_and_keeps_pattern_pii(tmp_path):
    stages = ("normalize", "langid", "heuristics", "quality_classifier", "perplexity", "dedup_sentence", "pii")
    raw = {
        "run": {"output_dir": str(tmp_path / "run")},
        "sources": [
            {"name": "web", "format": "jsonl", "paths": ["w"]},
            {"name": "code", "format": "code", "paths": ["c"], "recipe": "code"},
        ],
        "stages": {**{name: {} for name in stages}, "dedup_minhash": {}},
    }
    config = parse_config(raw)
    code = {name: config.source_sections(name)["code"] for name in [*stages, "dedup_minhash"]}
    assert [name for name, section in code.items() if section is None] == [
        "langid",
        "quality_classifier",
        "perplexity",
        "dedup_sentence",
    ]
    assert not code["normalize"].collapse_whitespace and code["normalize"].unicode_form == "none"
    assert not code["pii"].ner and code["pii"].enabled  # e-mails and the other patterns still scrubbed
    assert code["dedup_minhash"] is config.stages.dedup_minhash  # files compared with every other document
    assert code["heuristics"].rules_for(None).steps() == ("code",)
    assert all(config.source_sections(name)["web"] is getattr(config.stages, name) for name in stages)
    assert config.sources[1].licenses == list(PERMISSIVE) and config.sources[0].licenses == []


def test_the_code_recipe_beside_a_web_source(spark, repos, tmp_path):
    from pipeline.runner import run_pipeline
    from tests.reference_job import read_rows

    pages = [json.loads(line) for line in gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt")]
    (tmp_path / "web").mkdir()
    with open(tmp_path / "web" / "pages.jsonl", "w", encoding="utf-8") as out:
        for page in pages[:120:10]:
            out.write(json.dumps({"text": page["text"]}, ensure_ascii=False) + "\n")
    raw = {
        "run": {"output_dir": str(tmp_path / "run"), "partitions": 2},
        "sources": [
            {"name": "web", "format": "jsonl", "paths": [str(tmp_path / "web")]},
            {"name": "code", "format": "code", "paths": [str(repos)], "recipe": "code"},
        ],
        "stages": {"normalize": {"min_chars": 100}, "langid": {}, "heuristics": {}, "dedup_minhash": {}},
    }
    config = parse_config(raw)
    assert config.source_sections("heuristics")["web"] is config.stages.heuristics  # the web source unchanged
    assert config.source_sections("langid")["code"] is None
    outcomes = {o.name: o.stats for o in run_pipeline(spark, config, stop_after="dedup_minhash")}
    skipped = outcomes["ingest"]["extra"]["skipped"]
    assert skipped["skipped:code:license:GPL-2.0 AND LGPL-2.1"] == 2 and skipped["skipped:code:generated"] == 1
    assert skipped["skipped:code:no_language"] == 5 and outcomes["ingest"]["reasons"] == {}
    heuristics = outcomes["heuristics"]["extra"]["per_source"]
    assert heuristics["web"]["changes"] == {} and heuristics["code"]["changes"]["recipe"] == "code"
    final = read_rows(tmp_path / "run" / "work" / "stages" / "07_dedup_minhash" / "data")
    code = {json.loads(row["meta"])["path"]: row for row in final if row["source"] == "code"}
    assert set(code) == {"attr/_compat.py", "attr/filters.py", "attr/setters.py", "importlinter/api.py"}
    compat = code["attr/_compat.py"]["text"]
    assert "SPDX-License-Identifier" not in compat and "\n    " in compat  # header gone, indentation kept
    assert code["attr/_compat.py"]["lang"] is None
    web = [row for row in final if row["source"] == "web"]
    assert web and all(row["lang"] for row in web)
