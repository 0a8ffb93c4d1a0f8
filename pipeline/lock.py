"""One job per output folder: a lock file taken atomically, naming its owner.

A second job on the same run directory (a resubmit, a scheduler retry) would delete the first one's
temporary output and race it on the stage markers. The lock file is created with O_EXCL, so exactly
one job gets it; it holds the owner's user, host, pid and start time. A lock left by a process that
no longer runs on this host is taken over (with a log line); a lock from another host is never
guessed stale: the message says how to remove it.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from core.errors import CorpusError

log = logging.getLogger("corpus")

LOCK_FILE = ".corpus-lock"


class LockedError(CorpusError):
    """Another job holds the output folder."""


@contextmanager
def folder_lock(folder: Path) -> Iterator[dict]:
    """Hold ``folder``'s lock for the duration of the block; release it after, whatever happens.
    Nested use in the process that holds it (the CLI, then the runner) is a no-op."""
    path = Path(folder) / LOCK_FILE
    holder = _read(path)
    if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        yield holder
        return
    owner = _acquire(path)
    try:
        yield owner
    finally:
        _release(path, owner)


def _acquire(path: Path) -> dict:
    owner = {
        "user": _user(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for _ in range(2):  # a second try after removing a stale lock
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _read(path)
            if not _is_stale(holder):
                raise LockedError(_held_message(path, holder)) from None
            log.warning("taking over the stale lock %s of process %s on %s (no longer running)", path,
                        holder.get("pid"), holder.get("host"))  # fmt: skip
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(owner, handle)
            handle.flush()
            os.fsync(handle.fileno())
        return owner
    raise LockedError(_held_message(path, _read(path)))


def _release(path: Path, owner: dict) -> None:
    """Remove the lock only if it is still ours (a crashed owner's successor may hold it now)."""
    if _read(path) == owner:
        path.unlink(missing_ok=True)


def _read(path: Path) -> dict:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # half-written by a job killed while taking it
        return {}
    return holder if isinstance(holder, dict) else {}


def _is_stale(holder: dict) -> bool:
    """Stale: written by a process of this host that no longer runs, or unreadable."""
    if not holder:
        return True
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # runs, under another user
        return False
    return False


def _held_message(path: Path, holder: dict) -> str:
    who = (
        f"user {holder.get('user')}, host {holder.get('host')}, pid {holder.get('pid')}, "
        f"started {holder.get('started')}"
    )
    return (
        f"{path.parent} is in use by another job ({who}); wait for it to finish, or if that job is gone "
        f"(e.g. it ran on another machine and was killed), remove {path} and rerun"
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
