"""Train tab (admins): configure a LoRA run, start/stop/resume it, watch it learn, export the adapter.

Thin: the form becomes a TrainConfig (studio.train.form), jobs run in the process-wide manager, and
every view is recomputed from the run files by a gr.Timer (studio.train.progress), so a reload or a
second browser re-attaches to the running job. Handlers live on TrainHandlers so tests call them
directly; each starts with ``require_admin``. The Hub token is a password box used for one push and
never stored.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.train.config import BACKENDS, METHODS  # plain data (no torch): one home for the list
from studio.ui.context import AppContext
from studio.ui.errors import user_error
from studio.ui.tabs.train_autotrain import autotrain_section
from studio.ui.tabs.train_jobs import backend_info, jobs_section, require_confirmation

REFRESH_S = 2.0
PRESETS = ["auto", "cpu", "gpu", "gpu-qlora"]
SCHEDULERS = ["cosine", "linear", "constant", "constant_with_warmup"]


def _errors():
    """The core's user-facing errors, imported lazily (no torch at tab import time)."""
    from studio.train.config import ConfigError
    from studio.train.export import ExportError
    from studio.train.manager import TrainingBusy
    from studio.train.runs import RunNotFound
    from studio.train.training_data import DatasetProblem

    return (ConfigError, DatasetProblem, ExportError, TrainingBusy, RunNotFound, ValueError)


def progress_html(snap: dict[str, Any]) -> str:
    pct = snap.get("percent") or 0.0
    label = f"step {snap.get('step', 0)}/{snap.get('total_steps') or '?'}" if snap.get("run_id") else "idle"
    return (f'<div id="train-progress-bar"><progress value="{pct:.1f}" max="100" style="width:100%"></progress>'
            f"<div>{label} · {pct:.0f}%</div></div>")


class TrainHandlers:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.settings = ctx.settings
        self.fields: dict[str, gr.components.Component] = {}

    # --- helpers ---
    def values(self, raw: dict) -> dict[str, Any]:
        """Form values by field name (gradio passes {component: value} for a set of inputs)."""
        names = {id(c): n for n, c in self.fields.items()}
        return {(k if isinstance(k, str) else names.get(id(k), "")): v for k, v in (raw or {}).items()}

    def config(self, raw: dict):
        from studio.train.form import config_from_form

        try:
            values = self.values(raw)
            return config_from_form(values)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None

    # --- form ---
    def preview(self, raw: dict, request: gr.Request = None):
        self.ctx.require_admin(request)
        from studio.train.form import command_for

        return self.config(raw).to_yaml(redact_secrets=True), command_for("companion.yaml")

    def preset_info(self, raw: dict, request: gr.Request = None) -> str:
        self.ctx.require_admin(request)
        from studio.models.loader import base_path
        from studio.train.presets import describe, resolve_preset

        try:
            config = self.config(raw)
            base = base_path(config.base_model, self.settings) if config.base_model == "embedded" else config.base_model
            return describe(resolve_preset(config, base_dir=base))
        except (gr.Error, *_errors()) as exc:
            return f"⚠️ {user_error(exc, self.settings.data_dir).message}"

    def dataset_info(self, dataset: str, method: str = "sft", request: gr.Request = None) -> str:
        self.ctx.require_admin(request)
        from studio.train.progress import dataset_summary

        return dataset_summary(self.settings, dataset, method or "sft")[1]

    def adapter_choices(self, request: gr.Request = None):
        """Runs with an adapter to start from (empty = a fresh LoRA)."""
        self.ctx.require_admin(request)
        from studio.train.runs import iter_runs

        return gr.Dropdown(choices=["", *(run.run_id for run in iter_runs(self.settings) if run.has_adapter())])

    def choices(self, request: gr.Request = None):
        """Stored datasets, then the inbox's preference sets (``preferences/<name>``)."""
        self.ctx.require_admin(request)
        from studio.data.preferences import preference_sets
        from studio.data.store import DatasetStore

        names = [info.name for info in DatasetStore(self.settings).list()]
        return gr.Dropdown(choices=names + preference_sets(self.settings))

    def method_for(self, dataset: str, method: str, request: gr.Request = None) -> str:
        """A preference set trains with DPO and a stored dataset with SFT; a typed path keeps the choice."""
        self.ctx.require_admin(request)
        from studio.data.preferences import SET_REF
        from studio.data.store import DatasetStore

        if (dataset or "").startswith(SET_REF):
            return "dpo"
        if dataset in {info.name for info in DatasetStore(self.settings).list()}:
            return "sft"
        return method

    # --- jobs ---
    def start(self, request: gr.Request = None, **form: Any):
        """``/start_training``: the form's fields as named parameters (``dataset=..., max_steps=...``);
        a field left out keeps the form's default."""
        self.ctx.require_admin(request)
        from studio.train.manager import get_manager

        config = self.config(form)
        require_confirmation(config, form)  # a billed Jobs run needs the admin's tick
        try:
            run = get_manager(self.settings).start(config, background=True)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None
        return run.run_id, f"Started **{run.run_id}**."  # a plain id: the API returns it as is; the timer refreshes the choices

    def stop(self, run_id: str, request: gr.Request = None) -> str:
        self.ctx.require_admin(request)
        from studio.train.manager import get_manager

        try:
            run = get_manager(self.settings).stop(run_id or None)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None
        return f"Stop requested for **{run.run_id}**: it finishes the current step, saves the adapter, then stops."

    def resume(self, run_id: str, request: gr.Request = None):
        self.ctx.require_admin(request)
        from studio.train.manager import get_manager

        if not run_id:
            raise gr.Error("Choose a run to resume.")
        try:
            run = get_manager(self.settings).resume(run_id, background=True)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None
        return run.run_id, f"Resuming **{run.run_id}** from its last checkpoint."

    def _run_ids(self) -> list[str]:
        from studio.train.runs import list_runs

        return [info.run_id for info in list_runs(self.settings)]

    def refresh(self, run_id: str | None, request: gr.Request = None):
        """Everything the tab shows about runs, read from the run files (timer tick and reload)."""
        if not self.ctx.caller(request).is_admin:
            return (gr.skip(),) * 10 + (gr.Timer(active=False),)  # raters never see this tab: stop polling
        import pandas as pd

        from studio.models.scheduler import status_line
        from studio.train.manager import get_manager
        from studio.train.progress import history_rows, snapshot

        # first use after a restart marks orphaned runs interrupted, and follows again a Jobs job still on the Hub
        get_manager(self.settings).reattach_remote()
        snap = snapshot(self.settings, run_id)
        # No value until the first loss: Gradio keeps the axis types of the first value it gets,
        # and an empty frame makes both axes categorical with an invisible line.
        plot = pd.DataFrame(snap["points"], columns=["step", "loss", "series"]) if snap["points"] else None
        # A selection is never written back: a tick that began before Start would put the old run back.
        runs = gr.Dropdown(choices=self._run_ids()) if run_id else gr.Dropdown(choices=self._run_ids(), value=snap["run_id"])
        return (
            runs, progress_html(snap), snap["summary"], plot,
            snap["log"], history_rows(self.settings), gr.Button(interactive=snap["can_stop"]),
            gr.Button(interactive=snap["can_resume"]), gr.Button(visible=snap["can_compare"]), status_line(self.settings),
            gr.Timer(active=True),
        )

    def arena_round(self, run_id: str, request: gr.Request = None) -> str:
        """A DPO run against the run it started from, in the arena, on its voted prompts plus new ones."""
        self.ctx.require_admin(request)
        from studio.compare.arena import ArenaError
        from studio.compare.rounds import start_round

        try:
            out = start_round(self.settings, run_id)
        except (ArenaError, *_errors()) as exc:
            raise gr.Error(str(exc)) from None
        return (f"Arena round ready: **{out['models'][0]}** against **{out['models'][1]}**, prompt set "
                f"`{out['prompt_set']}` ({out['from_votes']} prompts from the votes, {out['prompts'] - out['from_votes']} new). "
                "Raters see it in the Arena tab; the report card (Compare › Report card) compares the same pair.")

    # --- export ---
    def merge(self, run_id: str, request: gr.Request = None) -> str:
        """Twin of ``runs export RUN --format merged``."""
        return self._export(run_id, "merged", "f16", request)

    def export_gguf(self, run_id: str, quant: str, request: gr.Request = None) -> str:
        """Twin of ``runs export RUN --format gguf --quant Q``: model.gguf, Modelfile and a llama.cpp script."""
        return self._export(run_id, "gguf", quant or "f16", request)

    def _export(self, run_id: str, fmt: str, quant: str, request: gr.Request | None) -> str:
        self.ctx.require_admin(request)
        from studio.train.export import export_run

        try:
            result = export_run(self.settings, run_id, fmt, quant)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None
        what = "Merged model" if fmt == "merged" else f"GGUF ({quant}) with an Ollama Modelfile and run-llama-cpp.sh"
        return f"{what} saved to `{result.path}` ({result.bytes / 1e6:.0f} MB)."

    def push(self, run_id: str, repo_id: str, private: bool, merged: bool, token: str, override: str = "",
             request: gr.Request = None):
        """The token is used for this call only; the box is cleared in the reply. The release gate runs first
        (it may make a report card: minutes on a CPU); ``override`` is an admin's recorded reason to push anyway."""
        who = self.ctx.require_admin(request).name
        from studio.train.export import push_to_hub

        try:
            url = push_to_hub(self.settings, run_id, repo_id, token=token or None, private=bool(private),
                              merged=bool(merged), override_reason=(override or "").strip() or None, who=who)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None
        return f"Pushed to {url} ({'private' if private else 'public'}).", ""


def build(ctx: AppContext) -> TrainHandlers:
    h = TrainHandlers(ctx)
    f = h.fields
    gr.Markdown("Fine-tune a LoRA adapter on a stored dataset. Admins only. Progress survives reloads.")
    with gr.Row():
        f["dataset"] = gr.Dropdown([], label="Dataset", allow_custom_value=True, elem_id="train-dataset",
                                   info="a stored dataset, or a JSONL path")
        f["base_model"] = gr.Textbox(ctx.settings.base_model, label="Base model", elem_id="train-base-model")
        f["backend"] = gr.Radio(list(BACKENDS), value="trl", label="Backend", elem_id="train-backend",
                                info=backend_info())
        f["preset"] = gr.Dropdown(PRESETS, value="auto", label="Preset", elem_id="train-preset")
    with gr.Row():
        f["method"] = gr.Radio(list(METHODS), value="sft", label="Method", elem_id="train-method",
                               info="sft: conversations · dpo: preference pairs (data preferences)")
        f["beta"] = gr.Number(0.1, label="DPO beta", elem_id="train-beta", info="higher = stays closer to the start")
        f["init_adapter"] = gr.Dropdown([], value="", label="Start from run (optional)", allow_custom_value=True,
                                        elem_id="train-init-adapter", info="empty = fresh LoRA on the base model")
    dataset_md = gr.Markdown(elem_id="train-dataset-summary")
    with gr.Row():
        f["epochs"] = gr.Number(1, label="Epochs", elem_id="train-epochs")
        f["max_steps"] = gr.Number(0, label="Max steps (0 = by epochs)", precision=0, elem_id="train-max-steps")
        f["learning_rate"] = gr.Number(2e-4, label="Learning rate", elem_id="train-lr")
        f["batch_size"] = gr.Number(0, label="Batch size (0 = preset)", precision=0, elem_id="train-batch")
        f["max_length"] = gr.Number(512, label="Max length (tokens)", precision=0, elem_id="train-max-length")
        f["lora_r"] = gr.Number(16, label="LoRA rank", precision=0, elem_id="train-lora-r")
    preset_md = gr.Markdown(elem_id="train-preset-info")
    with gr.Accordion("Advanced", open=False, elem_id="train-advanced"):
        with gr.Row():
            f["gradient_accumulation"] = gr.Number(0, label="Gradient accumulation (0 = preset)", precision=0,
                                                   elem_id="train-accum")
            f["lora_alpha"] = gr.Number(32, label="LoRA alpha", precision=0, elem_id="train-lora-alpha")
            f["lora_dropout"] = gr.Number(0.05, label="LoRA dropout", elem_id="train-lora-dropout")
            f["target_modules"] = gr.Textbox("all-linear", label="Target modules", elem_id="train-target-modules")
        with gr.Row():
            f["quantization"] = gr.Dropdown(["auto", "none", "4bit", "8bit"], value="auto", label="Quantization",
                                            elem_id="train-quantization")
            f["assistant_only_loss"] = gr.Checkbox(True, label="Loss on assistant words only", elem_id="train-assistant-only")
            f["group_by_length"] = gr.Checkbox(True, label="Batch by length", elem_id="train-group-by-length")
            f["eval_fraction"] = gr.Number(0.0, label="Eval fraction", elem_id="train-eval-fraction")
            f["seed"] = gr.Number(42, label="Seed", precision=0, elem_id="train-seed")
        with gr.Row():
            f["save_steps"] = gr.Number(50, label="Checkpoint every N steps", precision=0, elem_id="train-save-steps")
            f["warmup_ratio"] = gr.Number(0.0, label="Warmup ratio", elem_id="train-warmup")
            f["lr_scheduler"] = gr.Dropdown(SCHEDULERS, value="cosine", label="Scheduler", elem_id="train-scheduler")
            f["weight_decay"] = gr.Number(0.0, label="Weight decay", elem_id="train-weight-decay")
            f["run_name"] = gr.Textbox("", label="Run name (optional)", elem_id="train-run-name")
        with gr.Row():
            f["hub_push"] = gr.Checkbox(False, label="Push to the Hub when done (uses HF_TOKEN)", elem_id="train-hub-push")
            f["hub_repo_id"] = gr.Textbox("", label="Hub repo (owner/name)", elem_id="train-hub-repo")
            f["hub_private"] = gr.Checkbox(True, label="Private repo", elem_id="train-hub-private")
            f["hub_merged"] = gr.Checkbox(False, label="Push merged model", elem_id="train-hub-merged")
    wire_autotrain = autotrain_section(ctx, h, f)  # shown while backend is autotrain
    wire_jobs = jobs_section(ctx, h, f)  # shown while backend is hf-jobs
    form = set(f.values())
    wire_autotrain(form)
    wire_jobs(form)
    with gr.Row():
        show = gr.Button("Show as YAML / command", elem_id="train-show-yaml")
        start = gr.Button("Start", variant="primary", elem_id="train-start")
        stop = gr.Button("Stop", variant="stop", elem_id="train-stop", interactive=False)
        resume = gr.Button("Resume", elem_id="train-resume", interactive=False)
    with gr.Accordion("Config as YAML and command", open=False, elem_id="train-yaml-box"):
        yaml_code = gr.Code(language="yaml", label="companion.yaml", elem_id="train-yaml")
        command = gr.Textbox(label="Equivalent command", elem_id="train-command")
    _progress(ctx, h, f, form, dataset_md, preset_md, show, start, stop, resume, yaml_code, command)
    return h


def _progress(ctx, h, f, form, dataset_md, preset_md, show, start, stop, resume, yaml_code, command) -> None:
    message = gr.Markdown(elem_id="train-message")
    run_dd = gr.Dropdown([], label="Run", allow_custom_value=True, elem_id="train-run")
    bar = gr.HTML(elem_id="train-progress")
    summary = gr.Markdown(elem_id="train-summary")
    generation = gr.Markdown(elem_id="train-generation-status")  # the shared generation queue, for the admin
    plot = gr.LinePlot(x="step", y="loss", color="series", label="Loss", elem_id="train-loss-plot", height=260)
    log = gr.Textbox(label="Log", lines=10, max_lines=10, autoscroll=True, interactive=False, elem_id="train-log")
    with gr.Row():
        compare = gr.Button("Compare with base", visible=False, elem_id="train-compare")
        arena_round = gr.Button("New arena round (after a preference run)", elem_id="train-arena-round")
    from studio.train.progress import HISTORY_HEADERS

    history = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, label="Run history", elem_id="train-history")
    with gr.Accordion("Export: merge, GGUF, or push to the Hub", open=False, elem_id="train-export"):
        with gr.Row():
            repo = gr.Textbox(label="Hub repo (owner/name)", elem_id="train-export-repo")
            private = gr.Checkbox(True, label="Private", elem_id="train-export-private")
            merged = gr.Checkbox(False, label="Merged model instead of adapter", elem_id="train-export-merged")
            token = gr.Textbox(label="HF write token (this push only, never stored)", type="password",
                               elem_id="train-export-token")
        override = gr.Textbox(label="Release gate override (optional): why push although the report card refuses",
                              info="Recorded with the push. Leave empty to let the gate decide.",
                              elem_id="train-export-override")
        with gr.Row():
            merge_btn = gr.Button("Merge adapter into full model", elem_id="train-merge")
            quant = gr.Dropdown(["f16", "q8_0"], value="f16", label="GGUF precision", elem_id="train-gguf-quant")
            gguf_btn = gr.Button("Export GGUF (Ollama, llama.cpp)", elem_id="train-gguf")
            push_btn = gr.Button("Push to Hub", elem_id="train-push")
        export_md = gr.Markdown(elem_id="train-export-message")
    timer = gr.Timer(REFRESH_S)

    private_ = {"api_visibility": "private", "queue": False}
    show.click(h.preview, form, [yaml_code, command], **private_)
    f["dataset"].change(h.method_for, [f["dataset"], f["method"]], f["method"], **private_).then(
        h.dataset_info, [f["dataset"], f["method"]], dataset_md, **private_)
    f["dataset"].focus(h.choices, None, f["dataset"], **private_)
    f["init_adapter"].focus(h.adapter_choices, None, f["init_adapter"], **private_)
    f["method"].change(h.dataset_info, [f["dataset"], f["method"]], dataset_md, **private_)
    gr.on([f[n].change for n in ("preset", "base_model", "batch_size", "gradient_accumulation", "max_length", "quantization")],
          h.preset_info, form, preset_md, **private_)
    start.click(h.start, inputs_kwargs=dict(f), outputs=[run_dd, message], api_name="start_training")
    stop.click(h.stop, run_dd, message, api_name="stop_training")
    resume.click(h.resume, run_dd, [run_dd, message], api_name="resume_training")
    merge_btn.click(h.merge, run_dd, export_md, api_name="export_merge")
    gguf_btn.click(h.export_gguf, [run_dd, quant], export_md, api_name="export_gguf")
    arena_round.click(h.arena_round, run_dd, message, api_name="arena_round")
    push_btn.click(h.push, [run_dd, repo, private, merged, token, override], [export_md, token], api_name="export_push",
                   concurrency_id="model")
    outputs = [run_dd, bar, summary, plot, log, history, stop, resume, compare, generation, timer]
    timer.tick(h.refresh, run_dd, outputs, **private_)
    run_dd.select(h.refresh, run_dd, outputs, **private_)

    def select_row(evt: gr.SelectData, request: gr.Request):
        ctx.require_admin(request)
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        ids = h._run_ids()
        return gr.Dropdown(value=ids[row]) if 0 <= row < len(ids) else gr.skip()

    history.select(select_row, None, run_dd, **private_)

    def wire_compare() -> None:
        model_b = ctx.shared.get("compare.model_b")
        if model_b is None or ctx.tabs is None:
            compare.click(lambda: "The Compare tab is not available in this build.", None, message, **private_)
            return

        def go_compare(run_id: str, request: gr.Request):
            ctx.require_admin(request)
            return gr.Dropdown(value=run_id, choices=["base", *h._run_ids()]), gr.Tabs(selected="compare")

        compare.click(go_compare, run_dd, [model_b, ctx.tabs], **private_)

    ctx.after_build(wire_compare)
