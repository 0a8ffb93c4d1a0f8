"""Benchmark: English quality-classifier recipes on the hand-labelled development set (issue 17).

    nice -n 19 .venv/bin/python bench/bench_quality_recipes.py [--seeds 3] [--only NAME ...]

Each recipe (training inputs and fastText settings) is trained with the project's trainer
(``model_training.quality_classifier.train_language``: chunking, held-out split, 11 threads) once
per seed and scored on the English pages of ``data/quality/``: ROC AUC on all 183 pages and on
the halves A and B (``model_training.evaluation.devset_half``; recipes are chosen on A). The
table gives the mean over the seeds. Rows ``+ KenLM`` combine the classifier with
``models/kenlm/en.binary`` by a rule fixed before looking at the pages: the mean of the two
scores' ranks among the pages (``make models`` first). Training inputs other than the bundled ``data/train/`` files come
from ``../shared/data`` and never from a development-set page.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from filters.mail import clean_mail  # noqa: E402
from filters.perplexity import document_perplexity, load_kenlm_model  # noqa: E402
from filters.quality_model import load_quality_model, quality_score  # noqa: E402
from model_training.evaluation import devset_half, load_devset, roc_auc  # noqa: E402
from model_training.quality_classifier import ClassifierData, QualityClassifierTrainConfig, train_language  # noqa: E402

BOOKS, SPAM, LEIPZIG = (
    str(ROOT / "data/train/en" / name) for name in ("gutenberg.txt.gz", "spam.jsonl.gz", "leipzig.txt.gz")
)
SHIPPED = {"lr": 0.1, "word_ngrams": 1}
BEFORE = {"lr": 0.5, "word_ngrams": 2}


def ham_bodies() -> list[str]:
    """SpamAssassin ham: the body without headers, quotes and signatures, at least 200 characters."""
    with gzip.open(SHARED / "web/spamassassin_emails.jsonl.gz", "rt", encoding="utf-8") as handle:
        mails = [json.loads(line) for line in handle]
    bodies = (clean_mail(m["text"]).text for m in mails if m["label"] == "ham")
    return [body[:3000] for body in bodies if len(body) >= 200]


def cc_net_documents() -> list[str]:
    paths = sorted((SHARED / "web/cc_net_sample").glob("*.jsonl.gz"))
    return [json.loads(line)["text"] for path in paths for line in gzip.open(path, "rt", encoding="utf-8")]


def warc_boilerplate(devset_lines: set[str]) -> list[str]:
    """Per WARC page, the visible lines that are not main content (menus, footers, link lists);
    pages of a site that has a development-set page (creativecommons.org) and lines that occur
    in any development-set page are left out."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree
    from warcio.archiveiterator import ArchiveIterator

    from filters.html_text import decode_page

    blocks, seen = [], set()
    for path in sorted((SHARED / "warc").glob("sample-*.warc.gz")) + [SHARED / "warc/whirlwind.warc.gz"]:
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                headers = record.http_headers
                content_type = (headers.get_header("Content-Type") if headers else None) or ""
                url = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type != "response" or "html" not in content_type or url in seen:
                    continue
                seen.add(url)
                tree = HTMLTree.parse(decode_page(record.content_stream().read(), content_type, True))
                main = {" ".join(x.split()) for x in extract_plain_text(tree, main_content=True).split("\n")}
                visible = (" ".join(x.split()) for x in extract_plain_text(tree, main_content=False).split("\n"))
                lines = [x for x in visible if x and x not in main and x not in devset_lines]
                if "creativecommons.org" not in url and sum(map(len, lines)) >= 200:
                    blocks.append("\n".join(lines))
    return blocks


def write_jsonl(folder: Path, name: str, texts: list[str]) -> str:
    path = folder / f"{name}.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"text": t}) + "\n" for t in texts)
    return str(path)


def recipes(inputs: dict[str, str]) -> list[tuple[str, list[str], list[str], dict]]:
    """(name, positive files, negative files, trainer settings); ``inputs`` names the files made here."""
    books_leipzig = [BOOKS, LEIPZIG]
    return [
        ("books vs spam (before)", [BOOKS], [SPAM], BEFORE),
        ("books+Leipzig vs spam", books_leipzig, [SPAM], BEFORE),
        ("books+ham vs spam", [BOOKS, inputs["ham"]], [SPAM], BEFORE),
        ("books+cc_net vs spam", [BOOKS, inputs["cc_net"]], [SPAM], BEFORE),
        ("Leipzig vs spam", [LEIPZIG], [SPAM], BEFORE),
        ("books+Leipzig+cc_net vs spam", [*books_leipzig, inputs["cc_net"]], [SPAM], BEFORE),
        ("books vs spam, lr 0.1", [BOOKS], [SPAM], {"lr": 0.1, "word_ngrams": 2}),
        ("books vs spam, lr 0.1, unigrams", [BOOKS], [SPAM], SHIPPED),
        ("books+Leipzig vs spam, lr 0.1", books_leipzig, [SPAM], {"lr": 0.1, "word_ngrams": 2}),
        ("books+Leipzig vs spam, lr 0.1, unigrams (shipped)", books_leipzig, [SPAM], SHIPPED),
        ("books+Leipzig vs spam, lr 0.05, unigrams", books_leipzig, [SPAM], {"lr": 0.05, "word_ngrams": 1}),
        ("books+Leipzig vs spam, lr 0.2, unigrams", books_leipzig, [SPAM], {"lr": 0.2, "word_ngrams": 1}),
        ("books+Leipzig vs spam, lr 0.1, word triples", books_leipzig, [SPAM], {"lr": 0.1, "word_ngrams": 3}),
        ("shipped, epoch 10", books_leipzig, [SPAM], {**SHIPPED, "epoch": 10}),
        ("shipped, epoch 50", books_leipzig, [SPAM], {**SHIPPED, "epoch": 50}),
        ("shipped, dim 16", books_leipzig, [SPAM], {**SHIPPED, "dim": 16}),
        ("shipped, dim 64", books_leipzig, [SPAM], {**SHIPPED, "dim": 64}),
        ("shipped, minCount 1", books_leipzig, [SPAM], {**SHIPPED, "min_count": 1}),
        ("shipped, minCount 5", books_leipzig, [SPAM], {**SHIPPED, "min_count": 5}),
        ("shipped, chunks of 3,000 characters", books_leipzig, [SPAM], {**SHIPPED, "doc_chars": 3000}),
        ("shipped, chunks of 12,000 characters", books_leipzig, [SPAM], {**SHIPPED, "doc_chars": 12000}),
        ("shipped + cc_net positives", [*books_leipzig, inputs["cc_net"]], [SPAM], SHIPPED),
        ("shipped + WARC boilerplate negatives", books_leipzig, [SPAM, inputs["warc"]], SHIPPED),
        ("books vs spam + WARC boilerplate, lr 0.1, unigrams", [BOOKS], [SPAM, inputs["warc"]], SHIPPED),
    ]


def aucs(devset, scores: dict[str, float]) -> dict[str, float]:
    """ROC AUC on all pages and on each half."""
    out = {}
    for name, keep in (
        ("all", lambda d: True),
        ("A", lambda d: devset_half(d.id) == "A"),
        ("B", lambda d: devset_half(d.id) == "B"),
    ):
        pages = [d for d in devset if keep(d)]
        high = [scores[d.id] for d in pages if d.high_quality]
        out[name] = roc_auc(high, [scores[d.id] for d in pages if not d.high_quality])
    return out


def rank_mean(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    """The mean of each page's rank under the two scores (the fixed combination rule)."""

    def ranks(scores: dict[str, float]) -> dict[str, float]:
        return {key: rank for rank, key in enumerate(sorted(scores, key=scores.get))}

    r1, r2 = ranks(first), ranks(second)
    return {key: (r1[key] + r2[key]) / 2 for key in first}


def measure(devset, positives, negatives, settings, seeds, folder, extra: Callable | None = None) -> list[dict]:
    """Per seed: the AUCs of the trained classifier (and of ``extra(scores)`` when given)."""
    rows = []
    for seed in range(seeds):
        data = ClassifierData(positives=positives, negatives=negatives)
        cfg = QualityClassifierTrainConfig(
            languages={"en": data}, output_dir=str(folder), devset=None, seed=seed, **settings
        )
        train_language("en", data, cfg, folder)
        model = load_quality_model(str(folder / "en.bin"))
        scores = {d.id: quality_score(model, d.text) for d in devset}
        rows.append({"model": aucs(devset, scores), **({"combined": aucs(devset, extra(scores))} if extra else {})})
    return rows


def mean_cells(rows: list[dict], key: str) -> str:
    return " | ".join(f"{sum(r[key][h] for r in rows) / len(rows):.3f}" for h in ("all", "A", "B"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="recipe names to run (default: all)")
    args = parser.parse_args()
    everything = load_devset(ROOT / "data/quality/devset.jsonl.gz", ROOT / "data/quality/labels.tsv")
    devset = [d for d in everything if d.lang == "en"]
    lm = load_kenlm_model(str(ROOT / "models/kenlm/en.binary"))
    fluency = {d.id: -math.log(document_perplexity(lm, d.text)) for d in devset}
    print(f"KenLM models/kenlm/en.binary alone: {' | '.join(f'{k} {v:.3f}' for k, v in aucs(devset, fluency).items())}")
    devset_lines = {" ".join(x.split()) for d in everything for x in d.text.split("\n")}
    print("| recipe | settings | all | A | B | + KenLM (rank mean): all | A | B |\n|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = {
            "ham": write_jsonl(folder, "ham", ham_bodies()),
            "cc_net": write_jsonl(folder, "cc_net", cc_net_documents()),
            "warc": write_jsonl(folder, "warc", warc_boilerplate(devset_lines)),
        }
        for name, positives, negatives, settings in recipes(inputs):
            if args.only and name not in args.only:
                continue
            rows = measure(devset, positives, negatives, settings, args.seeds, folder, lambda s: rank_mean(s, fluency))
            shown = ", ".join(f"{k} {v}" for k, v in settings.items())
            print(f"| {name} | {shown} | {mean_cells(rows, 'model')} | {mean_cells(rows, 'combined')} |", flush=True)


if __name__ == "__main__":
    main()
