"""Bytes of a text file to text, with a fallback for files that are not valid UTF-8. Pure functions.

A book with one broken byte is still a book: quarantining it whole loses 400,000 good characters for
one bad one. The fallback is the one the WARC reader uses for pages (``filters.html_text``): a file that
is UTF-8 apart from a few bytes keeps its text with U+FFFD for those bytes (counted), and any other
file is decoded in the charset detected from its bytes (resiliparse's detector).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TextDecoding = Literal["detect", "replace", "strict"]
MOSTLY_UTF8 = 0.001  # at most this share of replaced characters for a file to be taken as UTF-8


@dataclass(frozen=True)
class Decoded:
    text: str | None  # None: not decodable under the chosen mode (strict and not UTF-8)
    encoding: str
    replaced: int  # characters that became U+FFFD


def decode_text(raw: bytes, mode: TextDecoding = "detect") -> Decoded:
    """``raw`` as text (a leading byte-order mark dropped). ``strict``: UTF-8 or nothing; ``replace``:
    UTF-8 with U+FFFD for each invalid byte sequence; ``detect``: UTF-8, else UTF-8 with replacements
    when at most 0.1% of the characters need one, else the detected charset."""
    try:
        return Decoded(raw.decode("utf-8-sig"), "utf-8", 0)
    except UnicodeDecodeError:
        if mode == "strict":
            return Decoded(None, "utf-8", 0)
    text = raw.decode("utf-8-sig", errors="replace")
    replaced = text.count("\ufffd") - raw.count(b"\xef\xbf\xbd")
    if mode == "replace" or replaced <= MOSTLY_UTF8 * len(text):
        return Decoded(text, "utf-8", replaced)
    from resiliparse.parse.encoding import detect_encoding

    from filters.html_text import charset_codec

    codec = charset_codec(detect_encoding(raw)) or "cp1252"
    text = raw.decode(codec, errors="replace")
    return Decoded(text, codec, text.count("\ufffd"))
