"""Train one KenLM n-gram model per language on reference text, prepared exactly as the
perplexity stage prepares documents (``filters.perplexity.prepare_lines``).

    python jobs/train_kenlm.py --config configs/sample.yaml
    spark-submit jobs/train_kenlm.py --config configs/sample.yaml

Reads the ``train.kenlm`` section; needs ``lmplz`` and ``build_binary`` (built by
``scripts/build_kenlm.sh``); writes ``<output_dir>/<lang>.binary`` and ``model_card.json`` /
``model_card.md`` beside them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # spark-submit runs the file, not the package

from model_training.kenlm import card_markdown, train_kenlm_models  # noqa: E402
from pipeline.cli import load_train_section  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    cfg = load_train_section(argv, "kenlm", __doc__.splitlines()[0])
    card = train_kenlm_models(cfg)
    print(card_markdown(card))
    print(f"model card: {Path(cfg.output_dir) / 'model_card.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
