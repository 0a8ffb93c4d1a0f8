"""Loading trained model files with errors that say which job makes them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import CorpusError


class ModelFileError(CorpusError, RuntimeError):
    """A model file is missing or cannot be loaded; the message names the file and the fix."""


def load_model_file(path: str | os.PathLike, loader: Callable[[str], Any], kind: str, job: str) -> Any:
    """Load ``path`` with ``loader``; a missing or unreadable file raises ``ModelFileError``.

    ``kind`` names the model ("fastText quality"), ``job`` the script that trains it
    (``jobs/train_quality_classifier.py``).
    """
    path = Path(path)
    command = f"`python {job} --config <pipeline.yaml>`"
    if not path.is_file():
        raise ModelFileError(f"{kind} model not found: {path}; train it with {command}")
    try:
        return loader(str(path))
    except Exception as err:  # the model libraries raise ValueError/OSError/RuntimeError
        raise ModelFileError(
            f"{kind} model {path} could not be loaded ({err}); it is corrupt or not a "
            f"{kind} model: retrain it with {command}"
        ) from err


def check_model_files(models: dict[str, str], loader: Callable[[str], Any]) -> dict[str, tuple[str, str]]:
    """Load every model of ``lang -> path`` once (on the driver), so a missing or corrupt file
    fails before any distributed work. Returns ``lang -> (absolute path, cache key)``; the key
    changes when the file is replaced, so a worker never keeps a stale model."""
    checked = {}
    for lang, path in models.items():
        absolute = Path(path).resolve()
        loader(str(absolute))
        stat = absolute.stat()
        checked[lang] = (str(absolute), f"{absolute}:{stat.st_mtime_ns}:{stat.st_size}")
    return checked
