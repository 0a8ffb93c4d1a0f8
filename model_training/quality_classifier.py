"""Train one fastText quality classifier per language: reference text (high quality) versus
low-quality text (spam; for Chinese, mostly untranslated pages), with a held-out split, the
ROC AUC on the hand-labelled development set of real web pages, and a model card.

The training logic; `jobs/train_quality_classifier.py` is its entry script (usage and outputs there).
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from filters.quality_model import load_quality_model, quality_score, training_line
from model_training.evaluation import (
    DevsetConfig,
    LabelledDocument,
    devset_entry,
    load_configured_devset,
    ood_auc_cell,
    roc_auc,
)
from model_training.inputs import read_texts, split_document, write_model_card


class ClassifierData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    positives: list[str] = Field(min_length=1, description="high-quality reference files (.txt[.gz] or .jsonl[.gz])")
    negatives: list[str] = Field(min_length=1, description="low-quality web files (.txt[.gz] or .jsonl[.gz])")


# Measured on the development set (docs/quality_labels.md): English web pages as negatives
# taught the model "web = bad" (AUC 0.63 on real pages, and they are the pages it is judged
# on); the Debian Reference as a positive taught "commands and lists = good" (0.65 with it,
# 0.77 without); Leipzig news and web sentences beside the books teach "running text" rather
# than "fiction" (0.793 -> 0.802 at lr 0.1, word unigrams; bench/results/quality_devset_tries.md).
DEFAULT_LANGUAGES = {
    "en": ClassifierData(
        positives=["data/train/en/gutenberg.txt.gz", "data/train/en/leipzig.txt.gz"],
        negatives=["data/train/en/spam.jsonl.gz"],
    ),
    "zh": ClassifierData(
        positives=["data/train/zh/novels.txt.gz", "data/train/zh/debian-reference.txt.gz"],
        negatives=["data/train/zh/handbook-partial.jsonl.gz"],
    ),
}


class QualityClassifierTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    languages: dict[str, ClassifierData] = Field(
        default_factory=lambda: dict(DEFAULT_LANGUAGES), description="training inputs per language code"
    )
    output_dir: str = Field("models/quality", description="models are written as <output_dir>/<lang>.bin")
    doc_chars: int = Field(
        6000,
        gt=0,
        description="documents are cut into chunks of at most this many characters (page-sized chunks rank "
        "real pages better than 1,000-character ones: development-set AUC 0.77 against 0.66)",
    )
    max_docs_per_class: int = Field(2000, gt=0, description="seeded sample of at most this many chunks per class")
    heldout_fraction: float = Field(0.2, gt=0, lt=1, description="share of each class held out for metrics")
    threshold: float = Field(0.5, ge=0, le=1, description="held-out text scoring at or above it counts as high quality")
    seed: int = Field(0, description="seeds sampling, the split and fastText")
    devset: DevsetConfig | None = Field(
        default_factory=DevsetConfig,
        description="hand-labelled real pages to report out-of-distribution ROC AUC on (never trained on); null: none",
    )
    epoch: int = Field(25, gt=0, description="fastText epochs")
    lr: float = Field(
        0.1,
        gt=0,
        description="fastText learning rate (0.5 fits the few hundred training chunks to saturated 0/1 scores "
        "that rank real pages worse: development-set AUC 0.78 against 0.79 at 0.1 with word pairs)",
    )
    word_ngrams: int = Field(
        1,
        ge=1,
        description="fastText wordNgrams (at lr 0.1, word pairs learn the training sources' phrases: AUC 0.79 with 2, 0.80 with 1)",
    )
    dim: int = Field(32, gt=0, description="fastText vector size")
    bucket: int = Field(200_000, gt=0, description="fastText n-gram hash buckets (model size ~ bucket*dim*4 bytes)")
    min_count: int = Field(2, ge=1, description="fastText minCount: rarer words are dropped")
    threads: int = Field(
        11,
        ge=11,
        description="fastText threads; fasttext 0.9.3 initialises only threads/10 of the input matrix "
        "and leaves the rest as uninitialised memory (random NaN failures), so >= 11",
    )

    @model_validator(mode="after")
    def _languages_present(self):
        if not self.languages:
            raise ValueError("train.quality_classifier.languages: at least one language is needed")
        return self


def load_class_documents(paths: list[str], cfg: QualityClassifierTrainConfig, rng: random.Random) -> list[str]:
    """All chunks of the files, sampled down to ``max_docs_per_class``."""
    chunks = [chunk for path in paths for text in read_texts(path) for chunk in split_document(text, cfg.doc_chars)]
    if len(chunks) > cfg.max_docs_per_class:
        chunks = rng.sample(chunks, cfg.max_docs_per_class)
    return chunks


def split_heldout(documents: list[str], fraction: float, rng: random.Random) -> tuple[list[str], list[str]]:
    """Shuffle and split into (train, held-out); both keep at least one document."""
    if len(documents) < 2:
        raise ValueError(f"need at least 2 documents per class for a held-out split, got {len(documents)}")
    shuffled = documents[:]
    rng.shuffle(shuffled)
    n_heldout = min(max(1, round(len(shuffled) * fraction)), len(shuffled) - 1)
    return shuffled[n_heldout:], shuffled[:n_heldout]


def classification_metrics(positive_scores: list[float], negative_scores: list[float], threshold: float) -> dict:
    """Precision/recall/F1 of the high-quality label at ``threshold``, accuracy and ROC AUC."""
    tp = sum(s >= threshold for s in positive_scores)
    fp = sum(s >= threshold for s in negative_scores)
    fn = len(positive_scores) - tp
    tn = len(negative_scores) - fp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "accuracy": round((tp + tn) / (tp + fp + fn + tn), 4),
        "roc_auc": round(roc_auc(positive_scores, negative_scores), 4),
        "threshold": threshold,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def train_language(
    lang: str,
    data: ClassifierData,
    cfg: QualityClassifierTrainConfig,
    output_dir: Path,
    devset: list[LabelledDocument] | None = None,
) -> dict:
    """Train, evaluate and save one language's classifier; return its model-card entry."""
    import fasttext

    rng = random.Random(f"{cfg.seed}:{lang}")
    positives = load_class_documents(data.positives, cfg, rng)
    negatives = load_class_documents(data.negatives, cfg, rng)
    pos_train, pos_heldout = split_heldout(positives, cfg.heldout_fraction, rng)
    neg_train, neg_heldout = split_heldout(negatives, cfg.heldout_fraction, rng)
    lines = [training_line(text, True) for text in pos_train] + [training_line(text, False) for text in neg_train]
    rng.shuffle(lines)

    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    model_path = output_dir / f"{lang}.bin"
    with tempfile.TemporaryDirectory(dir=output_dir) as tmp:
        train_path = Path(tmp) / "train.txt"
        train_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            model = fasttext.train_supervised(
                input=str(train_path),
                epoch=cfg.epoch,
                lr=cfg.lr,
                wordNgrams=cfg.word_ngrams,
                dim=cfg.dim,
                bucket=cfg.bucket,
                minCount=cfg.min_count,
                thread=cfg.threads,
                seed=cfg.seed,
                verbose=0,
            )
        except RuntimeError as err:  # fastText reports divergence as "Encountered NaN."
            raise RuntimeError(
                f"fastText training for language {lang!r} failed ({err}); lower "
                f"train.quality_classifier.lr (now {cfg.lr})"
            ) from err
        model.save_model(str(Path(tmp) / "model.bin"))
        os.replace(Path(tmp) / "model.bin", model_path)
    seconds = time.perf_counter() - started

    model = load_quality_model(str(model_path))  # evaluate exactly what the stage will load
    metrics = classification_metrics(
        [quality_score(model, t) for t in pos_heldout], [quality_score(model, t) for t in neg_heldout], cfg.threshold
    )
    return {
        "model": str(model_path),
        "model_bytes": model_path.stat().st_size,
        "vocabulary": len(model.get_words()),
        "train_seconds": round(seconds, 2),
        "data": {
            "positives": [{"path": p, "bytes": Path(p).stat().st_size} for p in data.positives],
            "negatives": [{"path": p, "bytes": Path(p).stat().st_size} for p in data.negatives],
            "documents": {
                "positive_train": len(pos_train),
                "positive_heldout": len(pos_heldout),
                "negative_train": len(neg_train),
                "negative_heldout": len(neg_heldout),
            },
            "characters": {"positive": sum(map(len, positives)), "negative": sum(map(len, negatives))},
        },
        "heldout_metrics": metrics,
        "out_of_distribution": devset_entry(devset, lang, cfg.devset, lambda text: quality_score(model, text)),
    }


def card_markdown(card: dict) -> str:
    """The model card as Markdown."""
    params = ", ".join(f"{k}={v}" for k, v in card["parameters"].items())
    rows = [
        "| lang | train docs (hq/lq) | held-out docs (hq/lq) | precision | recall | F1 | ROC AUC held-out "
        "| ROC AUC real pages (high/low; half B) | model bytes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for lang, entry in card["languages"].items():
        docs, m = entry["data"]["documents"], entry["heldout_metrics"]
        rows.append(
            f"| {lang} | {docs['positive_train']}/{docs['negative_train']} | "
            f"{docs['positive_heldout']}/{docs['negative_heldout']} | {m['precision']} | {m['recall']} | "
            f"{m['f1']} | {m['roc_auc']} | {ood_auc_cell(entry.get('out_of_distribution'))} | "
            f"{entry['model_bytes']:,} |"
        )
    inputs = [
        f"- {lang}: high quality {', '.join(d['path'] for d in e['data']['positives'])}; "
        f"low quality {', '.join(d['path'] for d in e['data']['negatives'])}"
        for lang, e in card["languages"].items()
    ]
    return (
        f"fastText supervised classifiers, labels `__label__hq` (reference text) and `__label__lq` (spam, "
        f"untranslated pages).\nScore used by the pipeline: probability of `__label__hq`. Held-out metrics: a split "
        f"of the training sources (in distribution: it only says the model tells those sources apart), label hq, "
        f"threshold {card['parameters']['threshold']}. Real pages: ROC AUC on the hand-labelled development set "
        f"of real web pages (`data/quality/`, criteria in `docs/quality_labels.md`; never trained on), the "
        f"figure that says how well the score ranks what the pipeline will see; half B: the same on one half of "
        f"those pages (by a hash of the page id; recipes are compared on the other half, A).\n\n"
        + "\n".join(rows)
        + "\n\n## Data\n\n"
        + "\n".join(inputs)
        + f"\n\n## Parameters\n\n{params}\n"
    )


def train_quality_classifiers(cfg: QualityClassifierTrainConfig) -> dict:
    """Train every configured language; write the models and the model card; return the card."""
    output_dir = Path(cfg.output_dir)
    devset = load_configured_devset(cfg.devset)
    card = {
        "job": "jobs/train_quality_classifier.py",
        "parameters": cfg.model_dump(exclude={"languages"}),
        "languages": {
            lang: train_language(lang, data, cfg, output_dir, devset) for lang, data in cfg.languages.items()
        },
    }
    write_model_card(output_dir, "Quality classifiers", card, card_markdown(card))
    return card
