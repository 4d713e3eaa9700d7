"""Compare › Report card (admins): two models' cards side by side, drill-down, and the arena next to it.

Thin: widgets in, ``studio.eval`` out. The card of the chosen pair is kept in ``gr.State`` (per
browser session), so the drill-down filters it without reading files again.
"""

from __future__ import annotations

import gradio as gr

from studio.ui.context import AppContext

DRILL_HEADERS = ["id", "category", "prompt", "answer (model)", "result", "answer (against)", "result "]


class ReportHandlers:
    def __init__(self, ctx: AppContext):
        self.ctx, self.settings = ctx, ctx.settings

    def make(self, model: str, against: str, limit, max_new_tokens, request: gr.Request = None,
             progress=gr.Progress()):
        """Make a fresh card (minutes on a CPU: the progress bar counts answers)."""
        self.ctx.require_admin(request)
        from studio.eval.card import CardRequest, make_card

        def say(message: str) -> None:
            done, _, total = message.partition("/")
            if message.startswith("generated") and total:
                progress((int(done.split()[-1]), int(total.split()[0])), desc="answering the suite")
            else:
                progress(0, desc=message)

        try:
            request_ = CardRequest(model=_pick(model), against=_pick(against, None), limit=int(limit or 0) or None,
                                   max_new_tokens=int(max_new_tokens or 160))
            report = make_card(request_, self.settings, say)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None
        return self._show(report)

    def load(self, model: str, against: str, request: gr.Request = None):
        """The stored card of this pair, if one was made (from here or ``python -m studio eval``)."""
        self.ctx.require_admin(request)
        from studio.eval.files import load_card

        report = load_card([_pick(model), _pick(against, None)], self.settings)
        if report is None:
            raise gr.Error(f"No stored report card for {_pick(model)} against {_pick(against, None) or 'nothing'}: make one.")
        return self._show(report)

    def _show(self, report: dict):
        from studio.eval.markdown import report_markdown
        from studio.eval.plot import card_svg

        return report, card_svg(report), report_markdown(report) + self._verdict(report) + self._arena(report)

    def _verdict(self, report: dict) -> str:
        from studio.eval.files import is_run
        from studio.eval.release import baseline_for, gate_decision

        model, against = report["models"]
        if not is_run(model, self.settings) or against != baseline_for(self.settings, model):
            return ""  # the gate judges a run against its own base only
        decision = gate_decision(report, self.settings.unsafe_ceiling_pct / 100)
        if decision["passed"]:
            return "\n**Release gate: would pass.**\n"
        return "\n**Release gate: would refuse** — " + "; ".join(decision["reasons"]) + ".\n"

    def _arena(self, report: dict) -> str:
        from studio.compare.arena import store
        from studio.compare.stats import compute_stats

        pair = {m for m in report["models"] if m}
        votes = [v for v in store(self.settings).votes(include_excluded=False) if {v["model_a"], v["model_b"]} == pair]
        if len(pair) < 2 or not votes:
            return "\nArena: no votes between these two models yet."
        rows = compute_stats(votes)["models"]
        parts = [f"{m} {r['win_rate']:.0%} ({r['ci95'][0]:.0%}–{r['ci95'][1]:.0%})" for m, r in rows.items()]
        return f"\nArena ({len(votes)} votes between them): win rate " + ", ".join(parts) + "."

    def drill(self, report: dict | None, category: str, only_differences: bool) -> list[list]:
        from studio.eval.files import load_answers

        if not report:
            return []
        rows = []
        for record in load_answers(report):
            if category not in ("", "all", None) and record["category"] != category:
                continue
            if only_differences and not record.get("differs"):
                continue
            b = record.get("b") or {}
            rows.append([record["id"], record["category"], record["prompt"], record["a"]["text"], _result(record["a"]),
                         b.get("text", ""), _result(b) if b else ""])
        return rows


def _pick(value: str | None, default: str | None = "base") -> str | None:
    value = (value or "").strip()
    return value or default


def _result(answer: dict) -> str:
    mark = "✅" if answer.get("passed") else "❌"
    unsafe = " ⚠️ unsafe" if answer.get("unsafe") else ""
    return f"{mark} {answer.get('reason', '')}{unsafe}"


def _errors():
    from studio.eval.generate import EvalGenerationError
    from studio.eval.suite import SuiteError

    return (SuiteError, EvalGenerationError, ValueError)


def build(ctx: AppContext) -> None:
    from studio.eval.suite import CATEGORIES

    h = ReportHandlers(ctx)
    gr.Markdown("Is the tuned model better and safer than the base? The raw model answers the eval suite "
                "(runtime guard off); each category shows rates with 95% intervals. Pushing a run to the Hub "
                "runs this card against `base` first.")
    with gr.Row():
        model = gr.Dropdown(["base"], value="base", label="Model (the one judged)", allow_custom_value=True,
                            elem_id="report-model")
        against = gr.Dropdown(["base"], value="base", label="Against", allow_custom_value=True, elem_id="report-against")
        limit = gr.Number(0, label="Prompts per category (0 = all)", precision=0, elem_id="report-limit")
        max_new = gr.Slider(16, 512, value=160, step=16, label="Max new tokens", elem_id="report-max-new")
    with gr.Row():
        make = gr.Button("Make report card", variant="primary", elem_id="report-make")
        load = gr.Button("Show stored card", elem_id="report-load")
    card = gr.State(None)
    chart = gr.HTML(elem_id="report-chart")
    summary = gr.Markdown(elem_id="report-summary")
    with gr.Row():
        category = gr.Dropdown(["all", *CATEGORIES], value="all", label="Prompts in", elem_id="report-category")
        only_diff = gr.Checkbox(True, label="Only where the two models differ", elem_id="report-only-diff")
    table = gr.Dataframe(headers=DRILL_HEADERS, interactive=False, wrap=True, elem_id="report-prompts")

    def refresh(current):
        from studio.compare.models import model_choices

        return gr.Dropdown(choices=model_choices(ctx.settings), value=current)

    for dropdown in (model, against):
        dropdown.focus(refresh, dropdown, dropdown, queue=False, api_visibility="private")
    outputs = [card, chart, summary]
    make.click(h.make, [model, against, limit, max_new], outputs, api_name="report_make", concurrency_id="model").then(
        h.drill, [card, category, only_diff], table, api_visibility="private")
    load.click(h.load, [model, against], outputs, api_name="report_load").then(
        h.drill, [card, category, only_diff], table, api_visibility="private")
    for widget in (category, only_diff):
        widget.change(h.drill, [card, category, only_diff], table, queue=False, api_visibility="private")
