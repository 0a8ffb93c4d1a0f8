"""Train one fastText quality classifier per language: reference text (high quality) versus
raw web text (low quality), with a held-out split, metrics and a model card.

    python jobs/train_quality_classifier.py --config configs/sample.yaml
    spark-submit jobs/train_quality_classifier.py --config configs/sample.yaml

Reads the ``train.quality_classifier`` section; writes ``<output_dir>/<lang>.bin`` and
``model_card.json`` / ``model_card.md`` beside them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # spark-submit runs the file, not the package

from model_training.quality_classifier import card_markdown, train_quality_classifiers  # noqa: E402
from pipeline.cli import load_train_section  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    cfg = load_train_section(argv, "quality_classifier", __doc__.splitlines()[0])
    card = train_quality_classifiers(cfg)
    print(card_markdown(card))
    print(f"model card: {Path(cfg.output_dir) / 'model_card.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
