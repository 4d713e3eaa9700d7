"""De-identification of conversations before they enter a dataset (feedback inbox, "real conversations" imports).

Presidio finds the details (see :mod:`studio.data.deid_engine`) and Presidio's anonymizer replaces each
with a typed placeholder. The scheme, within one conversation:

- ``<TYPE_N>`` with TYPE one of PERSON, PHONE, EMAIL, ADDRESS, DATE, AGE, ID, URL and N counting the
  distinct values of that type from 1, in order of first appearance.
- The same value gets the same placeholder everywhere in the conversation. Values compare case- and
  space-insensitively; phone numbers and IDs by their digits and letters only. A name that is part of an
  earlier name (or the other way round) reuses it: "Maya Ortiz" then "Maya" are both ``<PERSON_1>``.
- Placeholders already in the text are left alone and numbering continues after them, so a second pass
  changes nothing.
- Never replaced: the verified crisis numbers (``known_numbers()``) and resource sites, medicine names,
  ketamine-therapy and clinical vocabulary, years on their own, ages under 90, cities and organisations.
"""

from __future__ import annotations

import re
from functools import lru_cache

from studio.data.deid_engine import DEFAULT_SETUP, Span, find_spans
from studio.data.deid_rules import PLACEHOLDER_RE, TYPES

Mapping = dict[str, str]  # "TYPE:normalized value" -> "<TYPE_N>"


def deidentify_text(text: str, mapping: Mapping, setup: str = DEFAULT_SETUP) -> tuple[str, list[dict]]:
    """Replace the details in one text; ``mapping`` carries placeholders across the texts of one conversation.

    Returns the new text and one ``{"type", "placeholder", "start", "end"}`` per replacement (offsets in
    the original text; the original value is never returned).
    """
    return _apply(text, find_spans([text], setup)[0], mapping)


def deidentify_conversation(messages: list[dict], setup: str = DEFAULT_SETUP) -> tuple[list[dict], list[dict]]:
    """Copies of the messages with every detail replaced, placeholders consistent across the turns."""
    texts = [m.get("content") if isinstance(m.get("content"), str) else "" for m in messages]
    spans = find_spans(texts, setup)
    mapping: Mapping = {}
    for text in texts:
        _seed(text, mapping)
    out, replacements = [], []
    for message, text, found in zip(messages, texts, spans, strict=True):
        if not isinstance(message.get("content"), str):
            out.append(dict(message))
            continue
        new_text, done = _apply(text, found, mapping)
        out.append({**message, "content": new_text})
        replacements += [{**r, "message": len(out) - 1} for r in done]
    return out, replacements


def deidentify_rows(rows: list[dict], setup: str = DEFAULT_SETUP) -> tuple[list[dict], dict]:
    """Chat rows (``{"messages": [...]}``) de-identified one conversation at a time.

    The report is ``{"rows", "replaced", "by_type": {TYPE: count}}``.
    """
    find_spans([m.get("content") for r in rows for m in r.get("messages", []) if isinstance(m.get("content"), str)], setup)
    by_type = dict.fromkeys(TYPES, 0)
    out = []
    for row in rows:
        messages, replacements = deidentify_conversation(row.get("messages", []), setup)
        out.append({**row, "messages": messages})
        for r in replacements:
            by_type[r["type"]] += 1
    return out, {"rows": len(rows), "replaced": sum(by_type.values()), "by_type": by_type}


def _apply(text: str, spans: tuple[Span, ...], mapping: Mapping) -> tuple[str, list[dict]]:
    if not spans:
        return text, []
    _seed(text, mapping)
    replacements = [{"type": s.type, "placeholder": _placeholder(s.type, text[s.start:s.end], mapping),
                     "start": s.start, "end": s.end} for s in spans]
    return _anonymize(text, spans, mapping), replacements


def _anonymize(text: str, spans: tuple[Span, ...], mapping: Mapping) -> str:
    from presidio_anonymizer import RecognizerResult
    from presidio_anonymizer.entities import OperatorConfig

    operators = {t: OperatorConfig("custom", {"lambda": lambda value, t=t: _placeholder(t, value, mapping)}) for t in {s.type for s in spans}}
    results = [RecognizerResult(s.type, s.start, s.end, s.score) for s in spans]
    return _anonymizer().anonymize(text=text, analyzer_results=results, operators=operators).text


@lru_cache(maxsize=1)
def _anonymizer():
    """Presidio's AnonymizerEngine holds no per-call state, so one is shared by all threads."""
    from presidio_anonymizer import AnonymizerEngine

    return AnonymizerEngine()


def _key(kind: str, value: str) -> str:
    if kind in ("PHONE", "ID"):
        norm = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    elif kind == "PERSON":
        norm = " ".join(re.sub(r"['’]s$", "", value).lower().split())
    else:
        norm = " ".join(value.lower().split()).rstrip(".,")
    return f"{kind}:{norm}"


def _placeholder(kind: str, value: str, mapping: Mapping) -> str:
    key = _key(kind, value)
    if key not in mapping:
        reuse = _same_person(key, mapping) if kind == "PERSON" else ""
        mapping[key] = reuse or f"<{kind}_{_next_number(kind, mapping)}>"
    return mapping[key]


def _same_person(key: str, mapping: Mapping) -> str:
    """An earlier name sharing all of this one's words, or all of whose words this one has."""
    words = set(key.split(":", 1)[1].split())
    for other, placeholder in mapping.items():
        if other.startswith("PERSON:") and placeholder:
            other_words = set(other.split(":", 1)[1].split())
            if words <= other_words or other_words <= words:
                return placeholder
    return ""


def _next_number(kind: str, mapping: Mapping) -> int:
    numbers = [int(m.group("n")) for v in mapping.values() if v and (m := PLACEHOLDER_RE.fullmatch(v))
               and m.group("type") == kind and m.group("n")]
    return max(numbers, default=0) + 1


def _seed(text: str, mapping: Mapping) -> None:
    """Register placeholders already present, so new ones number after them."""
    for m in PLACEHOLDER_RE.finditer(text):
        if m.group("type") in TYPES:
            mapping.setdefault(f"{m.group('type')}:{m.group(0).lower()}", m.group(0))
