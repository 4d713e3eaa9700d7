"""The Arena tab's admin panels: statistics (with the win-rate plot), export/import, arena settings.

Statistics are for admins only so that raters are not swayed by the running score; the panels are
hidden from raters and every handler checks the role again.
"""

from __future__ import annotations

import gradio as gr

from studio.ui.context import AppContext


def build_admin(ctx: AppContext) -> None:
    settings = ctx.settings
    with gr.Accordion("Statistics (admins)", open=False, visible=False, elem_id="arena-stats-panel") as stats_panel:
        refresh = gr.Button("Refresh statistics", elem_id="arena-stats-refresh")
        plot = gr.HTML(elem_id="arena-stats-plot")
        table = gr.Markdown(elem_id="arena-stats-table")
        with gr.Row():
            export = gr.Button("Export votes (JSONL)", elem_id="arena-export")
            export_file = gr.File(label="Votes", interactive=False, elem_id="arena-export-file")
            upload = gr.File(label="Import votes (.jsonl)", file_types=[".jsonl"], elem_id="arena-import")
        io_note = gr.Markdown(elem_id="arena-io-note")
    with gr.Accordion("Arena settings (admins)", open=False, visible=False, elem_id="arena-settings-panel") as settings_panel:
        gr.Markdown("Leave the models empty to use `base` and every finished run. Raters cannot change these.")
        models = gr.Dropdown([], value=[], multiselect=True, allow_custom_value=True, label="Models in the arena",
                             elem_id="arena-models")
        with gr.Row():
            max_new = gr.Slider(16, 1024, value=256, step=16, label="Max new tokens")
            temperature = gr.Slider(0, 1.5, value=0.7, step=0.05, label="Temperature")
        system = gr.Textbox(label="System prompt", lines=4, elem_id="arena-system")
        save = gr.Button("Save arena settings", elem_id="arena-settings-save")
        saved = gr.Markdown()

    def show(request: gr.Request):
        is_admin = ctx.caller(request).is_admin
        return gr.Accordion(visible=is_admin), gr.Accordion(visible=is_admin)

    gr.on(None, show, None, [stats_panel, settings_panel], queue=False, api_visibility="private")

    def statistics(request: gr.Request):
        ctx.require_admin(request)
        from studio.compare.arena import store
        from studio.compare.plot import stats_markdown, win_rate_svg
        from studio.compare.stats import compute_stats

        result = compute_stats(store(settings).votes(include_excluded=False))  # excluded raters do not count
        return win_rate_svg(result), stats_markdown(result)

    def export_votes(request: gr.Request):
        ctx.require_admin(request)
        import tempfile
        from pathlib import Path

        from studio.compare.arena import export_jsonl

        path = Path(tempfile.mkdtemp(prefix="arena-")) / "arena-votes.jsonl"
        count = export_jsonl(settings, path)
        return str(path), f"Exported {count} votes."

    def import_votes(file, request: gr.Request):
        ctx.require_admin(request)
        if not file:
            return gr.skip()
        from studio.compare.arena import ArenaError, import_jsonl
        from studio.util.uploads import UploadError, accept_upload

        try:
            result = import_jsonl(settings, accept_upload(file, settings, "votes"))
        except (ArenaError, UploadError) as exc:
            raise gr.Error(str(exc)) from None
        return f"Imported {result['added']} votes ({result['skipped']} were already stored)."

    def load_config(request: gr.Request):
        if not ctx.caller(request).is_admin:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        from studio.compare.arena import ArenaConfig
        from studio.compare.models import model_choices

        config = ArenaConfig.load(settings)
        choices = sorted(set(model_choices(settings)) | set(config.models))
        return gr.Dropdown(choices=choices, value=config.models), config.max_new_tokens, config.temperature, config.system

    def save_config(chosen, max_tokens, temp, system_prompt, request: gr.Request):
        ctx.require_admin(request)
        from studio.compare.arena import ArenaConfig, ArenaError

        try:
            current = ArenaConfig.load(settings)
            config = ArenaConfig(models=list(chosen or []), max_new_tokens=int(max_tokens), temperature=float(temp),
                                 top_p=current.top_p, system=(system_prompt or "").strip() or current.system)
            config.save(settings)
        except (ArenaError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        pool = config.pool(settings)
        return f"Saved. The arena now draws pairs from: {', '.join(pool) or 'nothing yet (train a run first)'}."

    refresh.click(statistics, None, [plot, table], api_name="arena_stats")
    export.click(export_votes, None, [export_file, io_note], api_name="arena_export")
    upload.upload(import_votes, upload, io_note, api_name="arena_import")
    settings_panel.expand(load_config, None, [models, max_new, temperature, system], queue=False, api_visibility="private")
    save.click(save_config, [models, max_new, temperature, system], saved, api_name="arena_settings")
