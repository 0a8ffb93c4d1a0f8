"""Durable writes: what a rename or a marker makes visible is on disk first.

Without fsync, a power loss after ``os.replace`` or after ``_SUCCESS`` is written can leave a marked
step whose files are empty or missing; resume would then trust them.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush one file or directory entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file under ``root``, then every directory (so their entries are durable too)."""
    for folder, _, files in os.walk(root):
        for name in files:
            fsync_path(Path(folder) / name)
        fsync_path(Path(folder))


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` under a temporary name, flush it, and rename it into place (readers see the old
    file or the whole new one, never a part)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent)
