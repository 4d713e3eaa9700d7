"""Compare tab (admins): two models side by side, batch prompt-set runs, the eval-split metric and the report card.

Thin: widgets in, ``studio.compare`` out. Model B's dropdown is published as
``ctx.shared["compare.model_b"]`` so the Train tab's "Compare with base" can select a run in it.
"""

from __future__ import annotations

import gradio as gr

from studio.ui.context import AppContext
from studio.ui.tabs import report

LOADING = "⏳ loading model… (first use only)"
BATCH_HEADERS = ["prompt", "category", "answer A", "flags A", "answer B", "flags B"]


def _errors():
    """The core's user-facing errors, imported lazily (no torch at tab import time)."""
    from studio.compare.prompts import PromptSetError
    from studio.compare.side_by_side import CompareError
    from studio.models.generate import GenerationError
    from studio.models.loader import ModelLoadError
    from studio.util.uploads import UploadError

    return (CompareError, GenerationError, ModelLoadError, PromptSetError, UploadError)


def _gen(temperature, top_p, max_tokens, seed):
    from studio.models.generate import GenerationSettings

    return GenerationSettings(max_new_tokens=int(max_tokens), temperature=float(temperature), top_p=float(top_p),
                              seed=int(seed or 0))


def answer_info(answer) -> str:
    from studio.safety import describe_flags

    speed = f"{answer.new_tokens} tokens · {answer.tokens_per_s} tokens/s" if answer.safety.model_called else "no model call"
    flags = describe_flags(answer.safety.to_dict())
    icon = "⚠️" if flags != "no safety flags" else "✅"
    if getattr(answer, "error", ""):  # a hosted model failed on this side only
        return f"**{answer.model}** · ❌ {answer.error}"
    return f"**{answer.model}** · {speed}\n\n{icon} {flags}"


def build(ctx: AppContext) -> None:
    settings = ctx.settings
    gr.Markdown("Both models get the same prompt, system prompt, settings and seed. Admins only.")
    with gr.Row():
        model_a = gr.Dropdown(["base"], value="base", label="Model A", allow_custom_value=True, elem_id="compare-model-a",
                              info="'base', a finished run, a hub id or a local path")
        model_b = gr.Dropdown(["base"], value="base", label="Model B", allow_custom_value=True, elem_id="compare-model-b",
                              info="the tuned run to judge, usually")
    ctx.shared["compare.model_b"] = model_b

    def refresh(current):
        from studio.compare.models import model_choices

        return gr.Dropdown(choices=model_choices(settings), value=current)

    for dropdown in (model_a, model_b):
        dropdown.focus(refresh, dropdown, dropdown, queue=False, api_visibility="private")

    with gr.Tabs():
        with gr.Tab("Side by side", id="compare-sbs"):
            _side_by_side(ctx, model_a, model_b)
        with gr.Tab("Prompt set", id="compare-batch"):
            _batch(ctx, model_a, model_b)
        with gr.Tab("Eval loss", id="compare-metrics"):
            _metrics(ctx, model_a, model_b)
        with gr.Tab("Report card", id="compare-report"):
            report.build(ctx)


def _side_by_side(ctx: AppContext, model_a, model_b) -> None:
    from studio.models.system_prompt import load_system_prompt

    settings = ctx.settings
    prompt = gr.Textbox(label="Prompt", lines=3, elem_id="compare-prompt", placeholder="What the person says")
    with gr.Accordion("System prompt and generation settings", open=False):
        system = gr.Textbox(load_system_prompt(settings), label="System prompt", lines=4, elem_id="compare-system")
        with gr.Row():
            temperature = gr.Slider(0, 1.5, value=0.7, step=0.05, label="Temperature (0 = greedy)")
            top_p = gr.Slider(0.1, 1, value=0.9, step=0.05, label="Top-p")
            max_new = gr.Slider(16, 1024, value=256, step=16, label="Max new tokens")
            seed = gr.Number(0, label="Seed", precision=0)
    run = gr.Button("Compare", variant="primary", elem_id="compare-run")
    with gr.Row():
        with gr.Column():
            answer_a = gr.Textbox(label="Answer A", lines=12, max_lines=40, interactive=False, elem_id="compare-answer-a")
            info_a = gr.Markdown(elem_id="compare-info-a")
        with gr.Column():
            answer_b = gr.Textbox(label="Answer B", lines=12, max_lines=40, interactive=False, elem_id="compare-answer-b")
            info_b = gr.Markdown(elem_id="compare-info-b")

    def side_by_side(a, b, text, system_prompt, temp, top, max_tokens, seed_value, request: gr.Request):
        ctx.require_admin(request)
        from studio.compare.side_by_side import stream_pair

        try:
            gen = _gen(temp, top, max_tokens, seed_value)
            for update in stream_pair(a or "base", b or "base", text, system_prompt, gen, settings):
                if update.status == "loading":
                    yield LOADING, LOADING, "", ""
                elif update.answers is None:
                    yield update.texts[0], update.texts[1], "…", "…"
                else:
                    first, second = update.answers  # a failed hosted side shows its error as its text
                    yield update.texts[0], update.texts[1], answer_info(first), answer_info(second)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None

    gr.on([run.click, prompt.submit], side_by_side, [model_a, model_b, prompt, system, temperature, top_p, max_new, seed],
          [answer_a, answer_b, info_a, info_b], api_name="compare", **ctx.generation)


def _batch(ctx: AppContext, model_a, model_b) -> None:
    settings = ctx.settings

    def set_names():
        from studio.compare.prompts import list_prompt_sets

        return list(list_prompt_sets(settings))

    names = set_names()
    with gr.Row():
        prompt_set = gr.Dropdown(names, value=names[0] if names else None, label="Prompt set", elem_id="compare-set")
        upload = gr.File(label="…or upload a prompt set (.jsonl)", file_types=[".jsonl"], elem_id="compare-set-upload")
    with gr.Row():
        temperature = gr.Slider(0, 1.5, value=0.0, step=0.05, label="Temperature (0 = greedy)")
        max_new = gr.Slider(16, 1024, value=200, step=16, label="Max new tokens")
        seed = gr.Number(0, label="Seed", precision=0)
    run = gr.Button("Run the prompt set", variant="primary", elem_id="compare-batch-run")
    status = gr.Markdown(elem_id="compare-batch-status")
    table = gr.Dataframe(headers=BATCH_HEADERS, interactive=False, wrap=True, elem_id="compare-batch-table")
    download = gr.File(label="Results (JSONL)", interactive=False, elem_id="compare-batch-file")

    def run_set(a, b, set_name, uploaded, temp, max_tokens, seed_value, request: gr.Request):
        ctx.require_admin(request)
        from studio.compare.batch import save_records, summarize, table_rows

        try:
            path = _prompt_file(settings, set_name, uploaded)
            gen = _gen(temp, 0.9, max_tokens, seed_value)
            records: list[dict] = []
            for total, record in _iter_batch(a or "base", b or "base", path, gen, settings):
                records.append(record)
                yield f"{len(records)}/{total} prompts…", table_rows(records), None
            stored = save_records(records, settings, a or "base", b or "base")
            s = summarize(records)
            yield (f"Done: {s['prompts']} prompts. Output guard flagged A {s['flagged_a']}, B {s['flagged_b']}; "
                   f"crisis template {s['crisis_template']}. Saved to `{stored}`."), table_rows(records), _downloadable(stored)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None

    run.click(run_set, [model_a, model_b, prompt_set, upload, temperature, max_new, seed], [status, table, download],
              api_name="compare_batch", concurrency_id="model")
    prompt_set.focus(lambda: gr.Dropdown(choices=set_names()), None, prompt_set, queue=False, api_visibility="private")


def _prompt_file(settings, set_name: str | None, uploaded):
    """An uploaded prompt set (checked and kept under the data dir) wins over the chosen named set."""
    from studio.compare.prompts import PromptSetError, resolve_prompt_set
    from studio.util.uploads import accept_upload

    if uploaded:
        return accept_upload(uploaded, settings, "prompts")
    if not set_name:
        raise PromptSetError("Choose a prompt set or upload one (.jsonl, one {\"prompt\": ...} per line).")
    return resolve_prompt_set(set_name, settings)


def _downloadable(path) -> str:
    """A copy in a temp folder: Gradio serves downloads from there, not from the data dir."""
    import shutil
    import tempfile
    from pathlib import Path

    target = Path(tempfile.mkdtemp(prefix="compare-")) / Path(path).name
    shutil.copyfile(path, target)
    return str(target)


def _iter_batch(a, b, path, gen, settings):
    from studio.compare.batch import run_batch
    from studio.compare.prompts import load_prompts

    prompts = load_prompts(path)
    for record in run_batch(a, b, prompts, gen, settings):
        yield len(prompts), record


def _metrics(ctx: AppContext, model_a, model_b) -> None:
    settings = ctx.settings
    gr.Markdown("Loss and perplexity on the assistant's words of a dataset's held-out eval split (lower is better). "
                "Left empty, the dataset, fraction and seed are those of the run being compared.")
    with gr.Row():
        dataset = gr.Dropdown([], value=None, label="Dataset", allow_custom_value=True, elem_id="compare-eval-dataset",
                              info="a stored dataset name or a JSONL path")
        fraction = gr.Number(None, label="Eval fraction (0 = the whole file)", elem_id="compare-eval-fraction")
        limit = gr.Slider(5, 500, value=50, step=5, label="At most this many conversations")
    run = gr.Button("Score both models", elem_id="compare-eval-run")
    result = gr.Dataframe(headers=["model", "side", "loss", "perplexity"], interactive=False, elem_id="compare-eval-table")
    note = gr.Markdown(elem_id="compare-eval-note")

    def datasets():
        from studio.data.store import DatasetStore

        return gr.Dropdown(choices=[info.name for info in DatasetStore(settings).list()])

    def score(a, b, name, frac, max_convs, request: gr.Request):
        ctx.require_admin(request)
        from studio.compare.metrics import eval_metrics, split_for

        try:
            split = split_for((a or "base", b or "base"), (name or "").strip() or None,
                              None if frac in (None, "") else float(frac), None, settings)
            out = eval_metrics(a or "base", b or "base", split, settings, limit=int(max_convs))
        except _errors() as exc:
            raise gr.Error(str(exc)) from None
        rows = [[out[s]["model"], s.upper(), out[s]["loss"], out[s]["perplexity"]] for s in ("a", "b")]
        return rows, (f"{out['conversations']} conversations, {out['tokens']} assistant tokens, from the eval split of "
                      f"`{out['dataset']}` (fraction {out['eval_fraction']}, seed {out['seed']}).")

    dataset.focus(datasets, None, dataset, queue=False, api_visibility="private")
    run.click(score, [model_a, model_b, dataset, fraction, limit], [result, note], api_name="compare_metrics",
              concurrency_id="model")
