"""The dataset card's plots: matplotlib (Agg backend), one PNG per figure, no timestamps in the files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

KEPT_COLOR = "#4C72B0"
REJECTED_COLOR = "#DD8452"
CUTOFF_COLOR = "#C44E52"
DPI = 100
_PNG_METADATA = {"Software": None}  # keeps the files identical across matplotlib builds


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png", metadata=_PNG_METADATA, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_funnel(stages: Sequence[str], kept: Sequence[int], rejected: Sequence[int], path: Path) -> Path:
    """Horizontal stacked bars, first stage on top: documents kept and rejected by each stage."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(stages) + 1.4))
    positions = list(range(len(stages)))[::-1]
    ax.barh(positions, kept, color=KEPT_COLOR, label="kept")
    ax.barh(positions, rejected, left=kept, color=REJECTED_COLOR, label="rejected")
    widest = max([k + r for k, r in zip(kept, rejected)] or [1])
    for y, k, r in zip(positions, kept, rejected):
        ax.text(k + r + widest * 0.01, y, f"{k:,} kept" + (f" / {r:,} out" if r else ""), va="center", fontsize=8)
    ax.set_yticks(positions, labels=list(stages))
    ax.set_xlim(0, widest * 1.35)
    ax.set_xlabel("documents")
    ax.set_title("Documents through the pipeline")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return _save(fig, path)


def plot_bars(
    labels: Sequence[str], values: Sequence[float], title: str, xlabel: str, path: Path, value_format: str = "{:,.0f}"
) -> Path:
    """Horizontal bars, first label on top, each with its value printed."""
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.4))
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=KEPT_COLOR)
    widest = max([abs(v) for v in values] or [1]) or 1
    for y, v in zip(positions, values):
        ax.text(v + widest * 0.01, y, value_format.format(v), va="center", fontsize=8)
    ax.set_yticks(positions, labels=list(labels))
    ax.set_xlim(0, widest * 1.2)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _save(fig, path)


def plot_histogram(
    edges: Sequence[float],
    counts: dict[str, Sequence[int]],
    cutoffs: Sequence[tuple[str, float]],
    title: str,
    xlabel: str,
    path: Path,
    log_x: bool = False,
) -> Path:
    """A histogram from precomputed bins (``counts``: part -> counts per bin, stacked), with cut-off lines."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    lefts, widths = list(edges[:-1]), [b - a for a, b in zip(edges[:-1], edges[1:])]
    bottom = [0] * len(lefts)
    colors = {"kept": KEPT_COLOR, "rejected": REJECTED_COLOR}
    for part, values in counts.items():
        ax.bar(
            lefts,
            values,
            width=widths,
            bottom=bottom,
            align="edge",
            color=colors.get(part, KEPT_COLOR),
            edgecolor="white",
            linewidth=0.4,
            label=part,
        )
        bottom = [b + v for b, v in zip(bottom, values)]
    for label, value in cutoffs:
        ax.axvline(value, color=CUTOFF_COLOR, linestyle="--", linewidth=1.2)
        ax.annotate(
            f"{label} = {value:g}",
            xy=(value, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            color=CUTOFF_COLOR,
            fontsize=8,
        )
    ax.set_ylim(0, max(bottom + [1]) * 1.12)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("documents")
    ax.set_title(title)
    if len(counts) > 1:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return _save(fig, path)
