"""Throughput of the per-source preparation (filters/mail.py, filters/split.py, filters/text_decode.py)
against the bare library call each one builds on, interleaved in one process on real data.

.venv/bin/python bench/bench_recipes.py   (results: bench/results/recipes.md)
.venv/bin/python bench/bench_recipes.py --write-mail FILE   (the mail input of bench/recipes_new_user.yaml)

mail: ``clean_mail`` vs the standard library's parse and ``get_body``/``get_content`` alone (what it adds:
quote, signature and footer removal); split: ``split_document`` vs ``str.split`` on blank lines (the
paragraph cut alone); decode: ``decode_text`` vs ``bytes.decode("utf-8", "replace")``. CPU seconds
(time.process_time), best of the rounds, so other jobs on the machine inflate them less.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters.mail import clean_mail  # noqa: E402
from filters.split import split_document  # noqa: E402
from filters.text_decode import decode_text  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ROUNDS = 3


def bare_mail(raw: str) -> str:
    message = email.message_from_string(raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain", "html"))
    try:
        return part.get_content() if part is not None else ""
    except (LookupError, ValueError, AssertionError):
        return ""


def best(function, items) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for item in items:
            function(item)
        times.append(time.process_time() - started)
    return min(times)


def write_mail(path: str) -> None:
    """Every 10th SpamAssassin message, with its headers: the mail source of the new user's scenario."""
    with gzip.open(SHARED / "web" / "spamassassin_emails.jsonl.gz", "rt") as rows, gzip.open(path, "wt") as out:
        for number, line in enumerate(rows):
            if number % 10 == 0:
                row = json.loads(line)
                out.write(json.dumps({"text": row["text"], "label": row["label"]}) + "\n")


def main() -> None:
    if sys.argv[1:2] == ["--write-mail"]:
        write_mail(sys.argv[2])
        return
    mails = [json.loads(line)["text"] for line in gzip.open(SHARED / "web" / "spamassassin_emails.jsonl.gz", "rt")]
    mails = mails[::6]
    books = [gzip.open(p).read().decode("utf-8", "replace") for p in sorted((SHARED / "reference" / "en").glob("*.gz"))]
    raws = [gzip.open(p).read() for p in sorted((SHARED / "reference" / "en").glob("*.gz"))]
    cases = [
        ("mail", len(mails), sum(map(len, mails)), lambda m: clean_mail(m), bare_mail, mails),
        ("split", len(books), sum(map(len, books)), lambda b: split_document(b, 20_000),
         lambda b: re.split(r"\n[ \t]*\n", b), books),
        ("decode", len(raws), sum(map(len, raws)), decode_text, lambda r: r.decode("utf-8", "replace"), raws),
    ]  # fmt: skip
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| step | documents | MB | ours CPU s | bare library CPU s | ours / bare | ours MB/s |")
    print("|---|---|---|---|---|---|---|")
    for name, count, size, ours, bare, items in cases:
        ours_s, bare_s = best(ours, items), best(bare, items)  # interleaved: ours, then bare, per case
        print(
            f"| {name} | {count} | {size / 1e6:.1f} | {ours_s:.2f} | {bare_s:.3f} | {ours_s / max(bare_s, 1e-9):.1f}x "
            f"| {size / 1e6 / max(ours_s, 1e-9):.1f} |"
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
