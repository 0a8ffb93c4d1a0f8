"""Where a run keeps its raw work area: the one fact the runner, ``corpus clean`` and the card share."""

from __future__ import annotations

from pathlib import Path

WORK = "work"  # the default raw work area, inside the run directory


def work_dir_of_run(run_dir: Path, resolved: dict | None) -> Path:
    """The work area of a run: ``run.work_dir`` of its resolved config (a dict) when set, else ``work/``."""
    configured = ((resolved or {}).get("run") or {}).get("work_dir")
    return Path(configured) if configured else Path(run_dir) / WORK
