"""The Train tab's Hugging Face Jobs section: flavor, timeout, namespace, the estimate, and the admin's confirmation.

Shown only while the backend radio says ``hf-jobs``. Thin: the estimate comes from
``studio.train.hf_jobs_plan.build_plan`` and the launch goes through the manager like any run. Start
refuses an hf-jobs run until the admin ticked the confirmation under the estimate (the run is billed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from studio.ui.context import AppContext


def on_cpu_hardware() -> bool:
    """No NVIDIA driver here (cheap; importing torch at tab build is avoided)."""
    return not Path("/proc/driver/nvidia").exists()


def backend_info() -> str:
    if on_cpu_hardware():
        return ("This studio runs on CPU: hf-jobs (recommended) trains on a rented GPU billed per minute; trl trains "
                "here, slowly; autotrain is still available.")
    return "trl trains on this machine's GPU; hf-jobs rents another GPU billed per minute."


def require_confirmation(config, values: dict[str, Any]) -> None:
    if config.backend == "hf-jobs" and not values.get("jobs_confirm"):
        raise gr.Error("An hf-jobs run is billed to your Hugging Face account: press Estimate, check the flavor, "
                       "time and cost, and tick the confirmation before Start.")


class JobsHandlers:
    def __init__(self, ctx: AppContext, train_handlers):
        self.ctx, self.h, self.settings = ctx, train_handlers, ctx.settings

    def estimate(self, raw: dict, request: gr.Request = None) -> str:
        self.ctx.require_admin(request)
        from studio.train.hf_jobs import default_api
        from studio.train.hf_jobs_plan import JobsError, build_plan
        from studio.train.training_data import DatasetProblem

        try:
            return build_plan(self.h.config(raw), self.settings, default_api()).summary()
        except (JobsError, DatasetProblem) as exc:
            return f"⚠️ {exc}"


def jobs_section(ctx: AppContext, h, f: dict) -> Callable[[set], None]:
    """Lay out the section inside the form; returns the function that wires it once the form set exists."""
    from studio.train.hf_jobs_plan import KNOWN_FLAVORS

    j = h.jobs = JobsHandlers(ctx, h)
    token_note = "" if ctx.settings.hf_token else " It needs `HF_TOKEN` (a write token) in the studio's environment."
    with gr.Accordion("Hugging Face Jobs", open=True, visible=False, elem_id="train-jobs") as box:
        gr.Markdown("The studio's own training runs as a job on a Hub GPU, billed per minute to the token's account "
                    "(or the namespace); the adapter comes back into this run. See the README, *Where to train*."
                    + token_note)
        with gr.Row():
            f["jobs_flavor"] = gr.Dropdown(list(KNOWN_FLAVORS), value="a10g-small", allow_custom_value=True,
                                           label="Flavor", elem_id="train-jobs-flavor")
            f["jobs_timeout"] = gr.Textbox("2h", label="Timeout (e.g. 90m, 2h)", elem_id="train-jobs-timeout")
            f["jobs_namespace"] = gr.Textbox("", label="Namespace (empty = the token's user)",
                                             elem_id="train-jobs-namespace")
        estimate = gr.Button("Estimate time and cost", elem_id="train-jobs-estimate")
        plan_md = gr.Markdown(elem_id="train-jobs-plan")
        f["jobs_confirm"] = gr.Checkbox(False, label="I checked the estimate and confirm this billed run",
                                        elem_id="train-jobs-confirm")

    def wire(form: set) -> None:
        private = {"api_visibility": "private"}
        f["backend"].change(lambda b: gr.Accordion(visible=b == "hf-jobs"), f["backend"], box, queue=False, **private)
        estimate.click(j.estimate, form, plan_md, **private)
        for name in ("jobs_flavor", "jobs_timeout", "jobs_namespace"):  # a changed plan needs a new confirmation
            f[name].change(lambda: False, None, f["jobs_confirm"], queue=False, **private)

    return wire
