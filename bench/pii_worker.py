"""One PII scrubber in its own process, for comparing two versions of the code on the same documents.

    python bench/pii_worker.py --code DIR --documents FILE.jsonl

Imports ``filters.pii`` from ``DIR`` (this checkout, or an older one made with ``git archive``), reads the
documents (``{"text", "lang"}`` per line) and answers one request per stdin line, ``{"start": i, "end": j}``,
with one stdout line: this process's CPU seconds for scrubbing documents i..j (published default rules,
pipeline routing by ``lang``, anonymisation included), the placeholders written and the spans per entity.
``bench_pii.py --speed`` runs two of these and hands them the same chunks in turn.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one OpenBLAS thread, as in Spark's Python workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", required=True, help="checkout whose filters/pii is measured")
    parser.add_argument("--documents", required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.code)
    from filters.pii import PiiScrubber, build_analyzer

    docs = [json.loads(line) for line in open(args.documents, encoding="utf-8")]
    scrubber = PiiScrubber(build_analyzer())
    scrubber.scrub([d["text"] for d in docs[:20]], [d["lang"] for d in docs[:20]])  # warm up: jieba, spaCy
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        part = docs[request["start"] : request["end"]]
        started = time.process_time()
        results = scrubber.scrub([d["text"] for d in part], [d["lang"] for d in part])
        cpu = time.process_time() - started
        counts = Counter()
        for r in results:
            counts.update(r.counts)
        placeholders = sum(r.text.count("<") - d["text"].count("<") for r, d in zip(results, part))
        print(json.dumps({"cpu": cpu, "placeholders": placeholders, "counts": counts}), flush=True)


if __name__ == "__main__":
    main()
