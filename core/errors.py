"""The error base class: every mistake a user can fix (a config key, an input file, a model file, an
output folder) is a ``CorpusError``, which the CLI reports as one ``error:`` line without a traceback.
Anything else is a bug and keeps its traceback."""

from __future__ import annotations

import re


class CorpusError(Exception):
    """A problem the user can fix; the message names the file, line or config key and the fix."""


class ConfigError(CorpusError, ValueError):
    """A config problem, reported with the file and the dotted key."""


class InputError(CorpusError, ValueError):
    """An input path or file that cannot be used as given."""


# A CorpusError raised inside a Spark task reaches the driver as a Spark exception whose text holds the
# worker's traceback; ``core.spark_batches`` marks its message so the driver can report it as one line.
_EXECUTOR_MARK = "corpus-error@"
_EXECUTOR_MESSAGE = re.compile(re.escape(_EXECUTOR_MARK) + r"(?P<host>[^:\s]*): (?P<message>[^\n]*)")


class ExecutorError(CorpusError, RuntimeError):
    """A ``CorpusError`` raised on an executor (a model missing there, say), as the driver reports it."""


def mark_executor_error(exc: CorpusError, host: str) -> ExecutorError:
    """``exc`` as raised on executor ``host``, its message on one line so the driver can find it."""
    return ExecutorError(f"{_EXECUTOR_MARK}{host}: {' '.join(str(exc).split())}")


def executor_error(exc: BaseException) -> ExecutorError | None:
    """The ``CorpusError`` an executor raised, recovered from the Spark exception that carries its
    traceback (None when ``exc`` holds none)."""
    found = None
    for match in _EXECUTOR_MESSAGE.finditer(str(exc)):
        found = match  # the last one: Spark may repeat the first lines of a traceback
    if found is None:
        return None
    return ExecutorError(f"{found['message']} (on executor host {found['host'] or '?'})")
