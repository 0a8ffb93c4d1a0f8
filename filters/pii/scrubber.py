"""``PiiScrubber``: runs one shared ``PiiAnalyzer`` over batches of documents.

Each document is routed (language, whether NER runs) and cut into segments; each segment is
pre-screened with the pattern entities' own regexes, so presidio is asked only for entities
that have a candidate; spaCy runs batched and only where English NER is wanted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from presidio_analyzer.nlp_engine import NlpArtifacts

from filters.pii.engine import PiiAnalyzer
from filters.pii.entities import DEFAULT_RULES, NER_ENTITIES, PATTERN_ENTITIES, EntityRule, check_rules
from filters.pii.name_sentences import blank_nameless_sentences
from filters.pii.replace import Finding, Scrubbed, anonymize, resolve_overlaps
from filters.pii.segments import blank_long_runs, guess_script_language, may_be_english, split_segments

# What English NER reads: the sentences that may hold a kept name or a listed place (name_sentences), or all.
NER_READS = ("name_sentences", "all")


@dataclass
class _Job:
    """One segment's presidio call: where it came from, its route and the entities to look for."""

    doc: int
    offset: int
    segment: str
    language: str
    ner: bool
    entities: list[str]


class PiiScrubber:
    """Find and anonymise PII in batches of documents with one shared ``PiiAnalyzer``."""

    def __init__(
        self,
        analyzer: PiiAnalyzer,
        rules: Mapping[str, EntityRule] | None = None,
        salt: bytes = b"",
        ner_languages: Sequence[str] = ("en",),
        max_segment_chars: int = 20_000,
        nlp_batch_size: int = 32,
        ner_reads: str = "name_sentences",
    ):
        self.analyzer = analyzer
        self.rules = {**DEFAULT_RULES, **(rules or {})}
        check_rules(self.rules, salt)
        self.salt = salt
        self.ner_languages = tuple(ner_languages)
        self.max_segment_chars = max_segment_chars
        self.nlp_batch_size = nlp_batch_size
        if ner_reads not in NER_READS:
            raise ValueError(f"pii: ner_reads {ner_reads!r}: known: {', '.join(NER_READS)}")
        self.ner_reads = ner_reads
        self.places_change_text = self.rules["LOCATION"].mode in ("replace", "mask", "hash")
        self.pattern_entities = [e for e in PATTERN_ENTITIES if self.rules[e].mode != "off"]
        self.ner_entities = [e for e in NER_ENTITIES if self.rules[e].mode != "off"]

    def route(self, text: str, lang: str | None) -> tuple[str, bool]:
        """(presidio language key, whether NER runs) for one document."""
        if lang:
            zh = lang.lower().startswith("zh")
            wants_ner = zh or lang in self.ner_languages or "en" in self.ner_languages and may_be_english(text)
        else:
            guess = guess_script_language(text)
            zh, wants_ner = guess == "zh", guess is not None
        language = "zh" if zh else "en"
        return language, bool(wants_ner and self.ner_entities and self.analyzer.ner_for(language))

    def find(self, texts: Sequence[str | None], langs: Sequence[str | None] | None = None) -> list[list[Finding]]:
        """Findings at or above each entity's ``min_score`` (overlaps not yet resolved)."""
        jobs = []
        for i, text in enumerate(texts):
            if not text:
                continue
            language, ner = self.route(text, langs[i] if langs is not None else None)
            for offset, segment in split_segments(text, self.max_segment_chars):
                entities = [e for e in self.pattern_entities if self.analyzer.has_candidate(e, segment)]
                if ner:
                    entities += self.ner_entities
                if entities:
                    jobs.append(_Job(i, offset, segment, language, ner, entities))
        findings: list[list[Finding]] = [[] for _ in texts]
        for job, artifacts in zip(jobs, self._artifacts(jobs), strict=False):
            results = self.analyzer.engine.analyze(
                text=job.segment, language=job.language, entities=job.entities, nlp_artifacts=artifacts
            )
            findings[job.doc] += [
                Finding(r.entity_type, r.start + job.offset, r.end + job.offset, r.score)
                for r in results
                if r.score >= self.rules[r.entity_type].min_score
            ]
        return findings

    def _artifacts(self, jobs: list[_Job]) -> list[NlpArtifacts]:
        """spaCy over the jobs that want English NER, batched, with only the ``ner`` component; a job
        whose text for spaCy is blank (no sentence that may hold a name) gets no spaCy pass at all."""
        out: list[NlpArtifacts | None] = [None] * len(jobs)
        groups: dict[tuple[str, bool], list[int]] = defaultdict(list)
        for k, job in enumerate(jobs):
            groups[(job.language, job.ner)].append(k)
        engine = self.analyzer.nlp_engine
        for (language, ner), indices in groups.items():
            nlp = engine.nlp[language]
            empty = engine.artifacts(nlp.make_doc(""), language)
            if not (ner and engine.ner_model[language]):  # patterns and jieba: no spaCy tokens needed at all
                texts = {}
            else:
                texts = {k: text for k in indices if not (text := self._ner_text(jobs[k].segment)).isspace()}
            for k in indices:
                out[k] = empty
            if texts:
                disable = [name for name in nlp.pipe_names if name != "ner"]
                docs = nlp.pipe(texts.values(), disable=disable, batch_size=self.nlp_batch_size)
                for k, doc in zip(texts, docs, strict=True):
                    out[k] = engine.artifacts(doc, language)
                engine.reload_if_grown(language)
        return out

    def _ner_text(self, segment: str) -> str:
        """What spaCy reads of a segment: by default only its sentences that may hold a name or a place."""
        if self.ner_reads == "name_sentences":
            segment = blank_nameless_sentences(segment, all_places=self.places_change_text)
        return blank_long_runs(segment)

    def scrub(self, texts: Sequence[str | None], langs: Sequence[str | None] | None = None) -> list[Scrubbed]:
        """Anonymised texts and per-entity span counts, one per input (None text stays None)."""
        return [
            Scrubbed(text, {}) if not text else anonymize(text, resolve_overlaps(found), self.rules, self.salt)
            for text, found in zip(texts, self.find(texts, langs), strict=False)
        ]
