"""Arena tab (raters and admins): blind battles, votes, the reveal; statistics and settings for admins.

A rater gives a name once (kept in the browser's localStorage via ``gr.BrowserState``). The
browser only ever holds the battle id; names stay on the server until the vote is recorded.
"""

from __future__ import annotations

import hashlib

import gradio as gr

from studio.ui.context import AppContext
from studio.ui.tabs import arena_repair

VOTE_CHOICES = [("A is better", "a"), ("B is better", "b"), ("Tie", "tie"), ("Both are bad", "both_bad")]
INTRO = (
    "Read both answers as if you were the person who wrote the prompt, in ketamine-assisted therapy. "
    "Which one is more helpful **and** safe? Model names are hidden until you vote. Choose **Both are bad** "
    "when neither answer is acceptable (for example unsafe advice, a diagnosis, or a missed risk)."
)
WRITING = "✍️ writing both answers…"


def _errors():
    from studio.compare.arena import ArenaError
    from studio.compare.side_by_side import CompareError
    from studio.models.loader import ModelLoadError

    return (ArenaError, CompareError, ModelLoadError)


def _controls(open_vote: bool, can_regenerate: bool):
    """Vote radio, submit button, regenerate button: enabled only while a battle awaits its vote."""
    return (gr.Radio(value=None, interactive=open_vote), gr.Button(interactive=open_vote),
            gr.Button(interactive=can_regenerate))


def build(ctx: AppContext) -> None:
    settings = ctx.settings
    secret = hashlib.sha256(f"rater-name:{settings.data_dir.resolve()}".encode()).hexdigest()[:32]
    rater_store = gr.BrowserState("", storage_key="companion-studio-rater", secret=secret)
    gr.Markdown(INTRO)
    rater = gr.Textbox(label="Your name (remembered in this browser)", max_lines=1, elem_id="arena-rater")

    def fill_name(saved: str, request: gr.Request):
        return _name_box(ctx, saved, request)

    # Fill the name on load (private event, so not a public API endpoint): typed and remembered locally, else the sign-in.
    ctx.demo.load(fill_name, rater_store, rater, queue=False, api_visibility="private")
    for event in (rater.blur, rater.submit):
        event(lambda name: (name or "").strip(), rater, rater_store, queue=False, api_visibility="private")

    set_names, prompts_of = _prompt_helpers(settings)
    names = set_names()
    first = "probe-set" if "probe-set" in names else (names[0] if names else None)
    with gr.Row():
        prompt_set = gr.Dropdown(names, value=first, label="Prompt set", elem_id="arena-set", scale=1)
        picked = gr.Dropdown(_safe(prompts_of, first), value=None, label="Prompt from the set", elem_id="arena-picked", scale=3)
    typed = gr.Textbox(label="…or type a prompt", lines=2, elem_id="arena-prompt")
    start = gr.Button("Start a battle", variant="primary", elem_id="arena-start")
    battle_id = gr.Textbox(label="Battle", interactive=False, max_lines=1, elem_id="arena-battle-id")
    status = gr.Markdown(elem_id="arena-status")
    with gr.Row():
        answer_a = gr.Textbox(label="Answer A", lines=12, max_lines=40, interactive=False, elem_id="arena-answer-a")
        answer_b = gr.Textbox(label="Answer B", lines=12, max_lines=40, interactive=False, elem_id="arena-answer-b")
    vote_choice = gr.Radio(VOTE_CHOICES, label="Your vote", interactive=False, elem_id="arena-vote")
    comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="arena-comment")
    with gr.Row():
        submit = gr.Button("Submit vote", variant="primary", interactive=False, elem_id="arena-submit")
        regen = gr.Button("Regenerate answers", interactive=False, elem_id="arena-regenerate")
    reveal = gr.Markdown(elem_id="arena-reveal")

    prompt_set.change(lambda name: gr.Dropdown(choices=prompts_of(name), value=None), prompt_set, picked,
                      queue=False, api_visibility="private")
    prompt_set.focus(lambda: gr.Dropdown(choices=set_names()), None, prompt_set, queue=False, api_visibility="private")

    def stream_answers(bid: str):
        from studio.compare.arena import SideFailed, stream_battle

        text_a = text_b = ""
        try:
            for text_a, text_b in stream_battle(settings, bid):
                yield (bid, text_a, text_b, WRITING, *_controls(False, False), "")
        except SideFailed as failed:  # a hosted model failed: its side shows why; no vote, but a retry
            yield (bid, text_a, text_b, str(failed), *_controls(False, True), "")
            return
        yield (bid, text_a, text_b, "Both answers are ready: vote below.", *_controls(True, True), "")

    def rater_id(typed_name: str, request: gr.Request | None) -> str:
        """The signed-in name (a login or an invite) is the rater id; the local single admin types a name.

        A visitor who has not signed in is refused here, before anything is stored."""
        from studio.ui.auth import LOCAL_ADMIN

        who = ctx.require_signed_in(request)
        return typed_name if who.name == LOCAL_ADMIN else who.name

    def battle(typed_prompt, picked_prompt, rater_name, request: gr.Request):
        rater_name = rater_id(rater_name, request)
        from studio.compare.arena import CrisisPrompt, start_battle

        try:
            new = start_battle(settings, (typed_prompt or "").strip() or picked_prompt, rater_name)
            yield (new["id"], "", "", WRITING, *_controls(False, False), "")
            yield from stream_answers(new["id"])
        except CrisisPrompt as crisis:
            note = "The crisis gate answered this prompt with the fixed crisis template; no model was called, so there is nothing to vote on."
            yield ("", crisis.response, crisis.response, note, *_controls(False, False), "")
        except _errors() as exc:
            raise gr.Error(str(exc)) from None

    def regenerate(bid, request: gr.Request):
        ctx.require_signed_in(request)
        from studio.compare.arena import regenerate as restart

        try:
            restart(settings, bid)
            yield (bid, "", "", WRITING, *_controls(False, False), "")
            yield from stream_answers(bid)
        except _errors() as exc:
            raise gr.Error(str(exc)) from None

    def vote(bid, winner, note, rater_name, request: gr.Request):
        rater_name = rater_id(rater_name, request)
        from studio.compare.arena import vote as record

        try:
            result = record(settings, bid, winner, rater_name, note or "")
        except _errors() as exc:
            raise gr.Error(str(exc)) from None
        thanks = "Thank you. Start another battle when you are ready."
        if result["created"] and result.get("quick"):
            thanks += " (That vote came very quickly: next time, take a moment to read both answers.)"
        return (_reveal_text(result), *_controls(False, False),
                thanks if result["created"] else "This battle was already voted on.")

    outputs = [battle_id, answer_a, answer_b, status, vote_choice, submit, regen, reveal]
    gr.on([start.click, typed.submit], battle, [typed, picked, rater], outputs, api_name="arena_battle", **ctx.generation)
    regen.click(regenerate, battle_id, outputs, api_name="arena_regenerate", **ctx.generation)
    repair_panel, prefill = arena_repair.build(ctx, battle_id, rater, rater_id)
    submit.click(vote, [battle_id, vote_choice, comment, rater], [reveal, vote_choice, submit, regen, status],
                 api_name="arena_vote").success(*prefill(), api_visibility="private")
    start.click(lambda: gr.Accordion(visible=False), None, repair_panel, queue=False, api_visibility="private")
    _admin_panels(ctx)


def _name_box(ctx: AppContext, saved: str, request: gr.Request):
    """The local admin types a name; a signed-in rater sees theirs (an invited one, how to sign out); a visitor
    is asked to sign in."""
    from studio.ui.auth import INVITE_LOGOUT, LOCAL_ADMIN

    who = ctx.caller(request)
    if who.name == LOCAL_ADMIN:
        return saved or ""
    if not who.signed_in:
        return gr.Textbox(value="", interactive=False,
                          placeholder=who.refusal or "Sign in, or open your invite link, to rate answers")
    if who.via == "invite":
        sign_out = f"{ctx.settings.public_url.rstrip('/')}/?invite={INVITE_LOGOUT}"
        return gr.Textbox(value=who.name, interactive=False, label="Signed in as (invite link)",
                          info=f"Not you, or done? Sign out: {sign_out}")
    return gr.Textbox(value=who.name, interactive=False, label="Signed in as")


def _prompt_helpers(settings):
    def set_names() -> list[str]:
        from studio.compare.prompts import list_prompt_sets

        return list(list_prompt_sets(settings))

    def prompts_of(name: str | None) -> list[tuple[str, str]]:
        from studio.compare.prompts import PromptSetError, load_prompts, resolve_prompt_set

        if not name:
            return []
        try:
            items = load_prompts(resolve_prompt_set(name, settings))
        except PromptSetError as exc:
            raise gr.Error(str(exc)) from None
        return [(f"[{p['category']}] {p['prompt']}" if p.get("category") else p["prompt"], p["prompt"]) for p in items]

    return set_names, prompts_of


def _safe(load, name):
    """Prompts for the first screen; a broken prompt file must not stop the app from starting."""
    try:
        return load(name)
    except gr.Error:
        return []


def _reveal_text(result: dict) -> str:
    from studio.compare.arena import VOTE_LABELS
    from studio.safety import describe_flags

    vote = result["vote"]

    def flags(safety: dict | None) -> str:
        return describe_flags(safety) if safety else "no safety record"

    return (f"**Answer A** was `{vote['model_a']}` ({flags(result.get('safety_a'))})  \n"
            f"**Answer B** was `{vote['model_b']}` ({flags(result.get('safety_b'))})  \n"
            f"Vote recorded for **{vote['rater']}**: {VOTE_LABELS[vote['winner']]}.")


def _admin_panels(ctx: AppContext) -> None:
    from studio.ui.tabs import raters_admin, remote_admin
    from studio.ui.tabs.arena_admin import build_admin

    build_admin(ctx)
    raters_admin.build(ctx)
    remote_admin.build(ctx)
