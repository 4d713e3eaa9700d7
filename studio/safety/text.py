"""Text helpers shared by the crisis gate and the output guard: normalization, sentences, negation.

The detectors match rules per sentence, so that a negation or a "this was years ago" in one
sentence cannot silence a present-tense statement in another.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
# Typed without apostrophes: "dont", "wasnt", "cant" -> "don't", "wasn't", "can't".
_APOSTROPHE_LESS = re.compile(
    r"\b(dont|cant|wont|didnt|isnt|wouldnt|doesnt|wasnt|werent|havent|hasnt|couldnt|shouldnt|arent|aint)\b"
)
# Compiled once: the lint normalizes every turn of a dataset, and re.sub(str, ...) looks its pattern up each time.
_I_AM = re.compile(r"\b(?:im|i am)\b")
_I_HAVE = re.compile(r"\bive\b")
_SPACES = re.compile(r"[ \t]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|\s+-\s+")
# A clause boundary ends the reach of a negation: "I'm not okay, and I want to die" is not negated.
_CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:but|and|so|because|though|although|yet)\b")
_NEGATION = re.compile(
    r"\b(?:not|never|no longer|nor|don't|do not|doesn't|didn't|did not|won't|will not|wouldn't|would not|"
    r"isn't|is not|aren't|wasn't|am not|i'm not|can't|cannot|shouldn't|should not|mustn't|no need to|"
    r"without|avoid|refrain from)\b"
)
# Words between a negation and the match that mean the negation is about something else:
# "I don't know why I want to die" still says "I want to die".
_INTERRUPTERS = re.compile(
    r"\b(?:know|knew|why|if|whether|sure|care|think|thinking|thought|feel|felt|remember|understand|mind|say|said|"
    r"tell|told|that|what|how|when|who|see|believe|realize|realise|admit|help|stand|stop|shake|get rid of)\b"
)


def normalize(text: str) -> str:
    """Lowercase, unify quotes/dashes and whitespace; keeps accents (non-English rules need them)."""
    text = unicodedata.normalize("NFC", text or "").translate(_QUOTES).lower()
    text = _I_AM.sub("i'm", text)
    text = _APOSTROPHE_LESS.sub(_with_apostrophe, text)
    text = _I_HAVE.sub("i've", text)
    return _SPACES.sub(" ", text).strip()


def _with_apostrophe(found: re.Match) -> str:
    return found.group(1)[:-1] + "'t"


def sentences(text: str) -> list[str]:
    """Split normalized text into sentences (non-empty, stripped)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def negated(sentence: str, start: int, window: int = 5) -> bool:
    """True when a negation governs the match starting at ``start`` within the same clause.

    Looks at most ``window`` words back; an interrupter word ("know", "why", "if", ...) between
    the negation and the match breaks the link.
    """
    prefix = sentence[max(0, start - 80) : start]
    clause = _CLAUSE_BREAK.split(prefix)[-1]
    words = clause.split()[-window:]
    tail = " ".join(words)
    found = list(_NEGATION.finditer(tail))
    if not found:
        return False
    last = found[-1]
    between = tail[last.end() :]
    return not _INTERRUPTERS.search(between)


@dataclass(frozen=True)
class Span:
    """Where a rule matched: the sentence and the matched words (for human-readable reasons)."""

    sentence: str
    start: int
    end: int

    @property
    def words(self) -> str:
        return self.sentence[self.start : self.end]


def clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
