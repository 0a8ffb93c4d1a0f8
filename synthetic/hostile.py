"""The hostile corpus: every kind of bad input the readers must survive, with the outcome expected of each record.

Each part below writes one kind of file (or a few records of one kind) and notes what reading it
should give. ``_PARTS`` runs them in a fixed order: they share one seeded RNG, so the order fixes the bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import zstandard

from synthetic.vocabulary import BUILTIN_WORDS

_Line = tuple[str, bytes, str]  # kind, raw record, expected outcome ("document" or the quarantine reason)

# Well-formed texts in demanding scripts and encodings: each must come through as a document.
_GOOD_TEXTS = {
    "rtl_arabic": "هذا نص عربي طويل بما يكفي لاختبار الكتابة من اليمين إلى اليسار في خط المعالجة، مع أرقام ١٢٣ وعلامات ترقيم.",
    "rtl_hebrew": "זהו טקסט בעברית שנכתב מימין לשמאל, ובתוכו מילה באנגלית (pipeline) ומספר 42 כדי לבדוק כיווניות מעורבת.",
    "bidi_controls": "Mixed direction \u202bعربي\u202c and \u2067עברית\u2069 with explicit bidi controls in an English line.",
    "combining": "Cafe\u0301 re\u0301sume\u0301 nai\u0308ve Zoe\u0308: decomposed accents that NFC composes; "
    "Z\u0351\u0352a\u0353l\u0354g\u0355o\u0356 text stacks combining marks on one base letter.",
    "emoji": "Family 👨\u200d👩\u200d👧\u200d👦, flags 🇨🇳🇩🇪🇫🇷, skin tones 👍🏽👍🏿, keycap 1\ufe0f\u20e3 and 😀 in one sentence.",
    "chinese": "这是一段用于测试的中文文本，包含全角标点符号、数字１２３和英文单词 Spark，应该被完整保留。",
}

_COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gz": lambda data: gzip.compress(data, compresslevel=6, mtime=0),
    "zst": lambda data: zstandard.ZstdCompressor(level=3).compress(data),
}


@dataclass
class _Hostile:
    """The corpus being written: its folder, sizes, shared RNG and sentences, and the expectations so far."""

    out: Path
    rng: random.Random
    sentences: list[str]
    big_doc_bytes: int
    max_doc_bytes: int
    long_line_chars: int
    extract_max_bytes: int
    records: list[dict[str, Any]] = field(default_factory=list)
    parser_breakers: list[str] = field(default_factory=list)

    def folder(self, name: str) -> Path:
        path = self.out / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def good(self, i: int) -> str:
        """Three ordinary sentences: the text of the well-formed records around and inside bad ones."""
        return " ".join(self.sentences[i : i + 3])

    def expect(self, file: Path, line: int, kind: str, outcome: str) -> None:
        self.records.append({"file": str(file.relative_to(self.out)), "line": line, "kind": kind, "expect": outcome})

    def write_lines(self, path: Path, lines: list[_Line]) -> None:
        with open(path, "wb") as handle:
            for number, (kind, raw, outcome) in enumerate(lines, start=1):
                handle.write(raw + b"\n")
                self.expect(path, number, kind, outcome)


def _obj(kind: str, **fields: Any) -> bytes:
    """A well-formed JSON record tagged with its kind (read back as the ``kind`` meta field)."""
    return json.dumps({"kind": kind, **fields}, ensure_ascii=False).encode("utf-8")


def _hostile_sentences(rng: random.Random, count: int) -> list[str]:
    """Numbered English sentences from the built-in words: the same on every machine."""
    words = BUILTIN_WORDS["en"].split()
    return [" ".join(rng.choices(words, k=rng.randint(8, 40))).capitalize() + f" (#{i})." for i in range(count)]


def _salvageable_lines(truncated: bytes, fmt: str) -> int:
    """Complete lines a streaming decompressor recovers from a truncated archive."""
    if fmt == "gz":
        data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(truncated)
    else:
        data = zstandard.ZstdDecompressor().decompressobj().decompress(truncated)
    return data.count(b"\n")


def _nested(depth: int) -> dict[str, Any]:
    nested: dict[str, Any] = {"text": "unused"}
    for _ in range(depth):
        nested = {"child": nested}
    return nested


def _odd_documents(h: _Hostile) -> list[_Line]:
    """Records that look odd but are documents: scripts, bidi, emoji, unusual valid JSON, size edges, empty texts."""
    at_limit_prefix = b'{"kind": "at_size_limit", "text": "'
    at_limit = at_limit_prefix + b"x" * (h.max_doc_bytes - len(at_limit_prefix) - 2) + b'"}'
    long_text = ("Sphinx of black quartz, judge my vow. 黑曜石 " * h.long_line_chars)[: h.long_line_chars - 1] + "."
    return [
        ("plain", _obj("plain", text=h.good(0), url="https://example.org/a"), "document"),
        *[(kind, _obj(kind, text=text), "document") for kind, text in _GOOD_TEXTS.items()],
        (
            "escaped_surrogate_pair",
            b'{"kind": "escaped_surrogate_pair", "text": "A valid escaped pair \\ud83d\\ude00 '
            b'is one emoji, so this record is fine."}',
            "document",
        ),
        ("crlf_line_end", _obj("crlf_line_end", text=h.good(3)) + b"\r", "document"),
        ("moderately_nested", _obj("moderately_nested", text=h.good(6), extra=_nested(200)), "document"),
        ("url_wrong_type", _obj("url_wrong_type", text=h.good(9), url=12345), "document"),
        ("long_line", _obj("long_line", text=long_text), "document"),
        ("at_size_limit", at_limit, "document"),
        ("empty_text", _obj("empty_text", text=""), "document"),
        ("empty_whitespace_text", _obj("empty_whitespace_text", text=" \n\t\u3000 "), "document"),
        ("empty_control_text", _obj("empty_control_text", text="\u0001\u0002\u007f"), "document"),
    ]


def _bad_records(h: _Hostile) -> list[_Line]:
    """Records to quarantine: bad bytes, NULs, broken JSON, a text that is not a string, a non-object."""
    return [
        (
            "invalid_utf8",
            b'{"kind": "invalid_utf8", "text": "broken \xff\xfe bytes \xc3\x28 here"}',
            "ingest:invalid_utf8",
        ),
        ("overlong_utf8", b'{"kind": "overlong_utf8", "text": "overlong slash \xc0\xaf"}', "ingest:invalid_utf8"),
        ("nul_escaped", _obj("nul_escaped", text="before\u0000after " + h.good(12)), "ingest:nul_bytes"),
        ("nul_raw", b'{"kind": "nul_raw", "text": "raw \x00 byte inside a JSON string"}', "ingest:invalid_json"),
        ("invalid_json", b'{"kind": "invalid_json", "text": "no closing brace"', "ingest:invalid_json"),
        ("json_trailing_garbage", _obj("json_trailing_garbage", text=h.good(15)) + b" }}", "ingest:invalid_json"),
        ("text_number", _obj("text_number", text=42), "ingest:text_not_string"),
        ("text_list", _obj("text_list", text=["a", "list"]), "ingest:text_not_string"),
        ("text_object", _obj("text_object", text={"nested": "text"}), "ingest:text_not_string"),
        ("text_bool", _obj("text_bool", text=True), "ingest:text_not_string"),
        ("text_null", _obj("text_null", text=None), "ingest:missing_text"),
        ("text_missing", _obj("text_missing", body=h.good(18)), "ingest:missing_text"),
        ("top_level_array", b'[{"text": "inside an array"}]', "ingest:not_an_object"),
        ("top_level_string", b'"just a string"', "ingest:not_an_object"),
        ("top_level_number", b"3.14", "ingest:not_an_object"),
    ]


def _mixed_file(h: _Hostile) -> None:
    """Odd documents and bad records in one file: each bad line is quarantined alone, the rest read."""
    lines = [*_odd_documents(h), *_bad_records(h), ("plain", _obj("plain", text=h.good(21)), "document")]
    h.write_lines(h.folder("jsonl") / "mixed.jsonl", lines)


def _big_file(h: _Hostile) -> None:
    """One record over ``max_doc_bytes`` between two plain ones, written in chunks (no 50 MB string in memory)."""
    big = h.folder("jsonl") / "big.jsonl"
    chunk = ("A very large document. 很大的文档。" * 4096).encode("utf-8")
    with open(big, "wb") as handle:
        handle.write(_obj("plain", text=h.good(24)) + b"\n")
        handle.write(b'{"kind": "big_document", "text": "')
        written = 0
        while written < h.big_doc_bytes:
            handle.write(chunk)
            written += len(chunk)
        handle.write(b'"}\n' + _obj("plain", text=h.good(27)) + b"\n")
    h.expect(big, 1, "plain", "document")
    h.expect(big, 2, "big_document", "ingest:too_large")
    h.expect(big, 3, "plain", "document")


def _parser_breaker_files(h: _Hostile) -> None:
    """Records that break a JSON reader in other ways than JSONDecodeError; one kind per file."""
    breakers = {
        "deep_nesting.jsonl": [
            (
                "deep_nesting",
                b'{"kind": "deep_nesting", "text": "ok", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                "ingest:invalid_json",
            )
        ],
        "huge_integer.jsonl": [
            (
                "huge_integer",
                b'{"kind": "huge_integer", "text": "ok", "n": ' + b"7" * 5000 + b"}",
                "ingest:invalid_json",
            )
        ],
        "lone_surrogate.jsonl": [  # valid JSON whose escapes decode to a string that has no UTF-8 form
            ("lone_surrogate", b'{"kind": "lone_surrogate", "text": "lone \\ud800 surrogate"}', "ingest:invalid_utf8"),
            (
                "url_lone_surrogate",
                b'{"kind": "url_lone_surrogate", "text": "'
                + h.good(33).encode()
                + b'", "url": "https://example.org/\\udc80"}',
                "ingest:invalid_utf8",
            ),
            (
                "meta_lone_surrogate",
                b'{"kind": "meta \\udfff", "text": "' + h.good(36).encode() + b'"}',
                "ingest:invalid_utf8",
            ),
        ],
    }
    for name, bad_lines in breakers.items():
        h.write_lines(h.folder("jsonl") / name, [("plain", _obj("plain", text=h.good(30)), "document"), *bad_lines])
        h.parser_breakers.append(f"jsonl/{name}")


def _junk_file(h: _Hostile) -> None:
    """Lines of random bytes (never a newline; a leading 0xff makes each invalid UTF-8), then printable junk."""
    junk = [
        ("binary_junk", b"\xff" + bytes(b for b in h.rng.randbytes(300) if b != 0x0A), "ingest:invalid_utf8")
        for _ in range(5)
    ]
    junk.append(
        (
            "ascii_junk",
            bytes(h.rng.choice(b"!#%&()*+-/:;<=>?@^_|~abcXYZ0123") for _ in range(500)),
            "ingest:invalid_json",
        )
    )
    h.write_lines(h.folder("jsonl") / "junk.jsonl", junk)


def _truncated_archives(h: _Hostile) -> None:
    """Archives cut short: the complete lines before the cut are documents, then one quarantine entry."""
    payload = b"".join(_obj("plain", text=h.good(i % 390) + f" [{i}]") + b"\n" for i in range(1500))
    for fmt, compress in _COMPRESSORS.items():
        data = compress(payload)
        path = h.folder("jsonl") / f"truncated.jsonl.{fmt}"
        cut = data[: len(data) * 3 // 5]
        path.write_bytes(cut)
        for line in range(1, _salvageable_lines(cut, fmt) + 1):
            h.expect(path, line, "plain", "document")
        h.expect(path, -1, f"truncated_{fmt}", "ingest:truncated_archive")


def _corrupt_archives(h: _Hostile) -> None:
    """Files named as archives that are garbage from the first byte."""
    for fmt in _COMPRESSORS:
        path = h.folder("jsonl") / f"not_an_archive.jsonl.{fmt}"
        path.write_bytes(b"\x00\x01garbage" + h.rng.randbytes(2000))
        h.expect(path, -1, f"corrupt_{fmt}", "ingest:truncated_archive")


def _empty_files(h: _Hostile) -> None:
    """Zero-byte files are reported as such; a gzip of blank lines merely holds no records."""
    jsonl = h.folder("jsonl")
    for name in ("zero_bytes.jsonl", "zero_bytes.jsonl.gz"):
        (jsonl / name).write_bytes(b"")
        h.expect(jsonl / name, 0, "zero_byte_file", "ingest:empty_file")
    (jsonl / "no_records.jsonl.gz").write_bytes(gzip.compress(b"\n\n", mtime=0))


def _gzip_bomb(h: _Hostile) -> None:
    """A small .gz holding one line far over max_doc_bytes (read in bounded memory), then a good line."""
    path = h.folder("jsonl") / "bomb.jsonl.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'{"kind": "gzip_bomb", "text": "')]
    block = b"0" * (1 << 20)
    parts += [compressor.compress(block) for _ in range(max(4, 4 * h.big_doc_bytes // len(block)))]
    parts += [compressor.compress(b'"}\n' + _obj("plain", text=h.good(54)) + b"\n"), compressor.flush()]
    path.write_bytes(b"".join(parts))
    h.expect(path, 1, "gzip_bomb", "ingest:too_large")
    h.expect(path, 2, "plain", "document")


def _symlinks(h: _Hostile) -> None:
    """In an input folder: a link to a file elsewhere (read), a broken link (quarantined), a link to a
    folder above (not followed, so no loop)."""
    jsonl, outside = h.folder("jsonl"), h.folder("outside")
    (outside / "linked.jsonl").write_bytes(_obj("plain", text=h.good(57)) + b"\n")
    (jsonl / "linked.jsonl").symlink_to(outside / "linked.jsonl")
    h.expect(jsonl / "linked.jsonl", 1, "plain", "document")
    (jsonl / "dangling.jsonl").symlink_to(outside / "missing.jsonl")
    h.expect(jsonl / "dangling.jsonl", -1, "broken_symlink", "ingest:unreadable_file")
    (jsonl / "loop").symlink_to(h.out, target_is_directory=True)


def _text_files(h: _Hostile) -> None:
    """Text files, one document per file (line 0), fail in the same ways as JSON records."""
    text_dir = h.folder("text")
    text_files = {
        "rtl.txt": (
            "rtl_text_file",
            (_GOOD_TEXTS["rtl_arabic"] + "\n" + _GOOD_TEXTS["rtl_hebrew"]).encode(),
            "document",
        ),
        "emoji.txt": ("emoji_text_file", _GOOD_TEXTS["emoji"].encode(), "document"),
        # not UTF-8: decoded in the detected charset (ingest.text_decoding: detect), kept as a document
        "latin1.txt": ("latin1_text_file", b"latin-1 text: caf\xe9 cr\xe8me", "document"),
        "nul.txt": ("nul_text_file", b"text with a \x00 NUL byte", "ingest:nul_bytes"),
        "too_large.txt": ("too_large_text_file", b"y" * (h.max_doc_bytes + 1), "ingest:too_large"),
        "zero_bytes.txt": ("zero_byte_file", b"", "ingest:empty_file"),
    }
    for name, (kind, raw, outcome) in text_files.items():
        (text_dir / name).write_bytes(raw)
        h.expect(text_dir / name, 0, kind, outcome)


def _parquet_files(h: _Hostile) -> None:
    """Typed columns (a timestamp among the metadata), null and NUL texts, and a file that is not Parquet."""
    import pyarrow as pa  # here, not at the top: only this part needs pyarrow
    import pyarrow.parquet as pq

    parquet_dir = h.folder("parquet")
    rows = [
        ("parquet_plain", h.good(39), "document"),
        ("parquet_null_text", None, "ingest:missing_text"),
        ("parquet_nul_text", "before\x00after", "ingest:nul_bytes"),
        ("parquet_plain", h.good(42), "document"),
    ]
    table = pa.table(
        {
            "kind": [kind for kind, _, _ in rows],
            "text": [text for _, text, _ in rows],
            "when": [datetime(2024, 5, 1, 12, i) for i in range(len(rows))],
        }
    )
    pq.write_table(table, parquet_dir / "typed.parquet")
    for number, (kind, _, outcome) in enumerate(rows, start=1):
        h.expect(parquet_dir / "typed.parquet", number, kind, outcome)
    (parquet_dir / "not_parquet.parquet").write_bytes(b"PAR1" + h.rng.randbytes(500))
    h.expect(parquet_dir / "not_parquet.parquet", -1, "not_parquet", "ingest:unreadable_file")
    _odd_parquet(h, parquet_dir)


def _odd_parquet(h: _Hostile, parquet_dir: Path) -> None:
    """A string column holding invalid UTF-8, a text too large, and a text column of the wrong type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        ("parquet_plain", h.good(48).encode(), "document"),
        ("parquet_invalid_utf8", b"broken \xff\xfe bytes", "ingest:invalid_utf8"),
        ("parquet_huge_row", b"z" * (h.max_doc_bytes + 1), "ingest:too_large"),
        ("parquet_plain", h.good(51).encode(), "document"),
    ]
    texts = pa.array([raw for _, raw, _ in rows], pa.binary()).view(pa.string())  # no UTF-8 check on the way in
    pq.write_table(pa.table({"kind": [kind for kind, _, _ in rows], "text": texts}), parquet_dir / "odd_values.parquet")
    for number, (kind, _, outcome) in enumerate(rows, start=1):
        h.expect(parquet_dir / "odd_values.parquet", number, kind, outcome)
    pq.write_table(pa.table({"kind": ["parquet_int_text"] * 2, "text": [1, 2]}), parquet_dir / "int_text.parquet")
    for number in (1, 2):
        h.expect(parquet_dir / "int_text.parquet", number, "parquet_int_text", "ingest:text_not_string")


def _warc_file(h: _Hostile) -> None:
    """A whole page gzipped as one file, without WARC headers."""
    path = h.folder("warc") / "not_a_warc.warc.gz"
    path.write_bytes(gzip.compress(b"<html><p>" + h.good(45).encode() + b"</p></html>\n", mtime=0))
    h.expect(path, -1, "not_a_warc", "ingest:unreadable_file")


def _warc_record(
    h: _Hostile, kind: str, url: str | None, block: bytes, digest: bool = True, declared: int | None = None
) -> bytes:
    """One WARC/1.0 record, written by hand so that its Content-Length and digest can lie."""
    headers = [("WARC-Type", kind), ("WARC-Record-ID", f"<urn:uuid:{uuid.UUID(int=h.rng.getrandbits(128))}>")]
    headers += [("WARC-Date", "2024-05-01T12:00:00Z")] + ([("WARC-Target-URI", url)] if url else [])
    if kind in ("request", "response"):
        headers.append(("Content-Type", f"application/http; msgtype={kind}"))
    if digest:
        headers.append(("WARC-Block-Digest", "sha1:" + base64.b32encode(hashlib.sha1(block).digest()).decode()))
    headers.append(("Content-Length", str(len(block) if declared is None else declared)))
    head = "WARC/1.0\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def _http(content_type: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body


def _page(h: _Hostile, i: int) -> bytes:
    """An ordinary article page: a navigation bar, a heading and two paragraphs."""
    return (
        f"<html><head><title>Page {i}</title></head><body><nav><a href='/'>Home</a></nav><article>"
        f"<h1>Report {i}</h1><p>{h.good(i)}</p><p>{h.good(i + 3)}</p></article></body></html>"
    ).encode()


def _write_warc(h: _Hostile, path: Path, records: list[tuple[str, bytes, str]], gzipped: bool = True) -> int:
    """Write records (kind, bytes, expected outcome) one gzip member each; each is expected at its
    offset in the uncompressed WARC. Returns the uncompressed size."""
    offset = 0
    with open(path, "wb") as out:
        for kind, raw, outcome in records:
            out.write(gzip.compress(raw, mtime=0) if gzipped else raw)
            if outcome:
                h.expect(path, offset, kind, outcome)
            offset += len(raw)
    return offset


def _hostile_warc(h: _Hostile) -> None:
    """Crawl records that ended jobs or vanished before: bogus charsets, mixed-case and binary content types,
    pathological and oversized HTML, a damaged block, WARC requests and metadata (counted skips)."""
    url = "https://example.org/{}".format
    charsets = {  # declared charsets that are no text encoding (base64, rot13, ...) or make lone surrogates
        "charset_base64": "text/html; charset=base64",
        "charset_rot13": "text/html; charset=rot13",
        "charset_undefined": "text/html; charset=undefined",
        "charset_punycode": "text/html; charset=punycode",
        "charset_unicode_escape": "text/html; charset=unicode_escape",
    }
    records = [
        ("warcinfo", _warc_record(h, "warcinfo", None, b"software: corpus hostile\r\n"), "skipped:warc_warcinfo"),
        (
            "request",
            _warc_record(h, "request", url(0), b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"),
            "skipped:warc_request",
        ),
        ("page", _warc_record(h, "response", url(1), _http("text/html; charset=utf-8", _page(h, 50))), "document"),
    ]
    for i, (kind, content_type) in enumerate(charsets.items()):
        body = _page(h, 60 + i).replace(b"</article>", b"<p>escape \\ud800 here</p></article>")
        records.append((kind, _warc_record(h, "response", url(10 + i), _http(content_type, body)), "document"))
    pathological = _page(h, 70).replace(b"</body>", b"<a " * 20_000 + b"</body>")
    oversized = _page(h, 73) + b"<p>" + b"filler words " * (h.extract_max_bytes // 13 + 1) + b"</p>"
    records += [
        (
            "mixed_case_type",
            _warc_record(h, "response", url(20), _http("Text/HTML; Charset=UTF-8", _page(h, 76))),
            "document",
        ),
        ("plain_text", _warc_record(h, "response", url(21), _http("text/plain", h.good(79).encode())), "document"),
        (
            "image",
            _warc_record(h, "response", url(22), _http("image/png", b"\x89PNG\r\n" + h.rng.randbytes(300))),
            "skipped:non_text_response",
        ),
        ("pathological_html", _warc_record(h, "response", url(23), _http("text/html", pathological)), "document"),
        ("html_over_budget", _warc_record(h, "response", url(24), _http("text/html", oversized)), "ingest:too_large"),
        ("metadata", _warc_record(h, "metadata", url(24), b"fetchTimeMs: 120\r\n"), "skipped:warc_metadata"),
    ]
    damaged = bytearray(_warc_record(h, "response", url(25), _http("text/html", _page(h, 82))))
    damaged[-100] ^= 0xFF  # one flipped byte in the page: the digest no longer matches
    records += [
        ("damaged_block", bytes(damaged), "ingest:corrupt_record"),
        ("page", _warc_record(h, "response", url(26), _http("text/html", _page(h, 85))), "document"),
    ]
    _write_warc(h, h.folder("warc") / "hostile.warc.gz", records)
    _broken_warcs(h)


def _broken_warcs(h: _Hostile) -> None:
    """A Content-Length too small (no digest to catch it), a .warc.gz cut short and a plain .warc cut short."""
    url = "https://example.org/broken/{}".format
    response = lambda i, **kw: _warc_record(h, "response", url(i), _http("text/html", _page(h, 88 + i)), **kw)  # noqa: E731
    short = response(1, digest=False, declared=3)
    _write_warc(
        h,
        h.folder("warc") / "bogus_length.warc.gz",
        [
            ("page", response(0), "document"),
            ("too_small_length", short, "ingest:corrupt_record"),
            ("page", response(2), ""),
        ],
    )
    h.expect(h.folder("warc") / "bogus_length.warc.gz", -1, "after_bogus_length", "ingest:corrupt_archive")

    whole = [response(i) for i in range(3, 8)]
    members = [gzip.compress(raw, mtime=0) for raw in whole]
    cut_path = h.folder("warc") / "truncated.warc.gz"
    cut_path.write_bytes(b"".join(members[:3]) + members[3][: len(members[3]) // 2])
    offset = 0
    for raw in whole[:3]:
        h.expect(cut_path, offset, "page", "document")
        offset += len(raw)
    # the cut record is quarantined at its offset when its WARC header came through whole, else the file at -1
    salvaged = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(members[3][: len(members[3]) // 2])
    h.expect(cut_path, offset if b"\r\n\r\n" in salvaged else -1, "truncated_warc_gz", "ingest:truncated_archive")

    plain = h.folder("warc") / "cut.warc"
    first, second = response(8, digest=False), response(9, digest=False)
    plain.write_bytes(first + second[: len(second) // 2])
    h.expect(plain, 0, "page", "document")
    h.expect(plain, len(first), "cut_plain_warc", "ingest:truncated_record")


_PARTS: tuple[Callable[[_Hostile], None], ...] = (
    _mixed_file,
    _big_file,
    _parser_breaker_files,
    _junk_file,
    _truncated_archives,
    _corrupt_archives,
    _empty_files,
    _gzip_bomb,
    _symlinks,
    _text_files,
    _parquet_files,
    _warc_file,
    _hostile_warc,
)


def _summary(h: _Hostile) -> dict[str, Any]:
    out = h.out
    documents = [r for r in h.records if r["expect"] == "document"]
    quarantined = Counter(r["expect"] for r in h.records if r["expect"].startswith("ingest:"))
    skipped = Counter(r["expect"] for r in h.records if r["expect"].startswith("skipped:"))
    return {
        "out_dir": str(out),
        "records": h.records,
        "documents": len(documents),
        "quarantined": dict(sorted(quarantined.items())),
        "skipped": dict(sorted(skipped.items())),
        "empty_documents": sum(r["kind"].startswith("empty_") for r in documents),
        "parser_breakers": h.parser_breakers,
        "sources": [
            {"name": "hostile_jsonl", "format": "jsonl", "paths": [str(out / "jsonl")], "meta_fields": ["kind"]},
            {"name": "hostile_text", "format": "text", "paths": [str(out / "text")]},
            {
                "name": "hostile_parquet",
                "format": "parquet",
                "paths": [str(out / "parquet")],
                "meta_fields": ["kind", "when"],
            },
            {"name": "hostile_warc", "format": "warc", "paths": [str(out / "warc")]},
        ],
        "max_doc_bytes": h.max_doc_bytes,
        "extract_max_bytes": h.extract_max_bytes,
    }


def generate_hostile_corpus(
    out_dir: str | Path,
    seed: int = 0,
    *,
    big_doc_bytes: int = 50_000_000,
    max_doc_bytes: int = 10_000_000,
    long_line_chars: int = 200_000,
    extract_max_bytes: int | None = None,
) -> dict[str, Any]:
    """Write a corpus with every kind of bad record; return what reading it should give.

    ``max_doc_bytes`` is the ``ingest.max_doc_bytes`` the corpus will be read with: the big
    document (``big_doc_bytes``) must exceed it and the long-line document must fit. The
    result lists every record as ``{"file", "line", "kind", "expect"}`` where ``expect`` is
    ``"document"``, the quarantine reason (``ingest:...``) or the skip (``skipped:...``; WARC requests,
    metadata, images), with WARC records at their offset in the uncompressed file; documents of kind
    ``empty_*`` normalise to empty text (``normalize:empty``). ``sources`` are the pipeline source entries; ``parser_breakers``
    the files whose records break a naive JSON reader (one kind per file). Text files are read
    whole, with line 0. HTML pages over ``extract_max_bytes`` (default: half of ``max_doc_bytes``)
    are not extracted.
    """
    if not long_line_chars * 4 < max_doc_bytes < big_doc_bytes:
        raise ValueError("need long_line_chars * 4 < max_doc_bytes < big_doc_bytes")
    rng = random.Random(seed)
    extract_max_bytes = extract_max_bytes or max_doc_bytes // 2  # an HTML page between the two is not extracted
    hostile = _Hostile(
        Path(out_dir),
        rng,
        _hostile_sentences(rng, 400),
        big_doc_bytes,
        max_doc_bytes,
        long_line_chars,
        extract_max_bytes,
    )
    for part in _PARTS:
        part(hostile)
    return _summary(hostile)
