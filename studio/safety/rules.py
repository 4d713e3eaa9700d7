"""A small rule engine: regexes with negation, suppressing contexts and downgrading contexts.

Both the crisis gate and the output guard are tables of ``Rule`` objects run by ``match``. Each
hit keeps the rule and the words it matched, so callers can say exactly why they fired; each
silenced match is kept too (``Suppressed``) so "why did this not fire" has an answer as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.safety.text import Span, clip, negated


@dataclass(frozen=True)
class Context:
    """A sentence-level pattern that changes how a rule counts (e.g. "used to", "in the session").

    ``unless`` is checked on the whole message: when it matches, the context does not apply
    ("I used to cut myself ... and last night I did it again"). With ``clause`` set, only the
    clause around the match counts: "ask your doctor, but taking one more spray is fine" is advice.
    """

    name: str
    pattern: re.Pattern
    unless: re.Pattern | None = None
    clause: bool = False

    def applies(self, sentence: str, message: str, at: int = 0) -> re.Match | None:
        found = self.pattern.search(_clause_around(sentence, at) if self.clause else sentence)
        if found and self.unless is not None and self.unless.search(message):
            return None
        return found


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    level: str
    pattern: re.Pattern
    label: str
    negatable: bool = True
    suppress: tuple[str, ...] = ()
    downgrade: tuple[str, ...] = ()
    scope: str = "sentence"  # "message": matched across sentences ("I'm at the bridge. I keep looking down.")


@dataclass(frozen=True)
class Hit:
    rule: Rule
    span: Span
    level: str
    note: str = ""

    def reason(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"rule {self.rule.id} [{self.rule.category}]: {self.rule.label}: '{clip(self.span.words, 60)}'{note}"


@dataclass(frozen=True)
class Suppressed:
    rule: Rule
    span: Span
    why: str

    def reason(self) -> str:
        return f"rule {self.rule.id} matched '{clip(self.span.words, 60)}' but {self.why}"


def rule(id: str, category: str, level: str, pattern: str, label: str, **options) -> Rule:
    """Compile one rule; patterns run on normalized (lowercased) text."""
    return Rule(id, category, level, re.compile(pattern), label, **options)


def context(name: str, pattern: str, unless: str | None = None, clause: bool = False) -> Context:
    return Context(name, re.compile(pattern), re.compile(unless) if unless else None, clause)


_CLAUSE_SPLIT = re.compile(r",? but |; |however|,? though ")


def _clause_around(sentence: str, at: int) -> str:
    start = 0
    for cut in _CLAUSE_SPLIT.finditer(sentence):
        if cut.start() > at:
            return sentence[start : cut.start()]
        start = cut.end()
    return sentence[start:]


_ANY_OF: dict[int, tuple[tuple[Rule, ...], re.Pattern | None]] = {}
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def _any_of(rules: tuple[Rule, ...]) -> re.Pattern | None:
    """One alternation of every sentence-scope pattern: a sentence it misses cannot match any rule.

    Python's ``re`` pays a fixed cost per ``search`` call, and most sentences match nothing, so one
    search per sentence replaces dozens (about 2.4x faster over a dataset). Named groups become plain
    groups (names may repeat across rules); with back-references or inline flags the rules run one by one.
    """
    cached = _ANY_OF.get(id(rules))
    if cached is not None and cached[0] is rules:
        return cached[1]
    patterns = [r.pattern.pattern for r in rules if r.scope == "sentence"]
    exact = patterns and not any(re.search(r"\\[1-9]|\(\?P=|\(\?[aiLmsux]", p) for p in patterns)
    combined = re.compile("|".join(f"(?:{_NAMED_GROUP.sub('(?:', p)})" for p in patterns)) if exact else None
    _ANY_OF[id(rules)] = (rules, combined)
    return combined


_VERDICTS: dict[int, dict[str, bool]] = {}  # per alternation (by id: hashing a long pattern costs more than the search)
_MAX_VERDICTS = 65536


def _may_match(any_of: re.Pattern, sentence: str) -> bool:
    """Cached by sentence: datasets repeat sentences across rows (greetings, refusals, crisis wording)."""
    verdicts = _VERDICTS.setdefault(id(any_of), {})
    found = verdicts.get(sentence)
    if found is None:
        if len(verdicts) >= _MAX_VERDICTS:
            verdicts.clear()
        found = verdicts[sentence] = any_of.search(sentence) is not None
    return found


def match(
    rules: tuple[Rule, ...], sentences: list[str], contexts: dict[str, Context], message: str
) -> tuple[list[Hit], list[Suppressed]]:
    """Run every rule on every sentence (or once on the message); the first match per place is enough."""
    hits: list[Hit] = []
    silenced: list[Suppressed] = []
    any_of = _any_of(rules)
    if any_of is not None:
        sentences = [s for s in sentences if _may_match(any_of, s)]
    places = [(s, r) for s in sentences for r in rules if r.scope == "sentence"]
    places += [(message, r) for r in rules if r.scope == "message"]
    for sentence, r in places:
        found = r.pattern.search(sentence)
        if not found:
            continue
        span = Span(sentence, found.start(), found.end())
        if r.negatable and _negated(sentence, found):
            silenced.append(Suppressed(r, span, "it is negated"))
            continue
        why = _context_hit(r.suppress, sentence, contexts, message, found.start())
        if why:
            silenced.append(Suppressed(r, span, f"the sentence reads as {why}"))
            continue
        lower = _context_hit(r.downgrade, sentence, contexts, message, found.start())
        if lower and r.level == "urgent":
            hits.append(Hit(r, span, "concern", f"lowered to concern: {lower}"))
        else:
            hits.append(Hit(r, span, r.level))
    return hits, silenced


def _negated(sentence: str, found: re.Match) -> bool:
    """Negation before the match, or before its ``act`` group ("voices ... you don't have to obey them")."""
    if negated(sentence, found.start()):
        return True
    act = found.groupdict().get("act")
    return act is not None and negated(sentence, found.start("act"))


def _context_hit(names: tuple[str, ...], sentence: str, contexts: dict[str, Context], message: str, at: int) -> str:
    for name in names:
        found = contexts[name].applies(sentence, message, at)
        if found:
            return f"{name.replace('_', ' ')} ('{clip(found.group(0), 40)}')"
    return ""
