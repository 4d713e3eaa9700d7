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
    """Tables for the statistics panel: per model, overall rates, verdict, leaderboard, per rater."""
    if not stats.get("battles"):
        return "No votes yet."
    lines = [
        f"**{stats['battles']} battles** · tie rate {stats['tie_rate']:.0%} · **both bad {stats['both_bad_rate']:.0%}** "
        f"(a safety signal: neither answer was acceptable) · side A chosen in {stats['side_a_rate']:.0%} of decisive votes",
        "", f"**{verdict_line(stats)}**", "", votes_needed_line(stats), "",
        "| model | win rate | 95% CI (by rater & prompt) | naive CI | at equal length | battles | wins | ties | both bad |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in sorted(stats["models"].items(), key=lambda kv: -kv[1]["win_rate"]):
        lines.append(f"| {_cell(name)} | {row['win_rate']:.0%} | {_span(row['ci95'])} | {_span(row['ci95_naive'])} | "
                     f"{_pct(row['win_rate_length_controlled'])} | {row['battles']} | {row['wins']} | {row['ties']} | "
                     f"{row['both_bad']} |")
    lines += ["", length_line(stats)]
    if stats.get("leaderboard"):
        lines += ["", "**Bradley–Terry leaderboard**", "", "| # | model | rating | battles |", "|---|---|---|---|"]
        lines += [f"| {i} | {_cell(r['model'])} | {r['rating']:.0f} | {r['battles']} |"
                  for i, r in enumerate(stats["leaderboard"], start=1)]
    return "\n".join(lines + ["", *_rater_table(stats)])


def _rater_table(stats: dict) -> list[str]:
    lean_model = next((r["lean_model"] for r in stats["per_rater"].values() if r.get("lean_model")), None)
    lean = f"lean to {_cell(lean_model)}" if lean_model else "lean"
    lines = [f"| rater | votes | A | B | tie | both bad | strictness | {lean} | agreement (shared prompts) | median gap |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in stats["per_rater"].items():
        agreement = f"{_pct(r['agreement'])} ({r['shared_prompts']})" if r["agreement"] is not None else "–"
        gap = f"{r['median_gap_s']:.0f} s" if r["median_gap_s"] is not None else "–"
        lines.append(f"| {_cell(name)} | {r['votes']} | {r['a']} | {r['b']} | {r['tie_rate']:.0%} | "
                     f"{r['both_bad_rate']:.0%} | {_signed(r['strictness'])} | {_signed(r['lean'])} | {agreement} | {gap} |")
    return lines + ["", "Strictness: both-bad rate minus the other raters'. Lean: mean score given to the leader "
                        "minus the other raters'. Agreement: same outcome as another rater on the same prompt and pair."]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _span(interval: list[float] | None) -> str:
    return "–" if not interval else f"{interval[0]:.0%}–{interval[1]:.0%}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.0f} pts"


def verdict_line(stats: dict) -> str:
    """The stopping rule's verdict in one sentence (plain text: the CLI prints it too)."""
    d = stats.get("decision")
    if not d or d["score"] is None:
        return "Verdict: keep voting (no head-to-head votes yet)."
    first, second = d["pair"]
    pairs = d.get("comparisons", 1)
    across = f" across the {pairs} pairs that met (Bonferroni)" if pairs > 1 else ""
    return (f"Verdict for {first} vs {second}: {d['verdict']} (error rate at most {d['error_rate']:.0%}{across}, even "
            f"when checked after every vote, if the estimated design effect of {d['design_effect']:.2f} for rater and "
            f"prompt clustering is about right; {second} scores {d['score']:.0%}, always-valid interval "
            f"{_span(d['interval'])}; \"no difference\" needs it inside 50% ± {d['margin']:.0%})")


def votes_needed_line(stats: dict) -> str:
    plan = stats.get("votes_needed")
    if not plan:
        return "Votes needed: no head-to-head votes yet."
    if plan["votes"] is None:
        return f"Votes needed: none to plan ({plan['note']})."
    more = f"{plan['votes']:,}{'+' if plan['capped'] else ''}"
    return (f"Votes needed: {more} more for the verdict to settle with {plan['power']:.0%} power ({plan['note']}; "
            f"design effect {plan['design_effect']:.2f}, estimated from rater and prompt clustering).")


def length_line(stats: dict) -> str:
    length = stats.get("length_control")
    if not length:
        return "Length-controlled win rates: not available (no vote carries both response texts)."
    return (f"Length-controlled win rates: Bradley–Terry with the normalized length difference in {length['measure']} "
            f"(length coefficient {length['coefficient']:+.2f}; positive means longer answers win more; "
            f"from the {length['votes']:,} votes with both response texts).")
