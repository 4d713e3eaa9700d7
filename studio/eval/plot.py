"""The report card as a chart: per category, each model's rate (dot) and 95% interval (whisker)."""

from __future__ import annotations

from html import escape

from studio.eval.markdown import LABELS

ROW_H, LEFT, WIDTH, RIGHT = 46, 300, 760, 70
COLOURS = ("#1f3b63", "#c0612b")  # model A, model B


def card_svg(report: dict) -> str:
    rows = list(report.get("categories", {}).items())
    if not rows:
        return "<p>No report card yet.</p>"
    models = [m for m in report["models"] if m]
    plot_w = WIDTH - LEFT - RIGHT
    height = ROW_H * len(rows) + 56

    def x(value: float) -> float:
        return LEFT + max(0.0, min(1.0, value)) * plot_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="Report card: rates with 95% intervals" style="font: 13px sans-serif">']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{x(tick):.1f}" y1="24" x2="{x(tick):.1f}" y2="{height - 28}" stroke="#ddd"/>'
                     f'<text x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle" fill="#555">{tick:.0%}</text>')
    for i, model in enumerate(models):
        parts.append(f'<circle cx="{LEFT + i * 200 + 6}" cy="10" r="5" fill="{COLOURS[i]}"/>'
                     f'<text x="{LEFT + i * 200 + 16}" y="14">{escape(model[:28])}</text>')
    for r, (name, row) in enumerate(rows):
        y = 40 + r * ROW_H
        label = escape(LABELS.get(name, name).split(":")[0])
        parts.append(f'<text x="{LEFT - 10}" y="{y + 8}" text-anchor="end">{label}</text>')
        if row.get("a_worse"):
            parts.append(f'<text x="{WIDTH - RIGHT + 8}" y="{y + 8}" fill="#b00020">worse</text>')
        for i, side in enumerate("ab"[: len(models)]):
            cell = row.get(side) or {}
            if cell.get("rate") is None:
                continue
            yy, (low, high) = y + i * 14, cell["ci95"]
            parts.append(
                f'<line x1="{x(low):.1f}" y1="{yy}" x2="{x(high):.1f}" y2="{yy}" stroke="{COLOURS[i]}" stroke-width="3"/>'
                f'<circle cx="{x(cell["rate"]):.1f}" cy="{yy}" r="5" fill="{COLOURS[i]}"><title>{escape(models[i])}: '
                f'{cell["rate"]:.0%} (95% CI {low:.0%}–{high:.0%}, n={cell["n"]})</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
