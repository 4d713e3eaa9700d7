"""The Train tab's handlers, called directly (the real core underneath; one short real training)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import gradio as gr
import pytest

from studio.train.form import config_from_form, form_from_config
from studio.ui.context import AppContext
from studio.ui.tabs import train as tab
from tests.train.conftest import CONVERSATIONS, tiny_config

ADMIN = None  # no password configured: the local user is the admin


def build(settings):
    with gr.Blocks():
        return tab.build(AppContext(settings))


def form(dataset, **changes):
    values = form_from_config(tiny_config(dataset))
    values.update(changes)
    return values


def test_form_round_trip(tiny_dataset):
    config = tiny_config(tiny_dataset, run_name="r1", hub={"push": True, "repo_id": "me/x", "private": True})
    assert config_from_form(form_from_config(config)) == config
    values = form_from_config(config) | {"batch_size": 0.0, "max_steps": 0, "target_modules": "q_proj, v_proj"}
    again = config_from_form(values)
    assert again.batch_size is None and again.max_steps is None and again.lora.target_modules == ["q_proj", "v_proj"]
    assert form_from_config(config)["init_adapter"] == "" and again.method == "sft" and again.init_adapter is None
    dpo = tiny_config(tiny_dataset, method="dpo", beta=0.3, init_adapter="run-20260101-000000-ab12")
    values = form_from_config(dpo)
    assert (values["method"], values["beta"], values["init_adapter"]) == ("dpo", 0.3, "run-20260101-000000-ab12")
    assert config_from_form(values) == dpo


def test_preview_shows_yaml_and_command(settings, tiny_dataset):
    h = build(settings)
    yaml_text, command = h.preview(form(tiny_dataset), ADMIN)
    assert f"dataset: {tiny_dataset}" in yaml_text and "assistant_only_loss: true" in yaml_text
    assert command.startswith("python -m studio train --config")


def test_invalid_form_is_explained(settings, tiny_dataset):
    h = build(settings)
    with pytest.raises(gr.Error, match="learning_rate"):
        h.preview(form(tiny_dataset, learning_rate=7), ADMIN)
    assert "⚠️" in h.preset_info(form(tiny_dataset, learning_rate=7), ADMIN)


def test_preset_and_dataset_summaries(settings, tiny_dataset, tmp_path):
    from studio.data.store import DatasetStore

    h = build(settings)
    assert "fp32" in h.preset_info(form(tiny_dataset, preset="auto"), ADMIN)
    DatasetStore(settings).save("tiny", [{"messages": c} for c in CONVERSATIONS])
    assert h.dataset_info("tiny", ADMIN).startswith("✅ 4 conversations")
    assert "tiny" in h.choices(ADMIN).constructor_args["choices"][0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "no reply"}]}\n')
    assert h.dataset_info(str(bad), ADMIN).startswith("❌ 1 error")
    assert "No dataset named" in h.dataset_info("no-such-dataset", ADMIN)


def test_dpo_method_checks_the_dataset_as_preference_pairs(settings, tiny_dataset, tmp_path):
    h = build(settings)
    assert "method" in h.fields and "beta" in h.fields and "init_adapter" in h.fields
    assert "this is a conversation (messages) row" in h.dataset_info(str(tiny_dataset), "dpo", ADMIN)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "q", "chosen": "Ask your clinician.", "rejected": "Take 50 mg."}\n')
    assert h.dataset_info(str(pairs), "dpo", ADMIN) == "✅ 1 preference pairs, no errors."
    yaml_text, _ = h.preview(form(str(pairs), method="dpo", beta=0.2, init_adapter=""), ADMIN)
    assert "method: dpo" in yaml_text and "beta: 0.2" in yaml_text and "init_adapter: null" in yaml_text
    assert h.adapter_choices(ADMIN).constructor_args["choices"] == [""]  # no run with an adapter yet


def test_the_inbox_preference_sets_are_offered_and_pick_dpo(settings, tmp_path):
    from studio.data.store import DatasetStore

    h = build(settings)
    DatasetStore(settings).save("clinic", [{"messages": CONVERSATIONS[0]}])
    settings.preferences_dir.mkdir(parents=True)
    (settings.preferences_dir / "clinic-pairs.jsonl").write_text(
        '{"prompt": "q", "chosen": "Ask your clinician.", "rejected": "Take 50 mg."}\n')
    assert h.choices(ADMIN).constructor_args["choices"] == ["clinic", "preferences/clinic-pairs"]
    assert h.method_for("preferences/clinic-pairs", "sft", ADMIN) == "dpo"
    assert h.method_for("clinic", "dpo", ADMIN) == "sft"
    assert h.method_for(str(tmp_path / "typed.jsonl"), "dpo", ADMIN) == "dpo"  # a typed path keeps the choice
    assert h.dataset_info("preferences/clinic-pairs", "dpo", ADMIN) == "✅ 1 preference pairs, no errors."


def test_refresh_without_runs(settings):
    h = build(settings)
    out = h.refresh(None, ADMIN)
    assert "No training run yet" in out[2] and out[3] is None  # no plot value before the first loss


def test_refresh_fills_an_empty_selection_and_never_writes_a_given_one_back(settings, tiny_dataset):
    """Regression: a timer tick that began before Start returned the old run as the selection, and the
    tab kept showing that run instead of the one just started."""
    from studio.train.runs import create_run

    h = build(settings)
    older = create_run(settings, tiny_config(tiny_dataset)).run_id
    assert h.refresh(None, ADMIN)[0].constructor_args["value"] == older  # nothing chosen: the newest run
    out = h.refresh(older, ADMIN)
    assert "value" not in out[0].constructor_args and out[0].constructor_args["choices"] == [older]


def test_raters_are_refused_and_stop_polling(settings, tiny_dataset):
    s = settings.with_(admin_password="admin-pw", rater_password="rater-pw")
    h = build(s)
    rater = SimpleNamespace(username="dr-okafor", headers={}, session={})
    for call in (lambda: h.start(rater, **form(tiny_dataset)), lambda: h.stop("x", rater),
                 lambda: h.resume("x", rater), lambda: h.push("x", "a/b", True, False, "hf_x", rater),
                 lambda: h.merge("x", rater), lambda: h.preview(form(tiny_dataset), rater)):
        with pytest.raises(gr.Error, match="admin"):
            call()
    assert h.refresh(None, rater)[-1].active is False


def wait_state(h, run_id, states, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = h.refresh(run_id, ADMIN)
        if run_id in out[0].constructor_args["choices"] and f"**{run_id}**" in out[2] \
                and any(f"· {s}" in out[2] for s in states):
            return out
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not reach {states}: {out[2]}")


@pytest.mark.slow
def test_start_busy_stop_resume_and_view(settings, tiny_dataset, embedded_model_dir):
    h = build(settings)
    run_id, message = h.start(ADMIN, **form(tiny_dataset, max_steps=3, save_steps=100))
    assert run_id in message
    with pytest.raises(gr.Error, match=f"{run_id} is already training"):
        h.start(ADMIN, **form(tiny_dataset))
    assert "Stop requested" in h.stop(run_id, ADMIN)
    out = wait_state(h, run_id, ["cancelled"])
    assert out[7].constructor_args["interactive"] is True  # resume enabled

    _, message = h.resume(run_id, ADMIN)
    assert "Resuming" in message
    out = wait_state(h, run_id, ["succeeded"])
    _, bar, summary, plot, log, history, stop, resume, compare, generation, timer = out
    assert generation.startswith("Generation: ") and "waiting" in generation  # the shared queue, for the admin
    assert "100%" in bar and "final loss" in summary and "tokens/s" in summary
    assert set(plot["series"]) >= {"train loss"} and len(plot) >= 3
    assert "Succeeded" in log and history[0][0] == run_id and history[0][1] == "succeeded"
    assert compare.constructor_args["visible"] is True and stop.constructor_args["interactive"] is False

    with pytest.raises(gr.Error, match="No Hugging Face token"):
        h.push(run_id, "me/companion", True, False, "", ADMIN)


def test_a_job_tidying_up_after_its_final_state_does_not_block_the_next_start(settings):
    """Regression (seen in CI): resume right after 'cancelled' was refused while the job thread was closing."""
    import threading
    import time

    from studio.train.manager import get_manager

    manager = get_manager(settings)
    manager._thread = threading.Thread(target=time.sleep, args=(1.0,))
    manager._thread.start()
    manager._refuse_if_busy()  # no run says running: waits for the thread instead of raising
    assert not manager.is_busy()
