"""The hf-jobs backend against a fake Jobs API replaying recorded log streams (no network here).

Everything but the Hub calls runs for real: config, plan, bundle, follower, run files, manager, CLI.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import threading

import pytest
from huggingface_hub import HfApi

from studio.settings import Settings
from studio.train import hf_jobs
from studio.train.config import ConfigError, TrainConfig
from studio.train.hf_jobs import ENTRY_SCRIPT, launch, read_job, run_hf_jobs
from studio.train.hf_jobs_plan import JobsError, build_plan
from studio.train.manager import TrainingManager
from studio.train.runs import create_run, load_run
from tests.train.conftest import tiny_config
from tests.train.fake_jobs import SCENARIOS, FakeJobsApi, write_adapter

TOKEN = "hf_JobsSecretNeverOnDisk987"


@pytest.fixture
def jobs_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, hf_token=TOKEN)


@pytest.fixture
def fake(tmp_path, monkeypatch) -> FakeJobsApi:
    monkeypatch.setattr(hf_jobs, "POLL_S", 0.02)
    api = FakeJobsApi(tmp_path / "hub")
    write_adapter(api.adapter)
    monkeypatch.setattr(hf_jobs, "default_api", lambda: api)
    return api


def jobs_config(dataset, **changes) -> TrainConfig:
    changes = {"backend": "hf-jobs", "jobs": {"flavor": "a10g-small", "timeout": "2h"}, **changes}
    return tiny_config(dataset, **changes)


def assert_no_token(*folders) -> None:
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path


def test_fake_has_the_hub_signatures():
    for name in ("run_uv_job", "inspect_job", "fetch_job_logs", "cancel_job", "list_jobs_hardware", "whoami",
                 "create_repo", "upload_folder", "snapshot_download"):
        ours = list(inspect.signature(getattr(FakeJobsApi, name)).parameters)
        theirs = list(inspect.signature(getattr(HfApi, name)).parameters)
        assert ours == theirs, name


def test_jobs_config_round_trips_and_refuses_bad_values(tiny_dataset):
    config = jobs_config(tiny_dataset, jobs={"flavor": "l4x1", "timeout": "90m", "namespace": "clinic-org"})
    assert TrainConfig.from_yaml(config.to_yaml()) == config
    with pytest.raises(ConfigError, match="jobs.timeout"):
        jobs_config(tiny_dataset, jobs={"timeout": "soon"})
    with pytest.raises(ConfigError, match="init_adapter needs backend trl"):
        jobs_config(tiny_dataset, init_adapter="run-20260101-120000-ab12")


def test_unknown_flavor_lists_valid_ones_and_says_where_from(tiny_dataset, jobs_settings, fake):
    config = jobs_config(tiny_dataset, jobs={"flavor": "a10g-smal"})
    with pytest.raises(JobsError, match=r"Valid flavors \(from list_jobs_hardware.*a10g-small, l4x1"):
        build_plan(config, jobs_settings, fake)
    fake.offline_hardware = True
    with pytest.raises(JobsError, match=r"packaged list.*h200x8"):
        build_plan(config, jobs_settings, fake)


def test_plan_shows_price_per_hour_estimate_and_timeout_warning(tiny_dataset, jobs_settings, fake):
    plan = build_plan(jobs_config(tiny_dataset, max_steps=None, epochs=1, preset="auto"), jobs_settings, fake)
    assert plan.usd_per_hour == pytest.approx(1.002) and "list_jobs_hardware" in plan.price_source
    assert plan.tokens > 0 and plan.estimated_seconds >= 300 and plan.estimated_cost_usd > 0 and not plan.warnings
    short = build_plan(jobs_config(tiny_dataset, jobs={"flavor": "t4-small", "timeout": "60"}), jobs_settings, fake)
    assert "longer than jobs.timeout" in short.summary() and "estimate" in short.summary()
    assert "preset cpu" in short.summary()  # tiny_config trains with preset cpu
    fake.offline_hardware = True
    assert "packaged list" in build_plan(jobs_config(tiny_dataset), jobs_settings, fake).summary()


def test_success_launches_the_job_follows_it_and_installs_the_adapter(tiny_dataset, jobs_settings, fake):
    config = jobs_config(tiny_dataset)
    run = create_run(jobs_settings, config)
    assert run_hf_jobs(run, config, jobs_settings, api=fake) == "succeeded", run.status().get("error")
    (job_id, job), = fake.jobs.items()
    assert job["script"] == str(ENTRY_SCRIPT) and job["dependencies"] is None  # deps: the PEP 723 header
    assert job["secrets"] == {"HF_TOKEN": TOKEN} and job["flavor"] == "a10g-small" and job["timeout"] == 7200
    assert TOKEN not in json.dumps([job["script_args"], job["env"], job["labels"], job["name"]])
    assert job["script_args"][:2] == ["--data-repo", f"alice/studio-data-{run.run_id}"]
    upload = next(c for n, c in fake.calls if n == "upload_folder")["path"]
    assert (upload / "code/studio/train/trl_job.py").is_file() and (upload / "data/train.jsonl").is_file()
    assert not (upload / "code/studio/ui").exists()
    bundled = TrainConfig.load(upload / "config.yaml")
    assert bundled.backend == "trl" and bundled.dataset == "data/train.jsonl" and not bundled.hub.push
    assert ("create_repo", {"repo_id": f"alice/studio-data-{run.run_id}", "private": True, "repo_type": "dataset"}) \
        in fake.calls
    status = load_run(jobs_settings, run.run_id).status()
    assert status["state"] == "succeeded" and status["step"] == status["total_steps"] == 2
    assert status["final_loss"] == pytest.approx(3.618859) and status["job_id"] == job_id
    assert [m["step"] for m in run.metrics()] == [1, 2] and run.has_adapter()
    assert read_job(run)["settled"] is True and read_job(run)["job_id"] == job_id
    assert ("snapshot_download", {"repo_id": "alice/studio-adapter-RUN", "revision": "0123abcd"}) in fake.calls
    assert "job: " in run.log_path.read_text() and not (run.dir / "adapter.partial").exists()
    assert_no_token(run.dir, fake.root / "uploads")


def test_error_is_failed_with_the_jobs_last_lines(tiny_dataset, jobs_settings, fake):
    fake.scenario = SCENARIOS["error"]
    config = jobs_config(tiny_dataset)
    run = create_run(jobs_settings, config)
    assert run_hf_jobs(run, config, jobs_settings, api=fake) == "failed"
    status = run.status()
    assert "failed on Hugging Face Jobs (Job failed with exit code: 1)" in status["error"]
    assert "CUDA out of memory" in status["error"] and "CUDA out of memory" in status["error_tail"]
    assert not run.has_adapter() and [m["step"] for m in run.metrics()] == [1]
    assert_no_token(run.dir)


def test_stop_cancels_the_job(tiny_dataset, jobs_settings, fake):
    fake.scenario = SCENARIOS["cancel"]
    config = jobs_config(tiny_dataset)
    run = create_run(jobs_settings, config)
    stop = threading.Event()
    threading.Timer(0.5, run.request_stop).start()  # the Stop button (or `runs stop`) from any process: STOP file
    assert run_hf_jobs(run, config, jobs_settings, stop, api=fake) == "cancelled"
    assert ("cancel_job", {"job_id": "job0001"}) in fake.calls and run.status()["error"] is None


@pytest.mark.parametrize("scenario", ["timeout", "timeout-silent"])
def test_timeout_is_failed_with_a_timeout_message(tiny_dataset, jobs_settings, fake, scenario):
    fake.scenario = SCENARIOS[scenario]
    config = jobs_config(tiny_dataset)
    run = create_run(jobs_settings, config)
    assert run_hf_jobs(run, config, jobs_settings, api=fake) == "failed"
    assert "ran out of time: jobs.timeout is 2h" in run.status()["error"]


def test_missing_or_refused_token_gets_a_clear_message(tiny_dataset, settings, jobs_settings, fake):
    config = jobs_config(tiny_dataset)
    run = create_run(settings, config)
    assert run_hf_jobs(run, config, settings, api=fake) == "failed"
    assert "needs a Hugging Face token" in run.status()["error"] and not fake.jobs
    fake.refuse_with = 401
    run = create_run(jobs_settings, config)
    assert run_hf_jobs(run, config, jobs_settings, api=fake) == "failed"
    assert "token was refused (expired" in run.status()["error"] and TOKEN not in run.status()["error"]


def test_restart_reattaches_to_the_stored_job_without_relaunching(tiny_dataset, jobs_settings, fake):
    config = jobs_config(tiny_dataset)
    run = create_run(jobs_settings, config)
    launch(run, config, jobs_settings, fake, TOKEN)  # the studio died right after launching
    run.write_status(state="running", owner={"pid": 2**22 + 7, "pid_started": 1.0, "host": os.uname().nodename})
    manager = TrainingManager(jobs_settings)  # a restarted studio: the run is interrupted, its job still alive
    assert run.run_id in manager.recovered
    assert manager.reattach_remote() == run.run_id
    assert manager.wait(timeout=60)
    assert run.state == "succeeded" and len(fake.jobs) == 1 and run.has_adapter()
    assert [m["step"] for m in run.metrics()] == [1, 2]
    assert manager.reattach_remote() is None  # settled: nothing more to follow


def test_cli_dry_run_prints_the_plan_and_refuses_to_launch_without_yes(tiny_dataset, jobs_settings, fake, tmp_path,
                                                                        monkeypatch, capsys):
    from studio.cli import main

    path = tmp_path / "c.yaml"
    tiny_config(tiny_dataset).save(path)  # a trl config: --backend turns it into a Jobs run
    monkeypatch.setenv("STUDIO_DATA_DIR", str(jobs_settings.data_dir))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["train", "--config", str(path), "--backend", "hf-jobs", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert plan["launched"] is False and plan["plan"]["flavor"] == "a10g-small" and plan["plan"]["estimated_cost_usd"]
    assert main(["train", "--config", str(path), "--backend", "hf-jobs"]) == 2
    assert "--yes" in capsys.readouterr().err and not fake.jobs


def test_train_tab_section_estimates_and_start_needs_the_confirmation(tiny_dataset, jobs_settings, fake):
    import gradio as gr

    from studio.train.form import form_from_config
    from studio.ui.context import AppContext
    from studio.ui.tabs import train as tab

    with gr.Blocks():
        h = tab.build(AppContext(jobs_settings))
    assert "hf-jobs" in tab.BACKENDS and {"jobs_flavor", "jobs_timeout", "jobs_confirm"} <= set(h.fields)
    values = {**form_from_config(tiny_config(tiny_dataset, backend="hf-jobs")), "jobs_flavor": "l4x1",
              "jobs_timeout": "90m", "jobs_namespace": "", "jobs_confirm": False}
    config = h.config(values)
    assert config.jobs.flavor == "l4x1" and config.jobs.timeout == "90m" and config.jobs.namespace is None
    assert "l4x1 at $0.80/hour" in h.jobs.estimate(values, None) and "estimate" in h.jobs.estimate(values, None)
    assert "not a Jobs hardware flavor" in h.jobs.estimate({**values, "jobs_flavor": "l4"}, None)
    with pytest.raises(gr.Error, match="tick the confirmation"):
        h.start(None, **values)
    assert not fake.jobs
