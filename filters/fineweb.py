"""FineWeb quality rules (Penedo et al. 2024, datatrove's FineWebQualityFilter). Pure functions.

Each rule takes the document's ``TextUnits`` and the config and returns None (keep) or its
reason; a threshold set to None switches its rule off. Definitions: docs/filters.md.
"""

from __future__ import annotations

from pydantic import Field, PrivateAttr, model_validator

from filters.gopher import Rule, RuleFamilyConfig, ratio
from filters.text_units import TextUnits

# The characters of the Unicode property Sentence_Terminal in the Basic Multilingual Plane
# (Latin, Armenian, Arabic, Syriac, Devanagari, Myanmar, Ethiopic, Khmer, Mongolian, CJK full and
# half width, ...), as of Unicode 16. FineWeb's list is essentially the same property.
TERMINAL_PUNCTUATION = (
    "!.?\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e\u0964\u0965"
    "\u104a\u104b\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u1803\u1809\u1944\u1945\u1aa8\u1aa9"
    "\u1aaa\u1aab\u1b4e\u1b4f\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e\u1b7f\u1c3b\u1c3c\u1c7e\u1c7f\u2024"
    "\u203c\u203d\u2047\u2048\u2049\u2cf9\u2cfa\u2cfb\u2e2e\u2e3c\u2e53\u2e54\u2e60\u2e61\u3002\ua4ff"
    "\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1"
    "\uabeb\ufe12\ufe15\ufe16\ufe52\ufe56\ufe57\uff01\uff0e\uff1f\uff61"
)


class FineWebConfig(RuleFamilyConfig):
    min_line_punct_ratio: float | None = Field(0.12, ge=0, le=1, description="lines ending in terminal punctuation")
    terminal_punctuation: str = Field(TERMINAL_PUNCTUATION, min_length=1, description="line-final marks that count")
    max_short_line_ratio: float | None = Field(0.67, ge=0, le=1, description="lines of <= short_line_length chars")
    short_line_length: int = Field(30, ge=0, description="a line this long or shorter is short (FineWeb)")
    max_char_dup_ratio: float | None = Field(
        0.01, ge=0, le=1, description="chars in duplicate lines / non-newline chars"
    )
    max_newline_ratio: float | None = Field(0.3, ge=0, description="newlines per word (FineWeb list_ratio)")

    _terminal: tuple[str, ...] = PrivateAttr(())

    @model_validator(mode="after")
    def _prepare(self) -> FineWebConfig:
        self._terminal = tuple(self.terminal_punctuation)
        return self


def line_punct_ratio(units: TextUnits, cfg: FineWebConfig) -> str | None:
    if cfg.min_line_punct_ratio is None:
        return None
    lines, terminal = units.lines, cfg._terminal
    ending = sum(1 for line in lines if line.endswith(terminal))
    if (ending / len(lines) if lines else 0.0) < cfg.min_line_punct_ratio:
        return "fineweb:line_punct_ratio"
    return None


def short_line_ratio(units: TextUnits, cfg: FineWebConfig) -> str | None:
    if cfg.max_short_line_ratio is None or not units.lines:
        return None
    short = sum(1 for line in units.lines if len(line) <= cfg.short_line_length)
    if short / len(units.lines) > cfg.max_short_line_ratio:
        return "fineweb:short_line_ratio"
    return None


def char_dup_ratio(units: TextUnits, cfg: FineWebConfig) -> str | None:
    if cfg.max_char_dup_ratio is None:
        return None
    chars = len(units.text) - units.text.count("\n")
    if ratio(units.duplicate_lines[1], chars) > cfg.max_char_dup_ratio:
        return "fineweb:char_dup_ratio"
    return None


def newline_ratio(units: TextUnits, cfg: FineWebConfig) -> str | None:
    if cfg.max_newline_ratio is None:
        return None
    if ratio(units.text.count("\n"), len(units.words)) > cfg.max_newline_ratio:
        return "fineweb:newline_ratio"
    return None


FINEWEB_RULES: tuple[Rule, ...] = (line_punct_ratio, short_line_ratio, char_dup_ratio, newline_ratio)
