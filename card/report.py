"""The dataset card as one self-contained HTML page (``report.html``): same content, plots embedded.

The card is rebuilt first (:func:`card.build.build_card`), then its Markdown is rendered with
markdown-it-py (CommonMark + tables, raw HTML disabled, so text from the data cannot inject markup)
and every ``plots/*.png`` image becomes a ``data:image/png;base64`` URI. No scripts, no external
resources: the page opens offline.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from card.build import build_card

REPORT_FILE = "report.html"

_STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0; }
main { max-width: 1060px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 8px 0 16px; display: block; overflow-x: auto; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td { font-variant-numeric: tabular-nums; }
code { background: #f6f8fa; padding: .1em .3em; border-radius: 4px; font-size: 90%; }
pre { background: #f6f8fa; padding: 10px 12px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; }
pre code { background: none; padding: 0; }
img { max-width: 100%; height: auto; }
.metadata { font-size: 90%; }
"""


def split_front_matter(text: str) -> tuple[str, str]:
    """(YAML header, Markdown body) of a card that starts with ``---``."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end >= 0:
            return text[4 : end + 1], text[end + 5 :]
    return "", text


def _embed_images(tokens, run_dir: Path) -> None:
    """Replace each local PNG image source by its bytes as a data URI."""
    for token in tokens:
        for child in token.children or []:
            if child.type != "image":
                continue
            source = child.attrGet("src") or ""
            path = (run_dir / source).resolve()
            if source.endswith(".png") and path.is_file() and path.is_relative_to(run_dir.resolve()):
                encoded = base64.b64encode(path.read_bytes()).decode("ascii")
                child.attrSet("src", f"data:image/png;base64,{encoded}")


def render_html(card_text: str, run_dir: Path) -> str:
    """A card's Markdown as a complete HTML page with its plots embedded."""
    header, body = split_front_matter(card_text)
    metadata = yaml.safe_load(header) if header else {}
    title = str((metadata or {}).get("pretty_name") or "dataset card")
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(body)
    _embed_images(tokens, run_dir)
    content = md.renderer.render(tokens, md.options, {})
    header_html = (
        (
            f'<details class="metadata"><summary>Dataset-card metadata (YAML header)</summary>'
            f"<pre><code>{html.escape(header)}</code></pre></details>\n"
        )
        if header
        else ""
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{header_html}{content}</main>\n</body>\n</html>\n"
    )


def build_html_report(
    run_dir: str | Path, spark: Any | Callable[[], Any], ingest_descriptions: dict[str, str] | None = None
) -> Path:
    """Rebuild the card (same arguments as :func:`card.build.build_card`), then write ``report.html`` beside it;
    return the page's path."""
    run_dir = Path(run_dir)
    card = build_card(run_dir, spark, ingest_descriptions)
    page = render_html(card.read_text(encoding="utf-8"), run_dir)
    path = run_dir / REPORT_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path
