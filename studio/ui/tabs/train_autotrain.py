"""The Train tab's AutoTrain section: hardware (local or a Space GPU), its environment, the generated YAML.

Shown only while the backend radio says ``autotrain``. Thin like the rest of the tab: the YAML comes
from ``studio.train.autotrain_plan.autotrain_preview`` (token only as ``${HF_TOKEN}``), the environment
from ``studio.train.autotrain_env``; nothing heavy is imported until a handler runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import gradio as gr

from studio.ui.context import AppContext


def hardware_choices() -> list[str]:
    from studio.train.config import AUTOTRAIN_HARDWARE

    return list(AUTOTRAIN_HARDWARE)


class AutoTrainHandlers:
    def __init__(self, ctx: AppContext, train_handlers):
        self.ctx, self.h, self.settings = ctx, train_handlers, ctx.settings

    def env_status(self, request: gr.Request = None) -> str:
        self.ctx.require_admin(request)
        from studio.train.autotrain_env import environment_status

        s = environment_status(self.settings)
        if s["building"]:
            return "⏳ The AutoTrain environment is being built (about 4 minutes and 3 GB, once)."
        if not s["ready"]:
            return ("AutoTrain's environment is not built yet: it is built on the first AutoTrain run "
                    "(about 4 minutes and 3 GB), or now with **Build environment**.")
        v = s["versions"]
        return (f"✅ AutoTrain {v.get('autotrain')} ready (transformers {v.get('transformers')}, torch {v.get('torch')}; "
                f"{s.get('size_mb')} MB at `{s['path']}`).")

    def build_env(self, request: gr.Request = None) -> Iterator[str]:
        """Build (or check) the environment, streaming its progress lines."""
        self.ctx.require_admin(request)
        from studio.train.autotrain_env import ensure_environment

        lines: list[str] = []
        done = threading.Event()
        errors: list[str] = []

        def work() -> None:
            try:
                ensure_environment(self.settings, progress=lines.append)
            except Exception as exc:  # shown in the box; the next click retries
                from studio.util.redact import redact

                errors.append(redact(str(exc)))
            finally:
                done.set()

        threading.Thread(target=work, daemon=True, name="autotrain-env-build").start()
        while not done.wait(1.0):
            yield "\n\n".join(["⏳ Preparing the AutoTrain environment…", *lines[-8:]])
        yield f"❌ {errors[0]}" if errors else self.env_status(request)

    def yaml(self, raw: dict, request: gr.Request = None) -> str:
        self.ctx.require_admin(request)
        from studio.train.autotrain_plan import autotrain_preview

        return autotrain_preview(self.h.config(raw), self.settings)

    def space(self, request: gr.Request = None) -> str:
        """Link and live stage of the newest run that trains on a Space."""
        self.ctx.require_admin(request)
        from studio.train.autotrain_spaces import space_state
        from studio.train.runs import iter_runs

        for run in iter_runs(self.settings):
            status = run.status()
            if status.get("space_id"):
                live = space_state(status["space_id"], self.settings.hf_token)
                stage = live["stage"] + (f" ({live['error']})" if live.get("error") else "")
                return (f"Run **{run.run_id}** ({status.get('state')}): training Space "
                        f"[{status['space_id']}]({status['space_url']}), stage **{stage}**; "
                        f"adapter repo `{status.get('model_repo')}`.")
        return "No run has used a training Space yet."


def autotrain_section(ctx: AppContext, h, f: dict) -> Callable[[set], None]:
    """Lay out the section inside the form; returns the function that wires it once the form set exists."""
    a = h.autotrain = AutoTrainHandlers(ctx, h)  # reachable from the tab's handlers (and tests)
    has_token = bool(ctx.settings.hf_token)
    with gr.Accordion("AutoTrain", open=True, visible=False, elem_id="train-autotrain") as box:
        gr.Markdown("AutoTrain Advanced 0.8.36 trains the same config in its own environment, here or on a rented "
                    "GPU Space (billed per hour to the token's account; see the README). "
                    + ("" if has_token else "Space GPUs need `HF_TOKEN` in the studio's environment."))
        with gr.Row():
            f["autotrain_hardware"] = gr.Dropdown(hardware_choices() if has_token else ["local"], value="local",
                                                  label="Hardware", elem_id="train-autotrain-hardware")
            f["autotrain_username"] = gr.Textbox(ctx.settings.space_author or "", label="Space owner (user/org)",
                                                 elem_id="train-autotrain-username")
        env_md = gr.Markdown(elem_id="train-autotrain-env")
        with gr.Row():
            build = gr.Button("Build environment", elem_id="train-autotrain-build")
            show = gr.Button("Show AutoTrain YAML", elem_id="train-autotrain-show")
            space = gr.Button("Training Space state", elem_id="train-autotrain-space")
        space_md = gr.Markdown(elem_id="train-autotrain-space-state")
        code = gr.Code(language="yaml", label="AutoTrain config", elem_id="train-autotrain-yaml")

    def wire(form: set) -> None:
        private = {"api_visibility": "private"}
        f["backend"].change(lambda b: gr.Accordion(visible=b == "autotrain"), f["backend"], box, queue=False, **private)
        f["backend"].change(a.env_status, None, env_md, queue=False, **private)
        build.click(a.build_env, None, env_md, concurrency_limit=1, **private)
        show.click(a.yaml, form, code, **private)
        space.click(a.space, None, space_md, **private)

    return wire
