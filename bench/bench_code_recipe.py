"""The `code` recipe on the installed packages: every distribution in the virtualenv's site-packages made a
repository (its files, its dist-info licence files at the top), read with the code reader, prepared as the
recipe says (licences, boilerplate) and judged by the code family of the heuristics; counts per reason and
the time of each step against a bare read of the same files, interleaved per repository.

.venv/bin/python bench/bench_code_recipe.py [--max-mb 40]   (results: bench/results/recipes.md)
.venv/bin/python bench/bench_code_recipe.py --write-repos /tmp/code_repos   (the input of bench/code_recipe.yaml)

The repositories are copied into a temporary folder (the installed files are not changed). Times are CPU
seconds (time.process_time), so other jobs on the machine inflate them less.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters.heuristics import LanguageRules, decide, score  # noqa: E402
from filters.text_units import make_segmenter  # noqa: E402
from pipeline.config import IngestConfig, parse_config  # noqa: E402
from pipeline.readers.code import LICENSE_FILE, read_code  # noqa: E402
from pipeline.readers.prepare import prepare  # noqa: E402


def build_repositories(target: Path, max_mb: float) -> list[Path]:
    """One folder per installed distribution under ``max_mb`` MB: its files, its licence files at the top."""
    repos = []
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        files = [(Path(str(f)).parts, f.locate()) for f in dist.files or [] if f.locate().is_file()]
        if not files or sum(path.stat().st_size for _, path in files) > max_mb * 1e6:
            continue
        repo = target / dist.metadata["Name"].lower()
        for parts, path in files:
            if parts[0].endswith(".dist-info"):
                if LICENSE_FILE.match(parts[-1]):
                    repo.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, repo / parts[-1])
            elif parts[0] != ".." and not parts[0].endswith(".data"):  # scripts and data outside the package
                destination = repo.joinpath(*parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, destination)
        if repo.exists():
            repos.append(repo)
    return repos


def bare_read(repo: Path) -> int:
    """Every file of the repository opened and decoded: the floor any reader pays."""
    total = 0
    for parent, folders, names in os.walk(repo):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            with open(os.path.join(parent, name), "rb") as stream:
                total += len(stream.read().decode("utf-8", "replace"))
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-mb", type=float, default=40, help="leave out distributions larger than this")
    parser.add_argument("--write-repos", metavar="DIR", help="only build the repositories into DIR (for a job run)")
    args = parser.parse_args()
    if args.write_repos:
        print(len(build_repositories(Path(args.write_repos), args.max_mb)), "repositories in", args.write_repos)
        return
    raw = {"run": {"output_dir": "/tmp/unused"}, "sources": [{"name": "code", "format": "code", "paths": ["x"]}]}
    raw["sources"][0]["recipe"] = "code"
    source, ingest = parse_config(raw).sources[0], IngestConfig()
    rules, segmenter = LanguageRules(recipe="code"), make_segmenter("whitespace", "")
    outcome, licences, languages, unknown = Counter(), Counter(), Counter(), Counter()
    seconds = Counter()
    with tempfile.TemporaryDirectory() as folder:
        repos = build_repositories(Path(folder), args.max_mb)
        for repo in repos:
            started = time.process_time()
            bare_read(repo)
            seconds["bare read"] += time.process_time() - started
            started = time.process_time()
            records = [r for record in read_code(source, str(repo), ingest) for r in prepare(record, source, "k")]
            seconds["read + prepare"] += time.process_time() - started
            started = time.process_time()
            for record in records:
                if record.reason is None and not record.text.strip():
                    outcome["normalize:empty"] += 1  # a run's normalize stage rejects it before the code rules
                elif record.reason is None:
                    failed = decide(score(record.text, rules, segmenter).signals, rules)
                    outcome[failed[0] if failed else "kept"] += 1
                    if not failed:
                        languages[record.meta["language"]] += 1
                        licences[record.meta["license"]] += 1
                else:
                    outcome[record.reason] += 1
                    unknown[repo.name] += record.reason == "skipped:code:license:unknown"
            seconds["code rules"] += time.process_time() - started
    print(f"repositories: {len(repos)}; files: {sum(outcome.values())}")
    print("files of an unknown licence, by repository:", dict((+unknown).most_common(15)))
    for reason, count in outcome.most_common():
        print(f"| `{reason}` | {count} |")
    print("kept by language:", dict(languages.most_common(12)))
    print("kept by licence:", dict(licences.most_common(8)))
    print({step: round(value, 1) for step, value in seconds.items()})


if __name__ == "__main__":
    main()
