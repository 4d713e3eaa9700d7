"""The Arena tab's "Raters" panel (admins): invite links, revocation, and whose votes count.

Handlers are module functions (tests call them directly); each checks the admin role itself, since
a hidden panel is not a lock. The core is ``studio.compare.raters``; the CLI twin is
``python -m studio raters ...``. A new link is shown once, here, and is stored nowhere but as a hash.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from studio.ui.context import AppContext

HEADER = "| rater | invite | expires | votes | quick votes (not read) | counted | exclusion reason |\n|---|---|---|---|---|---|---|\n"


def _cell(value) -> str:
    return str(value if value is not None else "—").replace("|", "\\|").replace("\n", " ")


def table(ctx: AppContext, request: gr.Request | None = None) -> str:
    ctx.require_admin(request)
    from studio.compare.raters import list_raters

    rows = list_raters(ctx.settings)
    if not rows:
        return "No raters yet: create an invite above, or wait for the first signed-in vote."
    return HEADER + "".join(
        f"| {_cell(r['name'])} | {r['invite']} | {_cell(r['expires'])} | {r['votes']} | {r['quick_votes']} | "
        f"{'no' if r['excluded'] else 'yes'} | {_cell(r['reason'])} |\n" for r in rows)


def _run(ctx: AppContext, request: gr.Request | None, action) -> str:
    """Check the role, run one core action, and turn its refusal into a message for the admin."""
    who = ctx.require_admin(request)
    from studio.compare.raters import RaterError

    try:
        return action(who.name)
    except RaterError as exc:
        raise gr.Error(str(exc)) from None


def invite(ctx: AppContext, name: str, days: float, request: gr.Request | None = None) -> tuple[str, str, str]:
    """-> (the link, shown once; a note; the refreshed table)."""
    from studio.compare.raters import create_invite

    created: dict = {}

    def make(by: str) -> str:
        created.update(create_invite(ctx.settings, name, int(days or 0), by=by))
        return f"Invite for **{created['name']}**, valid until {created['expires']}. Send the link to them only; it is not shown again."

    note = _run(ctx, request, make)
    return created["link"], note, table(ctx, request)


def revoke(ctx: AppContext, name: str, request: gr.Request | None = None) -> tuple[str, str]:
    from studio.compare.raters import revoke_invites

    note = _run(ctx, request, lambda by: f"Revoked {revoke_invites(ctx.settings, name, by=by)} invite(s) of {name.strip()}.")
    return note, table(ctx, request)


def exclude(ctx: AppContext, name: str, reason: str, request: gr.Request | None = None) -> tuple[str, str]:
    from studio.compare.raters import exclude_rater, unknown_rater_warning

    def run(by: str) -> str:
        record = exclude_rater(ctx.settings, name, reason, by=by)
        note = f"{record['rater']}'s votes no longer count in the statistics or the export (they stay stored)."
        return note if record["known"] else f"{note} **{unknown_rater_warning(record['rater'])}**"

    return _run(ctx, request, run), table(ctx, request)


def include(ctx: AppContext, name: str, request: gr.Request | None = None) -> tuple[str, str]:
    from studio.compare.raters import include_rater

    note = _run(ctx, request, lambda by: f"{include_rater(ctx.settings, name, by=by)['rater']}'s votes count again.")
    return note, table(ctx, request)


def build(ctx: AppContext) -> gr.Accordion:
    """The panel, hidden until an admin opens the page."""
    with gr.Accordion("Raters (admins)", open=False, visible=False, elem_id="raters-panel") as panel:
        gr.Markdown("A personal invite link signs one named rater in, with no Hugging Face account and no shared "
                    "password. Votes cast within 2 seconds of the battle starting are stored but counted as *quick*.")
        w = SimpleNamespace(
            name=gr.Textbox(label="Rater's name", max_lines=1, elem_id="raters-name"),
            days=gr.Number(30, label="Valid for (days)", precision=0, minimum=1, maximum=365, elem_id="raters-days"),
            reason=gr.Textbox(label="Reason (for an exclusion)", max_lines=2, elem_id="raters-reason"),
            link=gr.Textbox(label="Invite link (shown once)", interactive=False, buttons=["copy"], elem_id="raters-link"),
            note=gr.Markdown(elem_id="raters-note"),
            table=gr.Markdown(elem_id="raters-table"),
        )
        with gr.Row():
            buttons = {key: gr.Button(label, size="sm", elem_id=f"raters-{key}") for key, label in (
                ("invite", "Create invite link"), ("revoke", "Revoke invites"), ("exclude", "Exclude votes"),
                ("include", "Count votes again"), ("refresh", "Refresh"))}

    def on_invite(name: str, days: float, request: gr.Request):
        return invite(ctx, name, days, request)

    def on_revoke(name: str, request: gr.Request):
        return revoke(ctx, name, request)

    def on_exclude(name: str, reason: str, request: gr.Request):
        return exclude(ctx, name, reason, request)

    def on_include(name: str, request: gr.Request):
        return include(ctx, name, request)

    def on_refresh(request: gr.Request):
        return table(ctx, request)

    def show(request: gr.Request):
        return gr.Accordion(visible=ctx.caller(request).is_admin)

    buttons["invite"].click(on_invite, [w.name, w.days], [w.link, w.note, w.table], api_name="raters_invite")
    buttons["revoke"].click(on_revoke, w.name, [w.note, w.table], api_name="raters_revoke")
    buttons["exclude"].click(on_exclude, [w.name, w.reason], [w.note, w.table], api_name="raters_exclude")
    buttons["include"].click(on_include, w.name, [w.note, w.table], api_name="raters_include")
    buttons["refresh"].click(on_refresh, None, w.table, api_name="raters_list")
    panel.expand(on_refresh, None, w.table, queue=False, api_visibility="private")
    gr.on(None, show, None, panel, queue=False, api_visibility="private")
    return panel
