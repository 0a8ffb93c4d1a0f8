"""Source code as training data: language by file name, licences, boilerplate headers and per-file quality
rules, as LLaMA's GitHub subset (Touvron et al. 2023, 2.1), Codex (Chen et al. 2021, 3.1), RedPajama's GitHub
filter and StarCoder (Li et al. 2023, 4) did. Pure functions.

Signals, then decisions (Dolma's split): ``code_signals`` measures every rule on a file, ``code_checks``
turns the thresholds into checks (the heuristics stage's ``code`` family, filters/heuristics.py). Where
each threshold comes from is in its field's description and in docs/recipes.md.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from pydantic import Field

from filters.gopher import Check, RuleFamilyConfig, Signals, check, ratio
from filters.text_units import TextUnits

UNKNOWN_LICENSE = "unknown"
PERMISSIVE_LICENSES = ("MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause")  # LLaMA 2.1's GitHub licences

# identify's tags that say what kind of file it is, not its language
_NOT_LANGUAGE_TAGS = frozenset(
    {"text", "binary", "executable", "non-executable", "file", "directory", "symlink", "socket", "plain-text", "header"}
)


def language_of(path: str) -> str | None:
    """The file's language from its name (pre-commit's ``identify`` table of extensions and special names,
    e.g. ``python``, ``javascript``, ``markdown``), or None for a file that is no known text language (a
    ``.txt``, a licence text, an image). Several tags (``.h``: c, c++) give the first in alphabetical order."""
    from identify.identify import tags_from_filename

    tags = tags_from_filename(path)
    languages = sorted(tags - _NOT_LANGUAGE_TAGS) if "text" in tags else []
    return languages[0] if languages else None


def binary_by_name(path: str) -> bool:
    """Whether the file name says binary (an image, an archive, a font: identify's ``binary`` tag)."""
    from identify.identify import tags_from_filename

    return "binary" in tags_from_filename(path)


# --- licences ---------------------------------------------------------------------------------------------

_SPDX_HEADER = re.compile(r"SPDX-License-Identifier:\s*([^\n*]+?)\s*(?:\*/|-->|\n|$)")
SPDX_HEADER_LINES = 20  # an SPDX header sits at the top of a file


def spdx_header(text: str) -> str | None:
    """The licence expression of an ``SPDX-License-Identifier:`` line in the file's first lines, or None."""
    head = "\n".join(text.split("\n", SPDX_HEADER_LINES)[:SPDX_HEADER_LINES])
    found = _SPDX_HEADER.search(head)
    return found.group(1).strip().rstrip(";").strip() if found else None


@lru_cache(maxsize=1)
def _licensing():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def license_allowed(expression: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether the SPDX expression lets the file be used under the allowed licences: every licence of an
    ``AND``, one of an ``OR`` (``MIT OR GPL-2.0`` is allowed with MIT); ``X WITH exception`` as X (an
    exception only adds permissions). Unknown or unparsable expressions are not allowed. Case-insensitive."""
    if not expression or expression == UNKNOWN_LICENSE:
        return False
    licensing = _licensing()
    try:
        parsed = licensing.parse(expression)
    except Exception:  # license_expression raises its own ExpressionError kinds on any malformed expression
        return False
    if parsed is None:
        return False
    permitted = {name.lower() for name in allowed}
    values = {}
    for symbol in licensing.license_symbols(parsed, unique=True, decompose=False):
        base = getattr(symbol, "license_symbol", symbol)  # a WITH expression: its licence
        values[symbol] = licensing.TRUE if str(base.key).lower() in permitted else licensing.FALSE
    return parsed.subs(values).simplify() == licensing.TRUE


def truncated_license_id(text: str) -> str | None:
    """The SPDX id of a licence text cut short of the known text (Apache-2.0 without its appendix "How to
    apply the Apache License", as botocore, docker and requests ship it), which ``identify.license_id``
    misses (its edit-distance cutoff is 5% of the whole text): compared, with identify's normalisation and
    the same 5% cutoff, against the same length of each licence text identify knows; None when none fits."""
    import ukkonen
    from identify.identify import _norm_license
    from identify.vendor.licenses import LICENSES

    norm = _norm_license(text)
    cutoff = math.ceil(0.05 * len(norm))
    best: tuple[int, str] | None = None
    for spdx, known in _normalised_licences(_norm_license, LICENSES):
        if 0.5 * len(known) <= len(norm) < len(known):
            distance = ukkonen.distance(norm, known[: len(norm)], cutoff)
            if distance < cutoff and (best is None or distance < best[0]):
                best = (distance, spdx)
    return best[1] if best else None


@lru_cache(maxsize=1)
def _normalised_licences(normalise, licences) -> tuple[tuple[str, str], ...]:
    return tuple((spdx, normalise(text)) for spdx, text in licences)


def combined_license(found: list[str]) -> str:
    """One expression for a repository's licence files (each detected licence must be respected: AND), or
    ``unknown`` when none was recognised."""
    distinct = sorted(set(found))
    if not distinct:
        return UNKNOWN_LICENSE
    return " AND ".join(f"({e})" if " " in e else e for e in distinct)


# --- boilerplate ------------------------------------------------------------------------------------------

_COMMENT_LINE = re.compile(r"^\s*(#|//|--|;|/\*|\*|\*/|<!--|-->|%|'|REM\b)")
_COMMENT_TEXT = re.compile(r"^\s*(#+|//+|--|;+|/\*+|\*+/?|<!--|%|'|REM\b)?|(\*/|-->)\s*$")  # marks around a text
_CLOSER = {"/*": "*/", "<!--": "-->"}
_EMPTY_COMMENT = frozenset({"#", "//", "*", "--", ";", "%"})
_PREAMBLE = re.compile(r"^(#!|#.*coding[:=]|<\?xml|<\?php)")  # kept above a removed header
_LICENSE_WORDS = re.compile(
    r"copyright|\(c\)|©|licen[cs]e|spdx-license-identifier|all rights reserved|permission is hereby granted|"
    r"warranty|redistribution and use",
    re.IGNORECASE,
)
# a comment line naming an author: personal data that says nothing about the code
_ATTRIBUTION = re.compile(
    r"^\s*(#|//|--|;|/?\*+|<!--)\s*(copyright\b|\(c\)|©|@author\b|authors?\s*:|written by\b|maintainer\s*:)"
    r"|^\s*:(copyright|license|author):",  # the reST fields of a Python module docstring (Sphinx, pygments)
    re.IGNORECASE,
)


def strip_boilerplate(text: str) -> str:
    """The file without the licence and copyright paragraphs of its leading comment block (its other
    paragraphs stay: a generator's "DO NOT EDIT", a module's description) and without comment lines naming
    a copyright holder or author anywhere (LLaMA 2.1: "removed boilerplate such as headers with regular
    expressions")."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and _PREAMBLE.match(lines[start]):
        start += 1
    end = start
    while end < len(lines) and (_COMMENT_LINE.match(lines[end]) or (end > start and not lines[end].strip())):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    header = _without_licence_paragraphs(lines[start:end])
    if header != lines[start:end]:
        lines = lines[:start] + header + (lines[end:] if header else _drop_leading_blank(lines[end:]))
    return "\n".join(line for line in lines if not _ATTRIBUTION.match(line))


def _without_licence_paragraphs(block: list[str]) -> list[str]:
    """A comment block without its paragraphs (runs of comment lines with text) that speak of licences or
    copyright; a removed paragraph leaves its comment's opening or closing mark, so the comment stays closed.
    Nothing is left when no paragraph is."""
    kept: list[str] = []
    paragraph: list[str] = []
    for line in [*block, ""]:
        if _COMMENT_TEXT.sub("", line).strip():
            paragraph.append(line)
            continue
        if paragraph:
            joined = "\n".join(paragraph)
            if not _LICENSE_WORDS.search(joined):
                kept += paragraph
            else:
                kept += [mark for mark in ("/*", "<!--") if mark in joined and _CLOSER[mark] not in joined]
                kept += [_CLOSER[mark] for mark in ("/*", "<!--") if _CLOSER[mark] in joined and mark not in joined]
            paragraph = []
        if line.strip():
            kept.append(line)  # a separator: an empty comment line, an opening or closing mark
    if not any(_COMMENT_TEXT.sub("", line).strip() for line in kept):
        return []
    return [  # no run of empty comment lines where paragraphs were removed
        line
        for index, line in enumerate(kept)
        if line.strip() not in _EMPTY_COMMENT or (index and kept[index - 1].strip() not in _EMPTY_COMMENT | {"/*"})
    ]


def _drop_leading_blank(lines: list[str]) -> list[str]:
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    return lines[first:]


# --- per-file quality rules -------------------------------------------------------------------------------

# StarCoder (Li et al. 2023, 4.x "encoded data"): base64 strings, hexadecimal byte runs, unicode escapes
_ENCODED = re.compile(r"[a-zA-Z0-9+/\n=]{64,}|(?:\b(?:0x|\\x)?[0-9a-fA-F]{2}(?:,|\b\s*)){8,}|(?:\\u[0-9a-fA-F]{4}){8,}")
# StarCoder: "auto-generated" and kin in the first lines of a file
_GENERATED = re.compile(
    r"auto-?generated|automatically generated|generated automatically|generated by|do not edit|"
    r"this file (?:is|was) generated|code generated .* do not edit",
    re.IGNORECASE,
)
GENERATED_MARKER_LINES = 5
_TOKEN = re.compile(r"\w+|[^\w\s]+")  # a word, or a run of marks (a BPE tokenizer merges "):" or "=[")


class CodeConfig(RuleFamilyConfig):
    THRESHOLDS = (
        "max_line_length",
        "max_mean_line_length",
        "min_alnum_fraction",
        "min_alpha_token_ratio",
        "max_encoded_fraction",
        "max_encoded_run",
        "reject_generated",
    )

    max_line_length: int | None = Field(
        1000, ge=1, description="longest line in characters (Codex 3.1, RedPajama GitHub: > 1000 rejected)"
    )
    max_mean_line_length: float | None = Field(
        100, ge=1, description="mean line length (Codex 3.1, RedPajama GitHub: > 100 rejected)"
    )
    min_alnum_fraction: float | None = Field(
        0.25, ge=0, le=1, description="letters and digits / characters (Codex, RedPajama GitHub: < 0.25 rejected)"
    )
    min_alpha_token_ratio: float | None = Field(
        1.5,
        ge=0,
        description="alphabetic characters per token (RedPajama GitHub: < 1.5 rejected; its tokens are BPE "
        "tokens, ours words and runs of marks)",
    )
    max_encoded_fraction: float | None = Field(
        0.5, ge=0, le=1, description="characters in base64/hex/unicode-escape runs / characters (StarCoder: > 0.5)"
    )
    max_encoded_run: int | None = Field(
        1024, ge=1, description="longest base64/hex/unicode-escape run in characters (StarCoder: > 1024)"
    )
    reject_generated: bool = Field(
        True, description="reject files with an auto-generated marker in their first 5 lines (StarCoder, Codex)"
    )


def code_signals(units: TextUnits, cfg: CodeConfig) -> Signals:
    text = units.text
    lines = text.split("\n")
    lengths = [len(line) for line in lines]
    encoded = [len(match) for match in _ENCODED.findall(text)]
    head = "\n".join(lines[:GENERATED_MARKER_LINES])
    return {
        "max_line_length": float(max(lengths, default=0)),
        "mean_line_length": ratio(sum(lengths), len(lines)),
        "alnum_fraction": ratio(sum(1 for ch in text if ch.isalnum()), len(text)),
        "alpha_token_ratio": ratio(sum(1 for ch in text if ch.isalpha()), len(_TOKEN.findall(text))),
        "encoded_fraction": ratio(sum(encoded), len(text)),
        "encoded_run": float(max(encoded, default=0)),
        "generated": 1.0 if _GENERATED.search(head) else 0.0,
    }


def code_checks(cfg: CodeConfig) -> list[Check]:
    return [  # a generated file is named as such first: it usually fails a line-length rule too
        check("generated", high=0 if cfg.reject_generated else None),
        check("max_line_length", high=cfg.max_line_length),
        check("mean_line_length", high=cfg.max_mean_line_length),
        check("alnum_fraction", low=cfg.min_alnum_fraction),
        check("alpha_token_ratio", low=cfg.min_alpha_token_ratio),
        check("encoded_fraction", high=cfg.max_encoded_fraction),
        check("encoded_run", high=cfg.max_encoded_run),
    ]
