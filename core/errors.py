"""The error base class: every mistake a user can fix (a config key, an input file, a model file, an
output folder) is a ``CorpusError``, which the CLI reports as one ``error:`` line without a traceback.
Anything else is a bug and keeps its traceback."""

from __future__ import annotations


class CorpusError(Exception):
    """A problem the user can fix; the message names the file, line or config key and the fix."""


class ConfigError(CorpusError, ValueError):
    """A config problem, reported with the file and the dotted key."""


class InputError(CorpusError, ValueError):
    """An input path or file that cannot be used as given."""
