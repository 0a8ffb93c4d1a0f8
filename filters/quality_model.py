"""fastText quality classifier: text preparation, model loading, scoring, Pareto sampling.

Training (``jobs/train_quality_classifier.py``) and scoring prepare text with the same
``prepare_text``: lower case, tokens from ``filters.tokens`` (single CJK
characters, runs of letters/digits, single symbols) joined by spaces, so line breaks
become spaces.
"""

from __future__ import annotations

import hashlib
import math

from filters.model_files import load_model_file
from filters.tokens import joined_tokens

QUALITY_JOB = "jobs/train_quality_classifier.py"
HIGH_QUALITY_LABEL = "__label__hq"
LOW_QUALITY_LABEL = "__label__lq"


def prepare_text(text: str) -> str:
    """Text as the classifier sees it: lower-cased tokens separated by single spaces."""
    return joined_tokens(text, lower=True)


def training_line(text: str, high_quality: bool) -> str:
    """One line of fastText supervised training input."""
    label = HIGH_QUALITY_LABEL if high_quality else LOW_QUALITY_LABEL
    return f"{label} {prepare_text(text)}"


def _load_fasttext_quality(path: str):
    import fasttext

    model = fasttext.load_model(path)
    labels = set(model.get_labels())
    if labels != {HIGH_QUALITY_LABEL, LOW_QUALITY_LABEL}:
        raise ValueError(f"labels are {sorted(labels)}, expected {HIGH_QUALITY_LABEL} and {LOW_QUALITY_LABEL}")
    return model


def load_quality_model(path: str):
    """Load a quality classifier or raise ``ModelFileError`` naming the training job."""
    return load_model_file(path, _load_fasttext_quality, "fastText quality", QUALITY_JOB)


def quality_score(model, text: str) -> float:
    """Probability of the high-quality label.

    Uses the binding's low-level ``f.predict`` (fasttext 0.9.3's ``predict()`` fails under
    NumPy 2), with the trailing newline ``predict()`` adds (it becomes the ``</s>`` token, as in
    training). ``k=-1`` returns every label with its probability. fastText adds 1e-5 inside
    its log, so a probability can exceed 1 by that much: it is clipped.
    """
    line = prepare_text(text) + "\n"
    probabilities = {label: p for p, label in model.f.predict(line, -1, 0.0, "replace")}
    return min(probabilities[HIGH_QUALITY_LABEL], 1.0)


def uniform_from_id(doc_id: str, seed: int) -> float:
    """A deterministic number in [0, 1) from a document id and a seed."""
    digest = hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pareto_draw(doc_id: str, seed: int, alpha: float) -> float:
    """NumPy's ``pareto(alpha)`` (Lomax) by inversion, ``(1 - u) ** (-1 / alpha) - 1``, with ``u``
    drawn from the document id and the seed."""
    u = uniform_from_id(doc_id, seed)
    return math.exp(-math.log1p(-u) / alpha) - 1.0


def pareto_keep(doc_id: str, seed: int, score: float, alpha: float) -> bool:
    """GPT-3's rule: keep when ``pareto(alpha) > 1 - score``, so a document is kept with probability
    ``(2 - score) ** -alpha``."""
    return pareto_draw(doc_id, seed, alpha) > 1.0 - score
