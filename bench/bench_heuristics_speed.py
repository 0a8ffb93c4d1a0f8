"""Heuristics scoring per CPU second: this tree against an earlier revision, interleaved, same documents.

    .venv/bin/python bench/bench_heuristics_speed.py [--baseline main] [--input DIR] [--rounds 2]

Documents: the heuristics stage's input on the harness corpus, that is the langid output that
``bench/harness.py --docs 20000 --stage heuristics`` leaves under .cache/bench/prep/ (every document
with its ``lang``, each scored with its language's rules as the stage does). The baseline's
``filters/`` and ``stages/`` are exported from git (``--baseline``) into a temporary folder; each
round scores every document once with each version, in a fresh process each (round-robin, so both
see the same machine load), and compares the signals: the versions must give identical signals.
Reports CPU seconds per language and in total, and documents per CPU second.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREP = ".cache/bench/prep/corpus-*/stages/02_langid/data"

WORKER = r"""
import collections, pickle, sys, time
import pyarrow.parquet as pq
from stages.heuristics import HeuristicsConfig, _segmenter
from filters.heuristics import score
table = pq.read_table(sys.argv[1], columns=["text", "lang"])
cfg = HeuristicsConfig()
cpu, docs, signals = collections.Counter(), collections.Counter(), []
for text, lang in zip(table.column("text").to_pylist(), table.column("lang").to_pylist()):
    lang = lang or cfg.default_language
    rules = cfg.rules_for(lang)
    segmenter = _segmenter(rules, lang)  # loaded outside the timing (jieba: about 2 s, once per worker)
    started = time.process_time()
    scores = score(text or "", rules, segmenter)
    cpu[lang] += time.process_time() - started
    docs[lang] += 1
    signals.append((scores.signals, scores.cleaned))
with open(sys.argv[2], "wb") as out:
    pickle.dump({"cpu": dict(cpu), "docs": dict(docs), "signals": signals}, out)
"""


def export(revision: str, folder: Path) -> None:
    """The revision's python packages the scoring imports, as files under ``folder``."""
    listing = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", revision, "filters", "stages", "core", "pipeline"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listing:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{revision}:{name}"], capture_output=True, check=True
            ).stdout
        )


def run(code_root: Path, data: str, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{code_root}{os.pathsep}{ROOT}"}
    subprocess.run([sys.executable, "-c", WORKER, data, str(out)], env=env, check=True, cwd=code_root)
    with open(out, "rb") as handle:
        return pickle.load(handle)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument("--input", default=None, help="Parquet folder with text and lang (default: the harness prep)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data = args.input or sorted(glob.glob(str(ROOT / PREP)))[0]
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        baseline_root = Path(scratch) / "baseline"
        export(args.baseline, baseline_root)
        for _ in range(args.rounds):
            for name, code_root in ((f"baseline ({args.baseline})", baseline_root), ("this tree", ROOT)):
                result = run(code_root, data, Path(scratch) / "result.pkl")
                total = sum(result["cpu"].values())
                if name not in best or total < sum(best[name]["cpu"].values()):
                    best[name] = result
    (old_name, old), (new_name, new) = best.items()
    same = sum(a == b for a, b in zip(old["signals"], new["signals"]))
    print(f"Input: `{os.path.relpath(data, ROOT)}`; `uptime` before: `{uptime}`; best of {args.rounds} rounds.\n")
    print(f"Identical signals and cleaned text: {same:,} of {len(new['signals']):,} documents.\n")
    print(f"| language | documents | {old_name} CPU s | this tree CPU s | speed-up | this tree docs per CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for lang in sorted(new["docs"], key=lambda lang: -new["cpu"][lang]):
        docs, before, after = new["docs"][lang], old["cpu"][lang], new["cpu"][lang]
        print(f"| {lang} | {docs:,} | {before:.2f} | {after:.2f} | {before / after:.2f}x | {docs / after:,.0f} |")
    docs, before, after = sum(new["docs"].values()), sum(old["cpu"].values()), sum(new["cpu"].values())
    print(f"| all | {docs:,} | {before:.2f} | {after:.2f} | {before / after:.2f}x | {docs / after:,.0f} |")
    print(f"\n`uptime` after: `{subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}`")
    print(json.dumps({"baseline_docs_per_cpu_s": docs / before, "docs_per_cpu_s": docs / after}))
    return 0 if same == len(new["signals"]) else 1


if __name__ == "__main__":
    sys.exit(main())
