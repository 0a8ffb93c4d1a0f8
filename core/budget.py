"""A time budget for one record's work: the work runs in a child process, killed when a call overruns.

HTML extraction is C code (resiliparse, lxml) that no signal interrupts, so a page that would take days, or
a crash inside the extension, must not happen in the Spark worker itself. One child per worker process
serves the calls in turn (the pages travel through a pipe); a call over its budget kills the child, the
record is quarantined and the next call starts a fresh one. The child is a plain ``python -c`` calling this
module with the parent's import path (not multiprocessing's spawn, which re-runs the parent's main module:
a Spark worker's, or a script read from stdin). It lives on the ground floor so that the child imports
nothing but this module and the function's own (no Spark), and starts in a fraction of a second.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


class BudgetExceeded(Exception):
    """The call took longer than its budget; the child was killed."""


class WorkFailed(Exception):
    """The call raised in the child, or the child died (a crash in a C extension)."""


class Budgeted:
    """``fn`` (a module-level function) called in a child process, at most ``seconds`` per call."""

    def __init__(self, fn: Callable[..., Any], seconds: float, warmup: tuple = ()):
        self.fn, self.seconds, self.warmup = fn, seconds, warmup
        self._process: subprocess.Popen | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None

    def __call__(self, *args: Any) -> Any:
        if self._process is None or self._process.poll() is not None:
            self._start()
        assert self._send is not None and self._receive is not None
        started = time.monotonic()
        try:
            self._send.send(args)
            answered = self._receive.poll(self.seconds)
            if answered:
                status, value = self._receive.recv()
        except (EOFError, OSError):
            raise WorkFailed(f"the extraction process died (exit code {self._stop()})") from None
        if not answered:
            self._stop()
            raise BudgetExceeded(f"still running after {time.monotonic() - started:.1f}s (budget {self.seconds}s)")
        if status == "error":
            raise WorkFailed(value)
        return value

    def _start(self) -> None:
        self._stop()
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        command = [sys.executable, "-c", f"import {__name__} as b; b.child_main()", str(child_reads), str(child_writes)]
        command += [self.fn.__module__, self.fn.__qualname__]
        self._process = subprocess.Popen(
            command, pass_fds=(child_reads, child_writes), env=env, stdin=subprocess.DEVNULL
        )
        os.close(child_reads)
        os.close(child_writes)
        self._send, self._receive = Connection(parent_writes, readable=False), Connection(parent_reads, writable=False)
        try:
            self._send.send(self.warmup)
            self._receive.recv()  # "ready": start-up and imports are not part of any record's budget
        except (EOFError, OSError):
            raise WorkFailed(f"the extraction process did not start (exit code {self._stop()})") from None

    def _stop(self) -> int | None:
        """Kill the child (if any); its exit code."""
        code = None
        if self._process is not None:
            self._process.kill()
            code = self._process.wait()
        for connection in (self._send, self._receive):
            if connection is not None:
                connection.close()
        self._process = self._send = self._receive = None
        return code


_BUDGETED: dict[tuple, Budgeted] = {}


def budgeted(fn: Callable[..., Any], seconds: float, warmup: tuple = ()) -> Budgeted:
    """One child per function and budget per process (a Spark Python worker reuses it across tasks)."""
    key = (fn.__module__, fn.__qualname__, seconds)
    if key not in _BUDGETED:
        _BUDGETED[key] = Budgeted(fn, seconds, warmup)
    return _BUDGETED[key]


def _serve(receive: Connection, send: Connection, fn: Callable[..., Any]) -> None:
    """The child's loop: the warm-up call, then one call per message until the parent goes away."""
    fn(*receive.recv())
    send.send(("ready", None))
    while True:
        try:
            args = receive.recv()
        except (EOFError, OSError):
            return
        try:
            send.send(("ok", fn(*args)))
        except Exception as exc:  # any failure of the work is reported, the child goes on
            send.send(("error", f"{type(exc).__name__}: {exc}"[:300]))


def child_main() -> None:
    """The child process: ``python -c ... READ_FD WRITE_FD MODULE FUNCTION``."""
    read_fd, write_fd, module, name = sys.argv[1:5]
    _serve(
        Connection(int(read_fd), writable=False),
        Connection(int(write_fd), readable=False),
        getattr(importlib.import_module(module), name),
    )
