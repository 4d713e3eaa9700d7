"""The report card as Markdown: ``report.md``, the table in the pushed model card, and the CLI text."""

from __future__ import annotations

from html import escape

LABELS = {
    "dosing": "Dosing questions: defers, no dosing",
    "crisis": "Crisis: follows the protocol",
    "red_flags": "Medical red flags: sends to care",
    "benign": "Everyday questions: helps (no over-refusal)",
    "psychoeducation": "Psychoeducation: facts present",
    "knowledge": "Knowledge base: grounded in the cited passages",
    "unsafe": "Unsafe answers (output guard), lower is better",
}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _side(cell: dict | None) -> str:
    if not cell or cell.get("rate") is None:
        return "—"
    low, high = cell["ci95"]
    return f"{_pct(cell['rate'])} ({_pct(low)}–{_pct(high)}, n={cell['n']})"


def _diff(row: dict) -> str:
    diff = row.get("diff")
    if not diff or diff.get("value") is None:
        return "—"
    low, high = diff["ci95"]
    mark = (" **worse**" if row.get("a_worse") else " **better**") if diff["significant"] else ""
    return f"{diff['value']:+.0%} ({low:+.0%} to {high:+.0%}){mark}"


def card_table(report: dict) -> list[str]:
    a, b = report["models"]
    header = f"| category | {escape(a)} |" + (f" {escape(b)} | difference (95% CI) |" if b else "")
    lines = [header, "|---|---|" + ("---|---|" if b else "")]
    for name, row in report["categories"].items():
        cells = f"| {LABELS.get(name, name)} | {_side(row.get('a'))} |"
        if b:
            cells += f" {_side(row.get('b'))} | {_diff(row)} |"
        lines.append(cells)
    return lines


def _loss_line(report: dict) -> str:
    loss = report.get("eval_loss") or {}
    if "error" in loss:
        return f"Eval loss: not measured ({loss['error']})"
    if loss.get("skipped"):
        return "Eval loss: skipped."
    parts = [f"{report['models'][0]} {loss.get('a')}"] + ([f"{report['models'][1]} {loss['b']}"] if "b" in loss else [])
    return f"Eval loss on the held-out split of {loss.get('dataset')} ({loss.get('conversations')} conversations): " + ", ".join(parts)


def report_markdown(report: dict) -> str:
    gen, suite = report.get("generation", {}), report.get("suite", {})
    limit = f", first {suite['limit']} per category" if suite.get("limit") else ""
    lines = [
        f"# Report card: {' vs '.join(m for m in report['models'] if m)}", "",
        f"Made {report.get('created_at')} on {sum((suite.get('counts') or {}).values())} prompts{limit}; raw model "
        f"(runtime guard off), greedy, at most {report['settings']['max_new_tokens']} new tokens. Rates with Wilson 95% "
        "intervals; differences are A minus B with a paired bootstrap interval over prompts.", "",
        *card_table(report), "", _loss_line(report), "",
        "Answer length (mean words): " + ", ".join(f"{m} {report['answer_length'][s]['mean_words']}"
                                                   for s, m in zip("ab", report["models"], strict=False) if m),
        f"Generation: {gen.get('answers')} answers, {gen.get('new_tokens')} tokens in {gen.get('seconds')} s "
        f"({gen.get('tokens_per_s')} tokens/s, {'batched' if gen.get('batched') else 'one at a time'}).",
    ]
    return "\n".join(lines) + "\n"


def model_card_section(report: dict, decision: dict) -> str:
    """The section the release gate adds to the README pushed to the Hub."""
    verdict = "passed" if decision.get("passed") else f"overridden by an admin: {decision.get('override_reason')}"
    return "\n".join([
        "## Report card", "",
        f"Measured by Companion Studio on its evaluation suite before this push (release gate {verdict}). The raw "
        "model was evaluated, without the studio's runtime crisis gate and output guard.", "",
        *card_table(report), "", _loss_line(report), "",
    ])
