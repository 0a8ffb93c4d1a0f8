"""Web pages to text: the charset a page is written in, and its main content by a maintained extractor.

resiliparse (the extractor DCLM uses) is the default and trafilatura (FineWeb's) the option: both
were measured on the real crawl pages in ``../shared/data/warc`` (bench/results/html_extract.md).
Pure functions, no Spark; the readers run them under a time budget in a child process.
"""

from __future__ import annotations

from typing import Literal

HtmlExtractor = Literal["resiliparse", "trafilatura"]

# WHATWG decoders that Python names differently: the label ``gb2312`` is decoded as gb18030, ``shift_jis``
# as windows-31j and so on, since browsers do and pages rely on the extra characters.
_WHATWG_DECODER = {
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
    "iso8859-11": "cp874",
}
_MOSTLY_UTF8 = 0.001  # at most this share of U+FFFD when a page is taken as UTF-8 with a few broken bytes
_META_PRESCAN_BYTES = 4096


def charset_codec(label: str) -> str | None:
    """The Python codec for a charset label, or None for a label no browser decodes text with.

    Labels follow the WHATWG Encoding Standard (resiliparse's table): ``base64``, ``rot13``,
    ``unicode_escape``, ``punycode``, ``utf-7`` and unknown names are not text encodings of the web.
    """
    from resiliparse.parse.encoding import map_encoding_to_html5

    codec = map_encoding_to_html5(label.strip().strip("\"'"), fallback_utf8=False)
    return _WHATWG_DECODER.get(codec, codec) if codec else None


def declared_charset(content_type: str, payload: bytes, is_html: bool) -> str | None:
    """The codec the HTTP Content-Type declares, else the page's own ``<meta>``, else None."""
    import re

    for where in (content_type, payload[:_META_PRESCAN_BYTES].decode("latin-1") if is_html else ""):
        for label in re.findall(r"""charset\s*=\s*["']?([^"'\s;>/]+)""", where, flags=re.IGNORECASE):
            codec = charset_codec(label)
            if codec:
                return codec
    return None


def decode_page(payload: bytes, content_type: str, is_html: bool) -> str:
    """A web page's text: in its declared charset, else UTF-8, else the charset detected from its bytes.

    A UTF-8 page (declared or not) with a few broken bytes keeps its text, with U+FFFD for those bytes.
    """
    from resiliparse.parse.encoding import detect_encoding

    declared = declared_charset(content_type, payload, is_html)
    for codec in dict.fromkeys([declared, "utf-8"]):
        if codec:
            try:
                return payload.decode(codec)
            except UnicodeDecodeError:
                pass
    if declared in (None, "utf-8"):
        text = payload.decode("utf-8", errors="replace")
        if text.count("\ufffd") <= _MOSTLY_UTF8 * len(text):
            return text
    detected = charset_codec(detect_encoding(payload)) or "cp1252"
    return payload.decode(detected, errors="replace")


def html_to_text(markup: str, extractor: HtmlExtractor = "resiliparse") -> str:
    """The main content of an HTML page as text, one paragraph per line; navigation, footers and scripts left out."""
    if extractor == "trafilatura":
        import trafilatura

        return trafilatura.extract(markup, favor_precision=True, include_comments=False, deduplicate=False) or ""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    text = extract_plain_text(HTMLTree.parse(markup), main_content=True, preserve_formatting=True)
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def page_text(payload: bytes, content_type: str, extractor: HtmlExtractor) -> str:
    """A WARC response's text: decoded in its charset, and for HTML its main content."""
    is_html = "html" in content_type.lower()
    text = decode_page(payload, content_type, is_html)
    return html_to_text(text, extractor) if is_html else text
