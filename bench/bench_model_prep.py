"""Text preparation against the bare model call, per document, for the quality and perplexity stages.

    .venv/bin/python bench/bench_model_prep.py [--rounds 3] [--profile]

Documents: the 1,031 real web pages of ../shared/data/web/pages_wet_like.jsonl.gz. Models: the demo
models (``models/quality/en.bin``, ``models/kenlm/en.binary``; ``make models``). Rows, round-robin,
best of ``--rounds``, CPU seconds of this process: the bare fastText ``f.predict`` on the raw text
with newlines replaced (as bench_model_scoring.py), our ``quality_score`` (prepare + predict) and
``prepare_text`` alone; KenLM ``score`` over lines prepared beforehand, our ``document_perplexity``
(normalise + tokenise + score) and ``prepare_lines`` alone. ``--profile`` adds cProfile's top
functions of the two preparations.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import pstats
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from filters.perplexity import document_perplexity, load_kenlm_model, prepare_lines  # noqa: E402
from filters.quality_model import load_quality_model, prepare_text, quality_score  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "web" / "pages_wet_like.jsonl.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with gzip.open(PAGES, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    quality = load_quality_model(str(ROOT / "models" / "quality" / "en.bin"))
    kenlm = load_kenlm_model(str(ROOT / "models" / "kenlm" / "en.binary"))
    flat = [text.replace("\n", " ") + "\n" for text in texts]
    prepared = [prepare_lines(text) for text in texts]
    rows = {
        "fastText f.predict, bare": lambda: [quality.f.predict(t, -1, 0.0, "replace") for t in flat],
        "quality_score: prepare_text + predict": lambda: [quality_score(quality, t) for t in texts],
        "prepare_text alone": lambda: [prepare_text(t) for t in texts],
        "KenLM score over prepared lines, bare": lambda: [kenlm.score(line) for lines in prepared for line in lines],
        "document_perplexity: prepare_lines + score": lambda: [document_perplexity(kenlm, t) for t in texts],
        "prepare_lines alone": lambda: [prepare_lines(t) for t in texts],
    }
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, run in rows.items():
            started = time.process_time()
            run()
            best[name] = min(best.get(name, float("inf")), time.process_time() - started)
    print(f"{len(texts):,} documents; `uptime` before: `{uptime}`; best of {args.rounds} rounds, CPU seconds.\n")
    print("| row | CPU s | docs per CPU s | vs the bare call |")
    print("|---|---:|---:|---:|")
    for name, seconds in best.items():
        bare = best["fastText f.predict, bare"] if list(rows).index(name) < 3 else best[list(rows)[3]]
        print(f"| {name} | {seconds:.3f} | {len(texts) / seconds:,.0f} | {seconds / bare:.2f}x |")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: ([prepare_text(t) for t in texts], [prepare_lines(t) for t in texts]))
        pstats.Stats(profiler).sort_stats("tottime").print_stats(8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
