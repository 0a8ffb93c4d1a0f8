"""FineWeb quality rules (Penedo et al. 2024, datatrove 0.10.1's FineWebQualityFilter). Pure functions.

``fineweb_signals`` measures the four rules on a document, ``fineweb_checks`` turns the thresholds
into checks. Lines are the non-blank lines of ``text.split("\\n")``, not stripped, as datatrove
takes them. A threshold set to None switches its check off. Definitions: docs/filters.md.
"""

from __future__ import annotations

from pydantic import Field, PrivateAttr, model_validator

from filters.gopher import Check, RuleFamilyConfig, Signals, check, ratio
from filters.text_units import TERMINAL_PUNCTUATION, TextUnits, duplicates


class FineWebConfig(RuleFamilyConfig):
    THRESHOLDS = ("min_line_punct_ratio", "max_short_line_ratio", "max_char_dup_ratio", "max_newline_ratio")

    min_line_punct_ratio: float | None = Field(0.12, ge=0, le=1, description="lines ending in terminal punctuation")
    terminal_punctuation: str = Field(TERMINAL_PUNCTUATION, min_length=1, description="line-final marks that count")
    max_short_line_ratio: float | None = Field(0.67, ge=0, le=1, description="lines of <= short_line_length chars")
    short_line_length: int = Field(30, ge=0, description="a line this long or shorter is short (FineWeb)")
    max_char_dup_ratio: float | None = Field(
        0.01, ge=0, le=1, description="chars in duplicate lines / non-newline chars"
    )
    max_newline_ratio: float | None = Field(0.3, ge=0, description="newlines per token (FineWeb list_ratio)")

    _terminal: tuple[str, ...] = PrivateAttr(())

    @model_validator(mode="after")
    def _prepare(self) -> FineWebConfig:
        self._terminal = tuple(self.terminal_punctuation)
        return self


def fineweb_signals(units: TextUnits, cfg: FineWebConfig) -> Signals:
    lines, text = units.nonblank_lines, units.text
    return {
        "line_punct_ratio": ratio(sum(1 for line in lines if line.endswith(cfg._terminal)), len(lines)),
        "short_line_ratio": ratio(sum(1 for line in lines if len(line) <= cfg.short_line_length), len(lines)),
        "char_dup_ratio": ratio(duplicates(lines)[1], len(text) - text.count("\n")),
        "newline_ratio": ratio(text.count("\n"), len(units.tokens)),
    }


def fineweb_checks(cfg: FineWebConfig) -> list[Check]:
    return [
        check("line_punct_ratio", low=cfg.min_line_punct_ratio),
        check("short_line_ratio", high=cfg.max_short_line_ratio),
        check("char_dup_ratio", high=cfg.max_char_dup_ratio),
        check("newline_ratio", high=cfg.max_newline_ratio),
    ]
