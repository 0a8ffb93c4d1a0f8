"""HTML to text and WARC parsing on real crawl pages: today's html.parser reduction vs resiliparse vs trafilatura,
and warcio vs fastwarc, interleaved in one process (one thread), on ../shared/data/warc.

.venv/bin/python bench/bench_html_extract.py [--rounds 5] [--samples-out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import html.parser
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import tree_cpu_seconds  # noqa: E402
from filters.html_text import decode_page, html_to_text  # noqa: E402

WARC_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "warc"
WARC_FILES = ["sample-0000.warc.gz", "sample-0001.warc.gz", "whirlwind.warc.gz"]


class _VisibleText(html.parser.HTMLParser):
    """The reduction the readers used before issue 16 (all visible text, one block per line), kept here as the baseline."""

    _SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "object"}
    _IN_HEAD = {"title", "meta", "link", "style", "script", "base", "noscript", "template"}
    _BLOCK = set(
        "p div br hr li tr h1 h2 h3 h4 h5 h6 section article header footer nav main aside ul ol dl dt dd table caption "
        "thead tbody tfoot blockquote pre figure figcaption form fieldset legend details summary address option body".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping, self.in_head = 0, False

    def handle_starttag(self, tag, attrs):
        if tag == "head":
            self.in_head = True
        elif self.in_head and tag not in self._IN_HEAD:
            self.in_head = False
        self.skipping += tag in self._SKIP
        self._separate(tag)

    def handle_startendtag(self, tag, attrs):
        self._separate(tag)

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False
        elif tag in self._SKIP and self.skipping:
            self.skipping -= 1
        self._separate(tag)

    def _separate(self, tag: str) -> None:
        self.parts.append("\n" if tag in self._BLOCK else " " if tag in ("td", "th") else "")

    def handle_data(self, data):
        if not self.skipping and not self.in_head:
            self.parts.append(data)


def html_parser_text(markup: str) -> str:
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _budgeted(extractor: str):
    """The extractor as the readers call it: in the child process with a time budget (core/budget.py)."""
    from core.budget import budgeted

    work = budgeted(html_to_text, 30.0, warmup=("<p>warm-up</p>", extractor))
    work("<p>started before timing</p>", extractor)
    return lambda markup: work(markup, extractor)


EXTRACTORS = {
    "html.parser (before)": html_parser_text,
    "resiliparse": lambda markup: html_to_text(markup, "resiliparse"),
    "resiliparse in the budget child": _budgeted("resiliparse"),
    "trafilatura": lambda markup: html_to_text(markup, "trafilatura"),
}


def load_pages() -> list[tuple[str, str]]:
    """(url, decoded markup) of every HTML response in the real WARC files."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    pages = []
    for name in WARC_FILES:
        for record in ArchiveIterator(
            str(WARC_DIR / name), record_types=WarcRecordType.response, parse_http=True, auto_decode="all"
        ):
            content_type = record.http_headers.get("Content-Type", "") if record.http_headers else ""
            if "html" in content_type.lower():
                pages.append(
                    (record.headers.get("WARC-Target-URI"), decode_page(record.reader.read(), content_type, True))
                )
    return pages


def cpu() -> float:
    """CPU seconds of this process and its live children (the budget child's work counts too)."""
    return tree_cpu_seconds()


def time_extractors(pages: list[tuple[str, str]], rounds: int) -> dict[str, dict]:
    """Wall and CPU seconds per extractor, rounds interleaved so load changes hit every extractor alike."""
    totals = {name: [0.0, 0.0] for name in EXTRACTORS}
    outputs: dict[str, list[str]] = {}
    for _ in range(rounds):
        for name, extract in EXTRACTORS.items():
            wall, started = time.perf_counter(), cpu()
            outputs[name] = [extract(markup) for _, markup in pages]
            totals[name][0] += time.perf_counter() - wall
            totals[name][1] += cpu() - started
    docs = len(pages) * rounds
    result = {}
    for name, (wall, cpu_s) in totals.items():
        texts = outputs[name]
        lines = [line for text in texts for line in text.split("\n") if line]
        result[name] = {
            "docs_per_s": docs / wall,
            "docs_per_cpu_s": docs / cpu_s,
            "chars": sum(len(t) for t in texts),
            "median_chars": statistics.median(len(t) for t in texts),
            "empty": sum(not t.strip() for t in texts),
            "short_lines": sum(len(line.split()) <= 3 for line in lines) / max(len(lines), 1),
            "texts": texts,
        }
    return result


def time_pathological(sizes: dict[str, list[int]]) -> list[tuple[str, int, float]]:
    """Seconds to extract ``'<a ' * n`` (CPython issue 135462 makes html.parser quadratic on it)."""
    rows = []
    for name, byte_sizes in sizes.items():
        for size in byte_sizes:
            markup = "<a " * (size // 3)
            wall = time.perf_counter()
            EXTRACTORS[name](markup)
            rows.append((name, size, time.perf_counter() - wall))
    return rows


def time_warc_parsers(rounds: int) -> dict[str, tuple[float, float, int]]:
    """(wall s, CPU s, records) reading every record and payload of the WARC files with each parser."""
    from fastwarc.warc import ArchiveIterator as FastIterator
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    def warcio_all(data: bytes) -> int:
        count = 0
        for record in WarcioIterator(io.BytesIO(data)):
            record.content_stream().read()
            count += 1
        return count

    def fastwarc_native(data: bytes) -> int:
        count = 0
        for record in FastIterator(io.BytesIO(data), parse_http=True):
            record.reader.read()
            count += 1
        return count

    def fastwarc_python_gzip(data: bytes) -> int:  # how the reader feeds it: Python's gzip notices truncation
        count = 0
        for record in FastIterator(gzip.GzipFile(fileobj=io.BytesIO(data)), parse_http=True):
            record.reader.read()
            count += 1
        return count

    parsers = {"warcio": warcio_all, "fastwarc": fastwarc_native, "fastwarc over Python gzip": fastwarc_python_gzip}
    files = [(WARC_DIR / name).read_bytes() for name in WARC_FILES]
    totals = {name: [0.0, 0.0, 0] for name in parsers}
    for _ in range(rounds):
        for name, parse in parsers.items():
            wall, started = time.perf_counter(), cpu()
            totals[name][2] += sum(parse(data) for data in files)
            totals[name][0] += time.perf_counter() - wall
            totals[name][1] += cpu() - started
    return {name: tuple(values) for name, values in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples-out", type=Path, default=None, help="write every page's text per extractor here")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    pages = load_pages()
    print(f"{len(pages)} HTML pages, {sum(len(m) for _, m in pages) / 1e6:.2f} M characters of markup")
    extracted = time_extractors(pages, args.rounds)
    print(
        "| extractor | docs/s (wall) | docs per CPU s | chars kept | median chars/page | empty pages | lines of <= 3 words |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in extracted.items():
        print(
            f"| {name} | {r['docs_per_s']:.0f} | {r['docs_per_cpu_s']:.0f} | {r['chars']:,} | {r['median_chars']:,.0f} "
            f"| {r['empty']} | {100 * r['short_lines']:.0f}% |"
        )
    print("\n| extractor | '<a ' * n, bytes | seconds |\n|---|---:|---:|")
    patho = {
        "html.parser (before)": [7_500, 15_000, 30_000],
        "resiliparse": [60_000, 10_000_000],
        "trafilatura": [60_000, 10_000_000],
    }
    for name, size, seconds in time_pathological(patho):
        print(f"| {name} | {size:,} | {seconds:.3f} |")
    print("\n| WARC parser | records | wall s | CPU s | records per CPU s |\n|---|---:|---:|---:|---:|")
    for name, (wall, cpu_s, count) in time_warc_parsers(args.rounds * 4).items():
        print(f"| {name} | {count:,} | {wall:.3f} | {cpu_s:.3f} | {count / cpu_s:,.0f} |")
    if args.samples_out:
        with open(args.samples_out, "w", encoding="utf-8") as out:
            for index, (url, _) in enumerate(pages):
                for name, r in extracted.items():
                    out.write(f"===== {url} | {name} =====\n{r['texts'][index]}\n\n")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
