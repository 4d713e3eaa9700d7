"""Sentence-aware chunking with overlap, measured in the embedder's own tokens.

Chunks never cross a section (so page and heading stay exact), never cut a sentence unless that
one sentence is longer than the window, and repeat the last sentences of the previous chunk (up to
``overlap_tokens``) so an answer that straddles a boundary is still found whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from studio.rag.parsers import Section

# Counts tokens for many strings at once (one tokenizer call is much faster than many).
TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class ChunkConfig:
    max_tokens: int = 200
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise ValueError("max_tokens must be at least 16 tokens.")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError("overlap_tokens must be 0 or more and under half of max_tokens.")


@dataclass(frozen=True)
class Chunk:
    text: str
    index: int
    page: int | None = None
    heading: str = ""


_ABBREV = re.compile(r"\b(e\.g|i\.e|etc|vs|Dr|Mr|Mrs|Ms|St|No|approx|incl)\.$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences, list items and paragraph lines, in order; never empty strings."""
    return [sentence for sentence, _ in _units(text)]


def _units(text: str) -> list[tuple[str, bool]]:
    """(sentence, starts a new line) pairs, so chunks can keep line breaks between list items."""
    units: list[tuple[str, bool]] = []
    for para in re.split(r"\n\s*\n", text):
        for line in _logical_lines(para):
            pieces = [p for p in _sentences_in(line) if p]
            units.extend((piece, i == 0) for i, piece in enumerate(pieces))
    return units


def _logical_lines(para: str) -> list[str]:
    """Join wrapped lines of a paragraph, but keep list items and short heading-like lines apart."""
    lines: list[str] = []
    for raw in para.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if lines and not _LIST_ITEM.match(line) and not _ends_block(lines[-1]):
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
    return lines


def _ends_block(line: str) -> bool:
    # A short line without final punctuation (a heading, a label) stands alone.
    return len(line) < 60 and not line.endswith((".", ",", ";", ":"))


def _sentences_in(line: str) -> list[str]:
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(line):
        candidate = line[start : match.start()].strip()
        if _ABBREV.search(candidate):
            continue  # "e.g. Something" is not a sentence end
        pieces.append(candidate)
        start = match.end()
    pieces.append(line[start:].strip())
    return pieces


def _split_long(sentence: str, count: TokenCounter, limit: int) -> list[str]:
    """Cut one over-long sentence at word boundaries into pieces of at most ``limit`` tokens."""
    words = sentence.split()
    if len(words) <= 1:
        return [sentence]  # a single giant "word" is left to the embedder's truncation
    pieces, current = [], []
    for word in words:
        trial = current + [word]
        if current and count([" ".join(trial)])[0] > limit:
            pieces.append(" ".join(current))
            current = [word]
        else:
            current = trial
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk_sections(sections: Sequence[Section], count: TokenCounter, config: ChunkConfig | None = None) -> list[Chunk]:
    config = config or ChunkConfig()
    chunks: list[Chunk] = []
    for section in sections:
        pairs = _units(section.text)
        sizes = count([sentence for sentence, _ in pairs]) if pairs else []
        units: list[tuple[str, int]] = []
        for (sentence, new_line), size in zip(pairs, sizes, strict=True):
            sep = "\n" if new_line else " "
            if size > config.max_tokens:
                parts = _split_long(sentence, count, config.max_tokens)
                units.extend((sep + part, n) for part, n in zip(parts, count(parts), strict=True))
            else:
                units.append((sep + sentence, size))
        for text in _pack(units, config):
            chunks.append(Chunk(text=text, index=len(chunks), page=section.page, heading=section.heading))
    return chunks


def _pack(units: list[tuple[str, int]], config: ChunkConfig) -> list[str]:
    """Greedy packing; each new chunk starts with the previous chunk's tail (the overlap).

    ``units`` are (separator + sentence, tokens); the separator does not count as a token.
    """
    out: list[str] = []
    current: list[tuple[str, int]] = []
    fresh = 0  # units in ``current`` that are not overlap: a chunk of only overlap is never emitted
    for unit in units:
        total = sum(size for _, size in current)
        if current and fresh and total + unit[1] > config.max_tokens:
            out.append(_join(current))
            current = _tail(current, config.overlap_tokens, config.max_tokens - unit[1])
            fresh = 0
        current.append(unit)
        fresh += 1
    if current and fresh:
        out.append(_join(current))
    return out


def _join(units: list[tuple[str, int]]) -> str:
    # Each unit carries its separator (" " or a line break) in front; the chunk starts clean.
    return "".join(text for text, _ in units).strip()


def _tail(units: list[tuple[str, int]], overlap: int, room: int) -> list[tuple[str, int]]:
    tail: list[tuple[str, int]] = []
    budget = min(overlap, room)
    for text, size in reversed(units):
        if size > budget:
            break
        tail.insert(0, (text, size))
        budget -= size
    return tail
