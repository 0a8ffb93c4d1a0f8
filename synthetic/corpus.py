"""The realistic corpus: four sources in seven languages with planted duplicates, boilerplate, spam,
PII and malformed records, and the truth about each, so tests and benchmarks can score the stages."""

from __future__ import annotations

import json
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

from synthetic.documents import SHINGLE_SIZE, SOURCE_SPECS, Composer, Doc, shingle_jaccard
from synthetic.material import between
from synthetic.truth import Place, TruthWriter
from synthetic.vocabulary import Vocabulary, load_vocabulary
from synthetic.writers import ShardWriter

GENERATOR_VERSION = 1
_RECENT_DOCS = 2000  # plain documents kept as the originals of later copies

# Cumulative weights drawn with ``rng.choices``: computed once, not per record.
_SOURCES = list(SOURCE_SPECS)
_SOURCE_WEIGHTS = list(accumulate(spec[0] for spec in SOURCE_SPECS.values()))
_LANG_CHOICES = {s: (list(spec[1]), list(accumulate(spec[1].values()))) for s, spec in SOURCE_SPECS.items()}

# Malformed records in turn: (kind, quarantine reason, the record after its doc_id, from a sentence).
_MALFORMED: list[tuple[str, str, Callable[[str], bytes]]] = [
    ("invalid_json", "ingest:invalid_json", lambda s: b'"text": "' + s.encode("utf-8") + b"\n"),
    ("invalid_utf8", "ingest:invalid_utf8", lambda s: b'"text": "' + s[:20].encode("utf-8") + b'\xff\xfe tail"}\n'),
    ("text_not_string", "ingest:text_not_string", lambda s: b'"text": 12345}\n'),
    ("missing_text", "ingest:missing_text", lambda s: b'"body": ' + json.dumps(s).encode() + b"}\n"),
    ("nul_bytes", "ingest:nul_bytes", lambda s: b'"text": ' + json.dumps(s + "\x00" + s).encode() + b"}\n"),
]


@dataclass(frozen=True)
class _Params:
    """The rates and sizes of ``generate_corpus``, in the order the manifest lists them."""

    docs_per_shard: int
    exact_dup_rate: float
    near_dup_rate: float
    near_dup_edit_rates: tuple[float, ...]
    boilerplate_rate: float
    spam_rate: float
    pii_rate: float
    malformed_rate: float
    compresslevel: int

    def manifest(self) -> dict[str, Any]:
        return {**asdict(self), "near_dup_edit_rates": list(self.near_dup_edit_rates), "shingle_size": SHINGLE_SIZE}


class _Drawn(NamedTuple):
    """A document to write and, for a copy, what it copies (``base`` and ``edit_rate`` for near copies)."""

    doc: Doc
    copy_of: str | None = None
    base: Doc | None = None
    edit_rate: float | None = None


class _CorpusBuilder:
    """Draws, writes and notes one record after another.

    Every draw comes from one seeded RNG in a fixed order, so the bytes depend only on the seed,
    the parameters and the vocabulary: keep the order of the draws when changing anything here.
    """

    def __init__(self, out: Path, seed: int, params: _Params, vocab: Vocabulary, truth: TruthWriter):
        self.out, self.params, self.vocab, self.truth = out, params, vocab, truth
        self.rng = random.Random(seed)
        self.composer = Composer(vocab, self.rng, params.pii_rate, params.boilerplate_rate)
        self.writers = {
            source: ShardWriter(out, source, params.docs_per_shard, params.compresslevel) for source in SOURCE_SPECS
        }
        self.recent: deque[tuple[str, Doc]] = deque(maxlen=_RECENT_DOCS)
        self.docs_by_source: Counter[str] = Counter()
        self.text_bytes = 0

    def add(self, index: int) -> None:
        """Record ``index``: malformed, a copy of a recent document, spam or a new document."""
        name = f"d{index:09d}"
        source = self.rng.choices(_SOURCES, cum_weights=_SOURCE_WEIGHTS)[0]
        langs, weights = _LANG_CHOICES[source]
        lang = self.rng.choices(langs, cum_weights=weights)[0]
        roll = self.rng.random()
        if roll < self.params.malformed_rate:
            self._add_malformed(index, name, source, lang)
        else:
            self._add_document(name, source, self._draw(source, lang, roll - self.params.malformed_rate))

    def _add_malformed(self, index: int, name: str, source: str, lang: str) -> None:
        kind, reason, rest = _MALFORMED[index % len(_MALFORMED)]
        record = b'{"doc_id": "' + name.encode() + b'", ' + rest(self.rng.choice(self.vocab.sentences[lang]))
        self.truth.note("malformed", self._write(name, source, record), malformed=kind, reason=reason)

    def _draw(self, source: str, lang: str, roll: float) -> _Drawn:
        """The document that ``roll`` (uniform in [0, 1 - malformed_rate)) selects."""
        p, rng = self.params, self.rng
        if self.recent and roll < p.exact_dup_rate:
            copy_of, doc = self.recent[rng.randrange(len(self.recent))]
            return _Drawn(doc, copy_of)
        if self.recent and roll < p.exact_dup_rate + p.near_dup_rate:
            copy_of, base = self.recent[rng.randrange(len(self.recent))]
            edit_rate = rng.choice(p.near_dup_edit_rates)
            return _Drawn(self.composer.near_duplicate(base, edit_rate), copy_of, base, edit_rate)
        if roll < p.exact_dup_rate + p.near_dup_rate + p.spam_rate:
            return _Drawn(self.composer.spam(lang))
        return _Drawn(self.composer.document(source, lang))

    def _add_document(self, name: str, source: str, drawn: _Drawn) -> None:
        doc, text = drawn.doc, drawn.doc.text
        url = None
        if source in ("web", "wiki"):
            url = f"https://{source}{between(self.rng, 1, 500)}.example/{doc.lang}/{name}"
        record = json.dumps({"doc_id": name, "lang": doc.lang, "url": url, "text": text}, ensure_ascii=False)
        place = self._write(name, source, record.encode("utf-8") + b"\n")
        self.docs_by_source[source] += 1
        self.text_bytes += len(text.encode("utf-8"))
        self._note_facts(place, drawn, text)
        if drawn.base is None and not doc.pii and not doc.boilerplate:
            self.recent.append((drawn.copy_of or name, doc))

    def _note_facts(self, place: Place, drawn: _Drawn, text: str) -> None:
        doc, note = drawn.doc, self.truth.note
        if drawn.base is not None:
            note(
                "near_duplicate",
                place,
                of=drawn.copy_of,
                edit_rate=drawn.edit_rate,
                jaccard=round(shingle_jaccard(drawn.base.text, text, doc.lang), 4),
            )
        elif drawn.copy_of is not None:
            note("exact_duplicate", place, of=drawn.copy_of)
        if doc.spam:
            note("spam", place, lang=doc.lang)
        if doc.boilerplate:
            note("boilerplate", place, lines=doc.boilerplate, text=[doc.lines[i] for i in doc.boilerplate])
        if doc.pii:
            note("pii", place, spans=doc.pii_spans())

    def _write(self, name: str, source: str, record: bytes) -> Place:
        return Place(name, source, *self.writers[source].write(record))

    def close(self) -> dict[str, Any]:
        """Close the shards; return the summary's counts of documents, bytes and files."""
        for writer in self.writers.values():
            writer.close()
        files = [(s, f) for s, w in self.writers.items() for f in w.files]
        return {
            "documents": sum(self.docs_by_source.values()),
            "documents_by_source": dict(sorted(self.docs_by_source.items())),
            "text_bytes": self.text_bytes,
            "jsonl_bytes": sum(w.raw_bytes for w in self.writers.values()),
            "files": [f"{s}/{f}" for s, f in files],
            "file_bytes": sum((self.out / s / f).stat().st_size for s, f in files),
        }


def source_configs(out_dir: str | Path, meta_fields: Iterable[str] = ("doc_id", "lang")) -> list[dict[str, Any]]:
    """Pipeline `sources` entries for a generated corpus (ids in truth.jsonl assume these paths)."""
    out = Path(out_dir)
    return [
        {
            "name": source,
            "format": "jsonl",
            "paths": [str(out / source / "*.jsonl.gz")],
            "meta_fields": list(meta_fields),
        }
        for source in SOURCE_SPECS
    ]


def generate_corpus(
    out_dir: str | Path,
    n_docs: int,
    seed: int = 0,
    *,
    docs_per_shard: int = 10_000,
    exact_dup_rate: float = 0.04,
    near_dup_rate: float = 0.04,
    near_dup_edit_rates: tuple[float, ...] = (0.01, 0.02, 0.04, 0.08),
    boilerplate_rate: float = 0.4,
    spam_rate: float = 0.03,
    pii_rate: float = 0.1,
    malformed_rate: float = 0.001,
    compresslevel: int = 1,
    shared_dir: str | None = None,
) -> dict[str, Any]:
    """Write ``n_docs`` records (documents plus malformed ones) under ``out_dir``; return a summary.

    Layout: ``<source>/<source>-NNNNN.jsonl.gz`` (fields doc_id, lang, url, text), ``truth.jsonl``
    (one line per planted fact: exact_duplicate, near_duplicate, boilerplate, spam, pii, malformed;
    each names doc, file, line and the pipeline id under :func:`source_configs`) and
    ``manifest.json`` (this summary without ``sources``, the pipeline entries for the shards,
    so that it does not depend on ``out_dir``). PII spans are code-point offsets into ``text``; generated
    text is already NFC with single spaces, so the normalize stage keeps offsets valid.
    """
    params = _Params(
        docs_per_shard,
        exact_dup_rate,
        near_dup_rate,
        near_dup_edit_rates,
        boilerplate_rate,
        spam_rate,
        pii_rate,
        malformed_rate,
        compresslevel,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab = load_vocabulary(shared_dir)
    with open(out / "truth.jsonl", "w", encoding="utf-8") as handle:
        truth = TruthWriter(handle)
        builder = _CorpusBuilder(out, seed, params, vocab, truth)
        for index in range(n_docs):
            builder.add(index)
    counts = builder.close()
    summary = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "records": n_docs,
        **counts,
        "planted": dict(sorted(truth.planted.items())),
        "vocabulary": vocab.origin,
        "params": params.manifest(),
    }
    (out / "manifest.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {**summary, "sources": source_configs(out)}
