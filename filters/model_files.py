"""Loading trained model files with errors that say which job makes them."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import CorpusError

log = logging.getLogger(__name__)


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
    warn_without_out_of_distribution_figure(models)
    return checked


def out_of_distribution_warning(path: str | os.PathLike) -> str | None:
    """Why the model's card does not say how it ranks real pages, or None when it does.

    A held-out split of the training sources flatters a model (books told from spam); the
    training jobs also score it on hand-labelled real web pages and write that ROC AUC to
    ``model_card.json`` beside the model, under ``languages.<lang>.out_of_distribution``.
    """
    path = Path(path).resolve()
    card_path = path.parent / "model_card.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        entries = [e for e in card["languages"].values() if Path(e["model"]).name == path.name]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"model {path} has no readable model card ({card_path}): its quality on real pages is unknown"
    figure = (entries[0].get("out_of_distribution") or {}).get("roc_auc") if entries else None
    if figure is None:
        return (
            f"model card {card_path} has no out-of-distribution ROC AUC for {path.name} (a figure on real, "
            f"hand-labelled pages, not only on a split of its training sources): retrain it with its job"
        )
    return None


_warned: set[str] = set()


def warn_without_out_of_distribution_figure(models: dict[str, str]) -> None:
    """Log a warning, once per process, for every model whose card lacks the out-of-distribution
    figure (a stage checks its models in preflight and again when it runs)."""
    for path in models.values():
        message = out_of_distribution_warning(path)
        if message and message not in _warned:
            _warned.add(message)
            log.warning(message)
