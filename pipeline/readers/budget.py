"""A time budget for one record's work: the work runs in a child process, killed when a call overruns.

HTML extraction is C code (resiliparse, lxml) that no signal interrupts, so a page that would take days, or
a crash inside the extension, must not happen in the Spark worker itself. One child per worker process
serves the calls in turn (the pages travel through a pipe); a call over its budget kills the child, the
record is quarantined and the next call starts a fresh one.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from typing import Any


class BudgetExceeded(Exception):
    """The call took longer than its budget; the child was killed."""


class WorkFailed(Exception):
    """The call raised in the child, or the child died (a crash in a C extension)."""


def _serve(conn: Any, fn: Callable[..., Any], warmup: tuple) -> None:
    """The child's loop: one call per message until the parent goes away."""
    fn(*warmup)  # imports and first-use set-up happen before the first budgeted call
    conn.send(("ready", None))
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", fn(*args)))
        except Exception as exc:  # any failure of the work is reported, the child goes on
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]))


class Budgeted:
    """``fn`` (a module-level function) called in a child process, at most ``seconds`` per call."""

    def __init__(self, fn: Callable[..., Any], seconds: float, warmup: tuple = ()):
        self.fn, self.seconds, self.warmup = fn, seconds, warmup
        self._process: Any = None
        self._conn: Any = None

    def __call__(self, *args: Any) -> Any:
        if self._process is None or not self._process.is_alive():
            self._start()
        started = time.monotonic()
        self._conn.send(args)
        if not self._conn.poll(self.seconds):
            self.stop()
            raise BudgetExceeded(f"still running after {time.monotonic() - started:.1f}s (budget {self.seconds}s)")
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process else None
            self.stop()
            raise WorkFailed(f"the extraction process died (exit code {code})") from None
        if status == "error":
            raise WorkFailed(value)
        return value

    def _start(self) -> None:
        self.stop()
        context = multiprocessing.get_context("spawn")  # no fork of a process that talks to the JVM
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self.fn, self.warmup), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        try:
            self._conn.recv()  # "ready": start-up is not part of any record's budget
        except (EOFError, OSError):
            code = self._process.exitcode
            self.stop()
            raise WorkFailed(f"the extraction process did not start (exit code {code})") from None

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process.close()
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None


_BUDGETED: dict[tuple, Budgeted] = {}


def budgeted(fn: Callable[..., Any], seconds: float, warmup: tuple = ()) -> Budgeted:
    """One child per function and budget per process (a Spark Python worker reuses it across tasks)."""
    key = (fn.__module__, fn.__qualname__, seconds)
    if key not in _BUDGETED:
        _BUDGETED[key] = Budgeted(fn, seconds, warmup)
    return _BUDGETED[key]
