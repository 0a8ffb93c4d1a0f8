"""`corpus inspect RUN_DIR`: every output of a run in one screen, read from its files (no Spark): the stage
funnel, the quarantine, the tokenizer and its held-out bytes per token, the shards and the mixture, the card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import InputError

SUCCESS = "_SUCCESS"


def inspect_run(run_dir: Path) -> str:
    """The report of a run directory, section by section; a step that did not finish says so."""
    if not (run_dir / "stages").is_dir():
        raise InputError(f"{run_dir} is not a run directory (no stages/ folder)")
    config_hash = _text(run_dir / "config.hash")
    lines = [f"run {run_dir}" + (f" (config hash {config_hash})" if config_hash else ""), ""]
    stages = stage_stats(run_dir)
    lines += [format_funnel(stages), ""]
    lines += [
        f"files: {run_dir / 'stages'}/NN_<stage>/data (kept documents, Parquet, from the pii stage on; raw ones "
        f"before it are in the work area, run.work_dir), {run_dir / 'rejects'}/NN_<stage> (rejected, with reason), "
        f"{run_dir / 'config.resolved.yaml'}, {run_dir / 'summary.json'}",
        "",
    ]
    lines += _quarantine(run_dir, stages)
    lines += _tokenizer(run_dir)
    lines += _shards(run_dir)
    lines += _card(run_dir)
    return "\n".join(lines).rstrip("\n")


def stage_stats(run_dir: Path) -> list[dict[str, Any]]:
    """Each stage folder's stats in order; one without ``_SUCCESS`` is marked incomplete."""
    rows = []
    for stage_dir in sorted((run_dir / "stages").iterdir()):
        stats_file = stage_dir / "stats.json"
        if stats_file.exists() and (stage_dir / SUCCESS).exists():
            rows.append(json.loads(stats_file.read_text()))
        elif stage_dir.is_dir() and not stage_dir.name.startswith("."):
            rows.append({"stage": stage_dir.name[3:], "incomplete": True})
    return rows


def format_funnel(stats: list[dict[str, Any]]) -> str:
    lines = [f"{'stage':<20} {'in':>9} {'kept':>9} {'rejected':>9} {'drop%':>6} {'time':>8}"]
    for s in stats:
        if s.get("incomplete"):
            lines.append(f"{s['stage']:<20} {'(incomplete: no _SUCCESS)':>44}")
            continue
        rate = 100.0 * s["rows_rejected"] / max(s["rows_in"], 1)
        lines.append(
            f"{s['stage']:<20} {s['rows_in']:>9} {s['rows_kept']:>9} {s['rows_rejected']:>9} "
            f"{rate:>5.1f}% {s['elapsed_s']:>7.1f}s"
        )
        for reason, count in s["reasons"].items():
            lines.append(f"    {reason:<40} {count:>9}")
    return "\n".join(lines)


def _quarantine(run_dir: Path, stages: list[dict[str, Any]]) -> list[str]:
    ingest = next((s for s in stages if s.get("stage") == "ingest" and not s.get("incomplete")), None)
    if ingest is None or not ingest["rows_rejected"]:
        return ["quarantine: none (every input record was read)", ""]
    return [
        f"quarantine: {ingest['rows_rejected']:,} malformed input records in {run_dir / 'quarantine'} "
        f"(reasons under ingest above; columns source, file, line, reason, detail)",
        "",
    ]


def _tokenizer(run_dir: Path) -> list[str]:
    folder = run_dir / "tokenizer"
    stats = _complete(folder)
    if stats is None:
        return [f"tokenizer: {_missing(folder)}", ""]
    sample = stats.get("sample") or {}
    lines = [
        f"tokenizer: {run_dir / stats.get('path', 'tokenizer/tokenizer.json')}, {stats['vocab_size']:,} tokens "
        f"({stats.get('learned_vocab_size', 0):,} learned), trained on {sample.get('documents', 0):,} documents "
        f"({sample.get('chars', 0):,} characters) in {stats.get('elapsed_s', 0):.1f}s",
        f"  {'held out':<10} {'documents':>10} {'bytes/token':>12} {'tokens/word':>12}",
    ]
    for lang, figures in (stats.get("evaluation") or {}).items():
        lines.append(
            f"  {lang:<10} {figures['documents']:>10,} {_ratio(figures.get('bytes_per_token')):>12} "
            f"{_ratio(figures.get('tokens_per_word')):>12}"
        )
    return lines + [""]


def _shards(run_dir: Path) -> list[str]:
    folder = run_dir / "shards"
    stats = _complete(folder)
    manifest_file = folder / "manifest.json"
    if stats is None or not manifest_file.is_file():
        return [f"shards: {_missing(folder)}", ""]
    manifest = json.loads(manifest_file.read_text())
    lines = [f"shards: {manifest_file}, token dtype {manifest['dtype']}, {stats.get('elapsed_s', 0):.1f}s"]
    for split, totals in manifest["splits"].items():
        lines.append(
            f"  {split:<6} {totals['shards']:>4} shards {totals['documents']:>11,} documents "
            f"{totals['tokens']:>14,} tokens"
            + ("  (empty: shards.valid_fraction chose none)" if not totals["documents"] else "")
        )
    lines.append(f"  {'mixture':<10} {'documents':>10} {'epochs':>7} {'effective':>9} {'tokens used':>14} {'share':>7}")
    for row in manifest.get("mixture") or []:
        effective = f"{row['effective_epochs']:>9.2f}" if "effective_epochs" in row else f"{'':>9}"
        lines.append(
            f"  {row['source']:<10} {row['documents']:>10,} {row['epochs']:>7.2f} {effective} {row['tokens_used']:>14,} "
            f"{100 * row['share']:>6.1f}%" + ("  (capped at max_epochs)" if row.get("capped") else "")
        )
    return lines + [""]


def _card(run_dir: Path) -> list[str]:
    card = run_dir / "README.md"
    if not card.is_file():
        return [f"card: not written (corpus card {run_dir})"]
    plots = sorted((run_dir / "plots").glob("*.png")) if (run_dir / "plots").is_dir() else []
    html = run_dir / "report.html"
    return [
        f"card: {card} ({len(plots)} plots in {run_dir / 'plots'}); "
        + (f"HTML: {html}" if html.is_file() else f"HTML not written (corpus report {run_dir} --html)")
    ]


def _complete(folder: Path) -> dict[str, Any] | None:
    """A step folder's stats when the step finished (``_SUCCESS``), else None."""
    if not (folder / SUCCESS).is_file() or not (folder / "stats.json").is_file():
        return None
    return json.loads((folder / "stats.json").read_text())


def _missing(folder: Path) -> str:
    return "started but not finished (no _SUCCESS)" if folder.is_dir() else "not run"


def _text(path: Path) -> str | None:
    return path.read_text().strip() if path.is_file() else None


def _ratio(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "—"
