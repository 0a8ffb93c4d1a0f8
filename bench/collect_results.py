"""Collect bench/results/*.md into bench/RESULTS.md (each file one section, headings shifted under it).

.venv/bin/python bench/collect_results.py
"""

from __future__ import annotations

import re
from pathlib import Path

BENCH = Path(__file__).resolve().parent
HEADER = """# Benchmark results

Every number below was measured on this project's machine (2 cores, 24 GiB) with the command
written beside it, in the same run as the bare library call and the peers it is compared with.
Peers (datatrove) are installed in `.venv-bench` (`make bench-env`), never as project
dependencies. All runs so far were made while other jobs loaded the machine (load average 1-20
on 2 cores), so wall times are upper bounds; tables also give CPU seconds where the load made
wall times unreliable. Each section is a file of `bench/results/`, collected here by
`bench/collect_results.py`.
"""
HEADING = re.compile(r"^(#+) ", re.MULTILINE)


def as_section(markdown: str) -> str:
    """``markdown`` with its top heading at level 2 and the others shifted alike (code blocks untouched)."""
    parts = re.split(r"(^```.*?^```)", markdown, flags=re.MULTILINE | re.DOTALL)
    levels = [len(m.group(1)) for part in parts[::2] for m in HEADING.finditer(part)]
    shift = 2 - min(levels, default=2)
    for i in range(0, len(parts), 2):
        parts[i] = HEADING.sub(lambda m: "#" * max(2, len(m.group(1)) + shift) + " ", parts[i])
    return "".join(parts).strip() + "\n"


def main() -> None:
    sections = [as_section(path.read_text(encoding="utf-8")) for path in sorted((BENCH / "results").glob("*.md"))]
    (BENCH / "RESULTS.md").write_text("\n".join([HEADER, *sections]), encoding="utf-8")


if __name__ == "__main__":
    main()
