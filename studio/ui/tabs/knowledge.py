"""Knowledge tab (admins): upload documents, see what is stored, remove, and try a search.

Thin: every handler checks the caller is an admin, calls ``studio.rag.kb`` and formats the result.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.ui.context import AppContext

FILE_TYPES = [".pdf", ".md", ".markdown", ".txt", ".docx", ".html", ".htm"]
COLUMNS = ["Document", "Chunks", "Pages", "Added (UTC)"]


def documents_table(settings) -> list[list]:
    from studio.rag.kb import knowledge_base

    return [[d.doc, d.chunks, d.pages if d.pages is not None else "", d.added_at] for d in knowledge_base(settings).list_documents()]


def format_hits(hits) -> str:
    if not hits:
        return "No matching passages."
    blocks = []
    for i, hit in enumerate(hits, start=1):
        heading = f" — {hit.heading}" if hit.heading else ""
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in hit.text.splitlines())
        blocks.append(f"**[{i}] {hit.citation()}**{heading} · score {hit.score:.4f}\n\n{quoted}")
    return "\n\n".join(blocks)


def format_report(report) -> str:
    parts = [f"**{label}:** {', '.join(names)}" for label, names in
             (("Added", report.added), ("Replaced", report.replaced), ("Unchanged", report.unchanged)) if names]
    return " · ".join(parts) + f" ({report.chunks} chunks written)"


def build(ctx: AppContext) -> None:
    settings = ctx.settings
    gr.Markdown(
        "Documents here are what the companion can cite in Chat (with **Use knowledge base** on). "
        "Adding a file with the same name replaces the old version; the same content is skipped."
    )
    with gr.Row():
        with gr.Column(scale=2):
            # No file_types filter here: Gradio's check would run before the admin check and answer a rater
            # with a file-type error; the core refuses unsupported types with a clearer message anyway.
            files = gr.File(label="Add documents (" + ", ".join(FILE_TYPES) + ")", file_count="multiple", elem_id="kb-files")
            add = gr.Button("Add to knowledge base", variant="primary", elem_id="kb-add")
            status = gr.Markdown(elem_id="kb-status")
            docs = gr.Dataframe(headers=COLUMNS, value=[], interactive=False, label="Documents", elem_id="kb-docs")
            with gr.Row():
                remove_name = gr.Dropdown([], label="Document to remove", elem_id="kb-remove-doc", scale=3, allow_custom_value=True)
                remove = gr.Button("Remove", variant="stop", elem_id="kb-remove", scale=1)
        with gr.Column(scale=2):
            query = gr.Textbox(label="Test a search", placeholder="e.g. can I drive after a session?", elem_id="kb-query")
            with gr.Row():
                k = gr.Slider(1, 10, value=4, step=1, label="Passages (k)")
                mode = gr.Radio(["hybrid", "vector", "bm25"], value="hybrid", label="Ranking")
            only = gr.Dropdown([], label="Only this document (optional)", elem_id="kb-query-doc", allow_custom_value=True)
            search = gr.Button("Search", elem_id="kb-search")
            results = gr.Markdown(elem_id="kb-results")

    def listing():
        rows = documents_table(settings)
        names = [row[0] for row in rows]
        return rows, gr.Dropdown(choices=names, value=None), gr.Dropdown(choices=[""] + names, value="")

    def add_files(paths, request: gr.Request, progress=gr.Progress()):
        from studio.rag.kb import knowledge_base
        from studio.rag.parsers import IngestError
        from studio.rag.store import StoreError
        from studio.util.uploads import safe_filename

        ctx.require_admin(request)
        paths = [p if isinstance(p, str) else getattr(p, "path", str(p)) for p in (paths or [])]
        if not paths:
            raise gr.Error("Choose one or more files first.")
        progress(0, desc="reading and chunking…")

        def report_progress(done: int, total: int, message: str) -> None:
            progress((done, total), desc=message, unit="chunks")

        try:
            names = [safe_filename(Path(p).name) for p in paths]
            report = knowledge_base(settings).add_files(paths, names=names, progress=report_progress)
        except (IngestError, StoreError) as exc:
            raise gr.Error(str(exc).replace("\n", "<br>")) from None
        return format_report(report), *listing()

    def estimate_add(paths, request: gr.Request):
        from studio.rag.kb import knowledge_base

        paths = [p if isinstance(p, str) else getattr(p, "path", str(p)) for p in (paths or [])]
        if not paths or not ctx.caller(request).is_admin:
            return gr.skip()
        return f"Before adding: {knowledge_base(settings).estimate_files(paths)}."

    def remove_doc(name, request: gr.Request):
        from studio.rag.kb import knowledge_base
        from studio.rag.parsers import IngestError

        ctx.require_admin(request)
        if not name:
            raise gr.Error("Pick a document to remove.")
        try:
            removed = knowledge_base(settings).remove(name)
        except IngestError as exc:
            raise gr.Error(str(exc)) from None
        return f"Removed **{name}** ({removed} chunks).", *listing()

    def run_query(text, k_value, mode_value, doc, request: gr.Request):
        from studio.rag.kb import knowledge_base

        ctx.require_admin(request)
        try:
            hits = knowledge_base(settings).query(text, k=int(k_value), doc=doc or None, mode=mode_value)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        return format_hits(hits)

    def refresh(request: gr.Request):
        from studio.rag.seed import ensure_seeded

        if not ctx.caller(request).is_admin:
            return gr.skip(), gr.skip(), gr.skip()
        ensure_seeded(settings)  # first visit to an empty knowledge base adds the seed documents
        return listing()

    listed = [docs, remove_name, only]
    add.click(add_files, [files], [status, *listed], api_name="kb_add")
    files.change(estimate_add, [files], [status], api_visibility="private")
    remove.click(remove_doc, [remove_name], [status, *listed], api_name="kb_remove")
    gr.on([search.click, query.submit], run_query, [query, k, mode, only], [results], api_name="kb_query")

    def wire_tab_select() -> None:
        for tab in getattr(ctx.tabs, "children", []):
            if getattr(tab, "id", None) == "knowledge":
                tab.select(refresh, None, listed, api_visibility="private")

    ctx.after_build(wire_tab_select)
