"""Commands: kb add|list|remove|query|seed, and chat (with optional knowledge-base references)."""

from __future__ import annotations

import argparse

from studio.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    kb = subparsers.add_parser("kb", help="Manage the knowledge base (documents the chat can cite).")
    sub = kb.add_subparsers(dest="kb_command", metavar="ACTION")

    add = sub.add_parser("add", help="Add or update documents (PDF, Markdown, text, DOCX, HTML).")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    add.set_defaults(handler=_add)

    ls = sub.add_parser("list", help="List documents with chunk and page counts.")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=_list)

    rm = sub.add_parser("remove", help="Remove a document and all its chunks.")
    rm.add_argument("name", metavar="NAME", help="the document's file name, as `kb list` shows it")
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(handler=_remove)

    query = sub.add_parser("query", help="Search the knowledge base (hybrid vector + keyword).")
    query.add_argument("text", metavar="TEXT")
    query.add_argument("--k", type=int, default=4, help="how many passages (default 4)")
    query.add_argument("--doc", default=None, help="only search this document")
    query.add_argument("--mode", choices=["hybrid", "vector", "bm25"], default="hybrid")
    query.add_argument("--json", action="store_true")
    query.set_defaults(handler=_query)

    seed = sub.add_parser("seed", help="Add the seed documents from examples/knowledge if the knowledge base is empty.")
    seed.add_argument("--json", action="store_true")
    seed.set_defaults(handler=_seed)

    chat = subparsers.add_parser("chat", help="One chat turn through the crisis gate, optionally with cited references.")
    chat.add_argument("--prompt", required=True)
    chat.add_argument("--model", default="base", help="'base', a run id, a hub id or a local path")
    chat.add_argument("--rag", action="store_true", help="answer with passages from the knowledge base")
    chat.add_argument("--system", default=None, help="system prompt (default: the saved one)")
    chat.add_argument("--region", default=None, help="crisis resources region (default: STUDIO_REGION)")
    chat.add_argument("--max-new-tokens", type=int, default=200)
    chat.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    chat.add_argument("--seed", type=int, default=0)
    chat.add_argument("--json", action="store_true")
    chat.set_defaults(handler=_chat)


def _progress(done: int, total: int, message: str) -> None:
    from studio.cli import progress

    progress(f"{message}: {done}/{total} chunks")


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.rag.kb import knowledge_base

    report = knowledge_base(settings).add_files(args.paths, progress=_progress)
    parts = [f"{label}: {', '.join(names)}" for label, names in
             (("added", report.added), ("replaced", report.replaced), ("unchanged", report.unchanged)) if names]
    emit(args, report.to_json(), "; ".join(parts) + f" ({report.chunks} chunks written)")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.rag.kb import knowledge_base

    docs = knowledge_base(settings).list_documents()
    lines = [f"{d.doc}\t{d.chunks} chunks\t{d.pages if d.pages is not None else '-'} pages\t{d.added_at}" for d in docs]
    emit(args, {"documents": [d.to_json() for d in docs]}, "\n".join(lines) or "The knowledge base is empty.")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.rag.kb import knowledge_base

    removed = knowledge_base(settings).remove(args.name)
    emit(args, {"removed": args.name, "chunks": removed}, f"removed {args.name} ({removed} chunks)")
    return 0


def _query(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.rag.kb import knowledge_base

    hits = knowledge_base(settings).query(args.text, k=args.k, doc=args.doc, mode=args.mode)
    text = "\n\n".join(f"[{i}] {h.citation()} (score {h.score:.4f})\n{h.text}" for i, h in enumerate(hits, start=1))
    emit(args, {"results": [h.to_json() for h in hits]}, text or "No matching passages.")
    return 0


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.rag.seed import ensure_seeded

    added = ensure_seeded(settings)
    emit(args, {"added": added}, f"seeded {len(added)} documents" if added else "Nothing to do: already seeded or not empty.")
    return 0


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit, progress
    from studio.models.generate import GenerationSettings
    from studio.rag.chat import chat_stream
    from studio.rag.prompt import citations_line

    # chat_stream seeds an empty knowledge base itself, after the crisis gate (a crisis reply never waits).
    gen = GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed)
    final = None
    for update in chat_stream(args.prompt, [], args.model, settings, system=args.system, rag=args.rag, gen=gen, region=args.region):
        if update.status == "loading":
            progress("loading model…")
        final = update
    if final is None:
        raise RuntimeError("The chat produced no reply.")
    if final.notice:
        progress(final.notice)
    human = final.text + (f"\n\nSources: {citations_line(final.sources)}" if final.sources else "")
    emit(args, final.to_json(), human)
    return 0
