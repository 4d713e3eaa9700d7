"""Build the starter set's knowledge-grounded (RAG) conversations from the real retrieval path.

The rows must look exactly like what Chat sends the model, so that a tuned model learns to use and
cite the passages: the system prompt plus ``REFERENCE_RULES``, and a user turn built by
``studio.rag.prompt.user_turn`` from the passages that the studio's own hybrid retrieval returns for
the question over ``examples/knowledge``. Only the answers are written by hand (``rag_answers.jsonl``).

Passages that write out a phone number are skipped (the next-best passage takes their place): the
seed documents are the US clinic's, and the starter set must render for every region without
teaching a UK model "988". Answers name resources through placeholders such as ``{crisis_line}``.

    PYTHONPATH=. python examples/dataset-src/build_rag_rows.py briefs   # questions -> passages (rag_briefs.json)
    PYTHONPATH=. python examples/dataset-src/build_rag_rows.py rows     # briefs + answers -> rag rows (JSONL, stdout)

Both steps are deterministic for a given knowledge folder; ``rows`` reads the stored briefs so the
training rows never change unless someone rebuilds the briefs on purpose.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTIONS, BRIEFS, ANSWERS = HERE / "rag_questions.jsonl", HERE / "rag_briefs.json", HERE / "rag_answers.jsonl"
PASSAGES = 3  # Chat retrieves up to 4; three keep a row inside the CPU preset's 1024 tokens
CANDIDATES = 10  # retrieved per question, before passages with phone numbers are skipped
SYSTEM = (
    "You are a warm, careful AI companion for people in ketamine-assisted therapy. You are an AI companion, not a "
    "therapist or medical provider. You help people prepare for sessions, reflect and integrate afterwards, learn "
    "what to expect, and cope day to day. You never give dosing or medication advice and never diagnose: you warmly "
    "refer those questions to the person's prescribing clinician or care team. If someone may be in danger, you share "
    "crisis resources right away: {crisis_line}, or call {emergency_number} in an emergency."
)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def briefs() -> None:
    from studio.data.lint_text import phone_numbers
    from studio.rag.chat import retrieve_sources
    from studio.rag.seed import ensure_seeded
    from studio.settings import Settings

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        ensure_seeded(settings)
        for row in _jsonl(QUESTIONS):
            sources = [s for s in retrieve_sources(row["question"], settings, k=CANDIDATES) if not phone_numbers(s.text)]
            passages = [{"n": n, "doc": s.doc, "page": s.page, "heading": s.heading, "text": s.text}
                        for n, s in enumerate(sources[:PASSAGES], start=1)]
            out.append({"question": row["question"], "passages": passages})
    BRIEFS.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(out)} briefs -> {BRIEFS}", file=sys.stderr)


def rows() -> None:
    from studio.rag.prompt import Source, system_with_rules, user_turn

    answers = {a["question"]: a for a in _jsonl(ANSWERS)}
    for brief in json.loads(BRIEFS.read_text(encoding="utf-8")):
        answer = answers.get(brief["question"])
        if answer is None:
            continue
        sources = [Source(**p) for p in brief["passages"]]
        user, _ = user_turn(brief["question"], sources)
        messages = [
            {"role": "system", "content": system_with_rules(SYSTEM, bool(sources))},
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer["answer"]},
        ]
        print(json.dumps({"messages": messages, "tags": ["knowledge-grounded"]}, ensure_ascii=False))


if __name__ == "__main__":
    {"briefs": briefs, "rows": rows}[sys.argv[1]]()
