"""Formatting for the Dataset tab: editor state and validation results -> markdown, tables, plot data.

Pure functions (no event wiring), so the tab module stays a thin list of widgets and handlers.
"""

from __future__ import annotations

import html

from studio.data.editor import EditorState, issue_rows, table_rows, turn_rows

TABLE_HEADERS = ["#", "tags", "turns", "first user message", "tokens", "errors", "warnings"]
ISSUE_HEADERS = ["conversation", "severity", "code", "message"]
TURN_HEADERS = ["turn", "role", "content"]
VERSION_HEADERS = ["version", "examples", "saved at", "note", "author"]
MAX_ISSUES_SHOWN = 500
MAX_ROWS_SHOWN = 1000  # a browser table of 10,000 rows is slow to send after every edit; search narrows it


def version_info(state: EditorState | None, latest: int | None = None) -> str:
    if state is None or not state.name:
        return "No dataset open. Pick one and press **Open**, or create a new one."
    parts = [f"**{html.escape(state.name)}**"]
    if state.version:
        parts.append(f"based on v{state.version}" + (f" (latest is v{latest})" if latest and latest != state.version else ""))
    else:
        parts.append("new, not saved yet")
    if state.viewing:
        parts.append(f"viewing old version v{state.viewing}: saving makes it the newest version")
    parts.append(f"{len(state.convs)} conversations")
    parts.append("**unsaved changes**" if state.dirty else "saved")
    return " · ".join(parts)


def summary(state: EditorState | None, live: bool = True) -> str:
    if state is None or state.report is None:
        return "Not validated yet." if live else "Large dataset: press **Validate** to check it."
    r = state.report
    tokens = r.stats.get("tokens")
    line = f"**{r.examples}** conversations · **{len(r.errors)}** errors · **{len(r.warnings)}** warnings"
    if tokens:
        line += f" · tokens min {tokens['min']} / median {tokens['median']} / max {tokens['max']}"
        if "over_max_length" in tokens:
            line += f" · **{tokens['over_max_length']}** over max_length {tokens['max_length']}"
    if r.stats.get("lint") == "skipped":
        line += " · clinical lint skipped (safety layer unavailable)"
    return ("✅ " if r.ok else "❌ ") + line


def conversation_title(state: EditorState | None) -> str:
    if state is None or state.current is None:
        return "No conversation selected."
    return f"### Conversation {state.selected + 1} of {len(state.convs)}"


def conversation_issues(state: EditorState | None) -> str:
    if state is None or state.report is None or state.current is None:
        return ""
    found = state.report.issues_for(state.selected)
    if not found:
        return "✅ No issues in this conversation."
    return "\n".join(f"- {'❌' if kind == 'error' else '⚠️'} `{i.code}`: {html.escape(i.message)}" for kind, i in found)


def table(state: EditorState | None, query: str, tag: str, flags: list[str]):
    """The conversations table update, its label saying how many match (and if only the first ones are shown)."""
    import gradio as gr

    rows = table_rows(state, query, "" if tag in (None, "(all)") else tag, flags) if state else []
    label = f"Conversations: {len(rows)} of {len(state.convs) if state else 0} shown (click a row to edit)"
    if len(rows) > MAX_ROWS_SHOWN:
        label = f"Conversations: first {MAX_ROWS_SHOWN} of {len(rows)} matches shown (search to narrow; click a row to edit)"
    return gr.Dataframe(value=rows[:MAX_ROWS_SHOWN], label=label)


def issues(state: EditorState | None) -> list[list]:
    return issue_rows(state)[:MAX_ISSUES_SHOWN] if state else []


def turns(state: EditorState | None) -> list[list]:
    return turn_rows(state.current) if state else []


def histogram_frame(state: EditorState | None, max_length: int | None):
    import pandas as pd

    from studio.data.stats import histogram

    counts = [n for n in (state.report.token_counts if state and state.report else []) if n is not None]
    bars = histogram(counts, max_length or None)
    return pd.DataFrame(bars or [{"bin": "0", "start": 0, "count": 0, "side": "within max_length"}])


def histogram_plot(state: EditorState | None, max_length: int | None):
    """The bar plot update; bins keep their numeric order (the plot would sort labels as text)."""
    import gradio as gr

    frame = histogram_frame(state, max_length)
    return gr.BarPlot(value=frame, sort=list(frame["bin"]))


def versions_table(infos) -> list[list]:
    return [[v.version, v.examples, v.created_at, v.note, v.author] for v in reversed(infos)]


def preview_parts(state: EditorState | None, tokenizer, region: str = "US") -> tuple[str, str]:
    """(HTML, count line) for the selected conversation's template preview, placeholders rendered for ``region``."""
    from studio.data.placeholders import PlaceholderError, render_conversation
    from studio.data.schema import is_renderable
    from studio.data.template import template_preview

    conv = state.current if state else None
    if conv is None:
        return "", ""
    if tokenizer is None:
        return "", "Template preview unavailable: the base model's tokenizer could not be loaded."
    if not is_renderable(conv):
        return "", "❌ This conversation cannot be rendered yet: fix its roles and contents first."
    try:
        conv = render_conversation(conv, region)
    except PlaceholderError as exc:
        return "", f"❌ {exc}"
    result = template_preview(tokenizer, conv["messages"])
    if result.error:
        return result.body, f"❌ **{result.trained_tokens} trained tokens** of {result.total_tokens}: {result.error}"
    return result.body, (f"✅ **{result.trained_tokens} trained tokens** of {result.total_tokens}: green = trained (assistant turns "
                         "and their end-of-turn token), grey = prompt (not trained).")
