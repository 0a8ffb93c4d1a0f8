"""Train one KenLM n-gram model per language on reference text, prepared exactly as the
perplexity stage prepares documents (``filters.perplexity.prepare_lines``).

The training logic; `jobs/train_kenlm.py` is its entry script (usage and outputs there).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from filters.perplexity import document_perplexity, load_kenlm_model, prepare_lines
from model_training.evaluation import (
    DevsetConfig,
    LabelledDocument,
    devset_entry,
    load_configured_devset,
    ood_auc_cell,
)
from model_training.inputs import read_texts, write_model_card

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BIN_DIR = PROJECT_ROOT / ".cache" / "kenlm" / "bin"

# English without the Debian Reference: with it, real pages full of menus and lists looked
# "fluent" (development-set AUC 0.62 with it, 0.72 without; docs/quality_labels.md).
DEFAULT_LANGUAGES = {
    "en": ["data/train/en/gutenberg.txt.gz"],
    "zh": ["data/train/zh/novels.txt.gz", "data/train/zh/debian-reference.txt.gz"],
}


class KenlmTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    languages: dict[str, list[str]] = Field(
        default_factory=lambda: {k: v[:] for k, v in DEFAULT_LANGUAGES.items()},
        description="reference files (.txt[.gz] or .jsonl[.gz]) per language code",
    )
    output_dir: str = Field("models/kenlm", description="models are written as <output_dir>/<lang>.binary")
    order: int = Field(5, ge=2, description="n-gram order (cc_net uses 5)")
    memory: str = Field("20%", description="lmplz -S: memory for sorting (percent of RAM or a size like 1G)")
    discount_fallback: bool = Field(True, description="lmplz --discount_fallback, needed on small corpora")
    heldout_fraction: float = Field(0.05, ge=0, lt=1, description="share of lines held out to report perplexity")
    seed: int = Field(0, description="seeds the held-out split")
    devset: DevsetConfig | None = Field(
        default_factory=DevsetConfig,
        description="hand-labelled real pages to report out-of-distribution ROC AUC on (never trained on); null: none",
    )
    bin_dir: str | None = Field(None, description="folder of lmplz/build_binary; default .cache/kenlm/bin, then PATH")

    @model_validator(mode="after")
    def _languages_present(self):
        if not self.languages or not all(self.languages.values()):
            raise ValueError("train.kenlm.languages: give at least one language with at least one input file")
        return self


def kenlm_tool(name: str, bin_dir: str | None) -> str:
    """Path of a KenLM command-line tool, or a clear error saying how to build it."""
    candidate = (Path(bin_dir) if bin_dir else DEFAULT_BIN_DIR) / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    if bin_dir is None and shutil.which(name):
        return shutil.which(name)
    raise FileNotFoundError(
        f"KenLM tool `{name}` not found at {candidate}; "
        f"build it with `scripts/build_kenlm.sh` (or set train.kenlm.bin_dir)"
    )


def run_tool(command: list[str]) -> str:
    """Run a KenLM tool; on failure raise with its stderr."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stderr


def negative_perplexity(model, text: str) -> float | None:
    """Higher for more fluent text, so that ROC AUC reads as for the quality score."""
    perplexity = document_perplexity(model, text)
    return None if perplexity is None else -perplexity


def train_language(
    lang: str,
    paths: list[str],
    cfg: KenlmTrainConfig,
    output_dir: Path,
    devset: list[LabelledDocument] | None = None,
) -> dict:
    """Prepare the text, run lmplz and build_binary, and return the model-card entry."""
    lmplz, build_binary = kenlm_tool("lmplz", cfg.bin_dir), kenlm_tool("build_binary", cfg.bin_dir)
    options = ["-o", str(cfg.order), "-S", cfg.memory] + (["--discount_fallback"] if cfg.discount_fallback else [])
    lines = [line for path in paths for text in read_texts(path) for line in prepare_lines(text)]
    random.Random(f"{cfg.seed}:{lang}").shuffle(lines)
    n_heldout = round(len(lines) * cfg.heldout_fraction)
    heldout, train = lines[:n_heldout], lines[n_heldout:]
    if not train:
        raise ValueError(f"train.kenlm.languages.{lang}: no text in {paths}")

    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    model_path = output_dir / f"{lang}.binary"
    with tempfile.TemporaryDirectory(dir=output_dir) as tmp:
        text_path, arpa_path, binary_path = Path(tmp) / "train.txt", Path(tmp) / "lm.arpa", Path(tmp) / "lm.binary"
        text_path.write_text("\n".join(train) + "\n", encoding="utf-8")
        run_tool([lmplz, *options, "-T", tmp, "--text", str(text_path), "--arpa", str(arpa_path)])
        run_tool([build_binary, str(arpa_path), str(binary_path)])
        os.replace(binary_path, model_path)
    seconds = time.perf_counter() - started

    model = load_kenlm_model(str(model_path))  # evaluate exactly what the stage will load
    return {
        "model": str(model_path),
        "model_bytes": model_path.stat().st_size,
        "order": model.order,
        "train_seconds": round(seconds, 2),
        "data": {
            "inputs": [{"path": p, "bytes": Path(p).stat().st_size} for p in paths],
            "train_lines": len(train),
            "train_tokens": sum(line.count(" ") + 1 for line in train),
            "vocabulary": len({token for line in train for token in line.split(" ")}),
            "heldout_lines": len(heldout),
        },
        "heldout_perplexity": round(document_perplexity(model, "\n".join(heldout)), 2) if heldout else None,
        "lmplz_options": " ".join(options),
        "out_of_distribution": devset_entry(devset, lang, cfg.devset, lambda text: negative_perplexity(model, text)),
    }


def card_markdown(card: dict) -> str:
    """The model card as Markdown."""
    params = ", ".join(f"{k}={v}" for k, v in card["parameters"].items())
    rows = [
        "| lang | order | train lines | train tokens | vocabulary | held-out lines | held-out perplexity "
        "| ROC AUC real pages (high/low; half B) | model bytes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for lang, e in card["languages"].items():
        d = e["data"]
        rows.append(
            f"| {lang} | {e['order']} | {d['train_lines']:,} | {d['train_tokens']:,} | {d['vocabulary']:,} | "
            f"{d['heldout_lines']:,} | {e['heldout_perplexity']} | {ood_auc_cell(e.get('out_of_distribution'))} | "
            f"{e['model_bytes']:,} |"
        )
    inputs = [f"- {lang}: {', '.join(i['path'] for i in e['data']['inputs'])}" for lang, e in card["languages"].items()]
    return (
        "KenLM modified Kneser-Ney n-gram models on cc_net-normalised text (lower case, no accents, digits "
        "to 0, unified punctuation), tokenised by `filters.perplexity.tokenize` (words; single CJK "
        "characters). Perplexity as cc_net: 10^(-sum log10 p / tokens incl. </s>) over lines. Held-out "
        "perplexity is on lines of the training sources; real pages: ROC AUC of -perplexity as a quality "
        "score on the hand-labelled development set of real web pages (`data/quality/`, never trained on), all of "
        "them and half B (by a hash of the page id; training recipes are chosen on half A).\n\n"
        + "\n".join(rows)
        + "\n\n## Data\n\n"
        + "\n".join(inputs)
        + f"\n\n## Parameters\n\n{params}\n"
    )


def train_kenlm_models(cfg: KenlmTrainConfig) -> dict:
    """Train every configured language; write the models and the model card; return the card."""
    output_dir = Path(cfg.output_dir)
    devset = load_configured_devset(cfg.devset)
    card = {
        "job": "jobs/train_kenlm.py",
        "parameters": cfg.model_dump(exclude={"languages"}),
        "languages": {
            lang: train_language(lang, paths, cfg, output_dir, devset) for lang, paths in cfg.languages.items()
        },
    }
    write_model_card(output_dir, "KenLM perplexity models", card, card_markdown(card))
    return card
