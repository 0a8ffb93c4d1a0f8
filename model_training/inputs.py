"""Shared by the model trainers: training inputs and model cards."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v\u3000]*\n")


def read_texts(path: str | Path) -> Iterator[str]:
    """Documents in a training input file.

    ``.jsonl``/``.jsonl.gz``: one document per line, its ``text`` field.
    ``.txt``/``.txt.gz``: the whole file is one document; paragraphs are separated by blank
    lines and a paragraph's hard-wrapped lines are joined with spaces, so every line of the
    returned text is one paragraph.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training input not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    kind = path.name.removesuffix(".gz").rsplit(".", 1)[-1]
    with opener(path, "rt", encoding="utf-8") as handle:
        if kind == "jsonl":
            for number, line in enumerate(handle, 1):
                if line.strip():
                    text = json.loads(line).get("text")
                    if not isinstance(text, str):
                        raise ValueError(f"{path}:{number}: no string field 'text'")
                    yield text
        elif kind == "txt":
            paragraphs = (" ".join(block.split("\n")).strip() for block in _PARAGRAPH_BREAK.split(handle.read()))
            yield "\n".join(p for p in paragraphs if p)
        else:
            raise ValueError(f"training input {path}: expected .txt, .txt.gz, .jsonl or .jsonl.gz")


def split_document(text: str, max_chars: int) -> list[str]:
    """Consecutive non-blank lines of ``text`` grouped into chunks of at most ``max_chars``
    characters (a longer line is cut into pieces)."""
    chunks, current, size = [], [], 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        for start in range(0, len(line), max_chars):
            piece = line[start : start + max_chars]
            if current and size + len(piece) > max_chars:
                chunks.append("\n".join(current))
                current, size = [], 0
            current.append(piece)
            size += len(piece) + 1
    if current:
        chunks.append("\n".join(current))
    return chunks


def write_model_card(output_dir: Path, title: str, card: dict, markdown_body: str) -> None:
    """Write ``model_card.json`` and ``model_card.md`` next to the models."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "model_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (output_dir / "model_card.md").write_text(f"# {title}\n\n{markdown_body}", encoding="utf-8")
