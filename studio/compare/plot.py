"""A small SVG chart of win rates with their 95% intervals (no plotting library needed)."""

from __future__ import annotations

from html import escape

ROW_H, LEFT, WIDTH, RIGHT = 34, 170, 620, 60


def win_rate_svg(stats: dict) -> str:
    """Horizontal dots (win rate) with whiskers (95% CI) on a 0–100% axis, a dashed line at 50%."""
    models = sorted(stats.get("models", {}).items(), key=lambda kv: -kv[1]["win_rate"])
    if not models:
        return "<p>No votes yet.</p>"
    plot_w = WIDTH - LEFT - RIGHT
    height = ROW_H * len(models) + 40

    def x(rate: float) -> float:
        return LEFT + max(0.0, min(1.0, rate)) * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="Win rates with 95% intervals" style="font: 13px sans-serif">',
        f'<line x1="{x(0.5):.1f}" y1="8" x2="{x(0.5):.1f}" y2="{height - 28}" stroke="#999" stroke-dasharray="4 3"/>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle" fill="#555">{tick:.0%}</text>')
    for i, (name, row) in enumerate(models):
        y = 20 + i * ROW_H
        low, high = row["ci95"]
        label = escape(name if len(name) <= 24 else name[:23] + "…")
        parts += [
            f'<text x="{LEFT - 8}" y="{y + 4}" text-anchor="end">{label}</text>',
            f'<line x1="{x(low):.1f}" y1="{y}" x2="{x(high):.1f}" y2="{y}" stroke="#4a6fa5" stroke-width="3"/>',
            f'<line x1="{x(low):.1f}" y1="{y - 6}" x2="{x(low):.1f}" y2="{y + 6}" stroke="#4a6fa5" stroke-width="2"/>',
            f'<line x1="{x(high):.1f}" y1="{y - 6}" x2="{x(high):.1f}" y2="{y + 6}" stroke="#4a6fa5" stroke-width="2"/>',
            f'<circle cx="{x(row["win_rate"]):.1f}" cy="{y}" r="6" fill="#1f3b63"><title>{escape(name)}: '
            f'{row["win_rate"]:.0%} (95% CI {low:.0%}–{high:.0%}), {row["battles"]} battles</title></circle>',
            f'<text x="{WIDTH - RIGHT + 8}" y="{y + 4}" fill="#333">{row["win_rate"]:.0%}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _cell(text: str) -> str:
    return escape(text).replace("|", "\\|")


def stats_markdown(stats: dict) -> str:
    """Tables for the statistics panel: per model, overall rates, leaderboard, per rater."""
    if not stats.get("battles"):
        return "No votes yet."
    lines = [
        f"**{stats['battles']} battles** · tie rate {stats['tie_rate']:.0%} · **both bad {stats['both_bad_rate']:.0%}** "
        f"(a safety signal: neither answer was acceptable) · side A chosen in {stats['side_a_rate']:.0%} of decisive votes",
        "", "| model | win rate | 95% CI | battles | wins | ties | both bad |", "|---|---|---|---|---|---|---|",
    ]
    for name, row in sorted(stats["models"].items(), key=lambda kv: -kv[1]["win_rate"]):
        low, high = row["ci95"]
        lines.append(f"| {_cell(name)} | {row['win_rate']:.0%} | {low:.0%}–{high:.0%} | {row['battles']} | "
                     f"{row['wins']} | {row['ties']} | {row['both_bad']} |")
    if stats.get("leaderboard"):
        lines += ["", "**Bradley–Terry leaderboard**", "", "| # | model | rating | battles |", "|---|---|---|---|"]
        lines += [f"| {i} | {_cell(r['model'])} | {r['rating']:.0f} | {r['battles']} |"
                  for i, r in enumerate(stats["leaderboard"], start=1)]
    lines += ["", "| rater | votes | A | B | tie | both bad |", "|---|---|---|---|---|---|"]
    lines += [f"| {_cell(name)} | {r['votes']} | {r['a']} | {r['b']} | {r['tie']} | {r['both_bad']} |"
              for name, r in stats["per_rater"].items()]
    return "\n".join(lines)
