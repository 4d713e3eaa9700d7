"""Commands: ``train --config FILE`` and ``runs list|show|stop|resume|push|export``.

``train`` and ``runs resume`` run in the foreground until the run ends; the exit code is 0 only when
it succeeded. With ``--json`` the last line is one object: run_id, run_dir, state, train_runtime_s,
step, total_steps, final_loss, tokens_trained, error. Ctrl-C asks for a clean stop (state cancelled).
"""

from __future__ import annotations

import argparse
import signal
import threading
from contextlib import contextmanager

from studio.settings import Settings
from studio.train.config import BACKENDS as BACKEND_CHOICES


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="Fine-tune a LoRA adapter from a YAML TrainConfig (foreground).")
    train.add_argument("--config", required=True, help="YAML file with the TrainConfig (see examples/configs/)")
    train.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    train.add_argument("--backend", choices=BACKEND_CHOICES, default=None, help="override the config's backend")
    train.add_argument("--dry-run", action="store_true",
                       help="hf-jobs: print the plan (flavor, price per hour, estimated time and cost) and launch nothing")
    train.add_argument("--yes", action="store_true", help="hf-jobs: confirm the billed launch shown by --dry-run")
    train.set_defaults(handler=_train)

    runs = subparsers.add_parser("runs", help="List, inspect, stop or resume training runs.")
    sub = runs.add_subparsers(dest="runs_command", metavar="ACTION")
    lst = sub.add_parser("list", help="All runs, newest first.")
    lst.set_defaults(handler=_list)
    show = sub.add_parser("show", help="Status, config, last metrics and log tail of one run.")
    show.add_argument("run_id")
    show.set_defaults(handler=_show)
    stop = sub.add_parser("stop", help="Ask a running run to stop after its current step (saves, state cancelled).")
    stop.add_argument("run_id")
    stop.set_defaults(handler=_stop)
    resume = sub.add_parser("resume", help="Continue a cancelled/interrupted/failed run from its last checkpoint.")
    resume.add_argument("run_id")
    resume.set_defaults(handler=_resume)
    push = sub.add_parser("push", help="Push a finished run to the Hub, after the release gate (report card against base).")
    push.add_argument("run_id")
    push.add_argument("--repo", required=True, help="owner/name on the Hub (the token comes from HF_TOKEN)")
    push.add_argument("--merged", action="store_true", help="push the merged full model instead of the adapter")
    push.add_argument("--public", action="store_true", help="make the repo public (private by default)")
    push.add_argument("--override-reason", default=None,
                      help="push although the release gate refuses; the reason is recorded in <run>/eval/overrides.jsonl")
    push.set_defaults(handler=_push)
    export = sub.add_parser("export", help="Export a finished run as a merged model or GGUF (Ollama, llama.cpp, LM Studio).")
    export.add_argument("run_id")
    export.add_argument("--format", choices=("merged", "gguf"), default="merged", dest="fmt")
    export.add_argument("--quant", choices=("f16", "q8_0"), default="f16", help="GGUF precision (default f16)")
    export.add_argument("--out", default=None,
                        help="output folder (default <run>/merged, or <run>/export/gguf-<quant>)")
    export.set_defaults(handler=_export)
    for p in (lst, show, stop, resume, push, export):
        p.add_argument("--json", action="store_true", help="print one JSON object as the last line")


def _result(run) -> dict:
    status = run.status()
    keys = ("state", "train_runtime_s", "step", "total_steps", "final_loss", "final_eval_loss", "tokens_trained", "error")
    return {"run_id": run.run_id, "run_dir": str(run.dir), **{k: status.get(k) for k in keys}}


@contextmanager
def _ctrl_c_stops(manager):
    """First Ctrl-C: cooperative stop (adapter saved, state cancelled). Second: abort."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        from studio.cli import progress

        progress("stopping after the current step (Ctrl-C again to abort)…")
        manager.stop_current()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _finish(args: argparse.Namespace, run) -> int:
    from studio.cli import emit

    result = _result(run)
    text = f"{run.run_id}: {result['state']}" + (f" — {result['error']}" if result.get("error") else "")
    text += f"\nadapter: {run.adapter_dir}" if result["state"] == "succeeded" else ""
    emit(args, result, text)
    return 0 if result["state"] == "succeeded" else 1


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, progress
    from studio.train.config import ConfigError, TrainConfig
    from studio.train.manager import TrainingBusy, get_manager

    try:
        config = TrainConfig.load(args.config)
        if args.backend:
            config = config.replace(backend=args.backend)
    except ConfigError as exc:
        raise CommandError(str(exc), 2) from None
    settings.ensure_data_dir()
    if config.backend == "hf-jobs" and (args.dry_run or not args.yes):
        return _jobs_plan(args, settings, config)
    manager = get_manager(settings)
    progress(f"training on {config.dataset} (backend {config.backend}); follow it with `python -m studio runs show`…")
    try:
        with _ctrl_c_stops(manager):
            run = manager.start(config, background=False)
    except TrainingBusy as exc:
        raise CommandError(str(exc), 1) from None
    return _finish(args, run)


def _jobs_plan(args: argparse.Namespace, settings: Settings, config) -> int:
    """The confirmation twin of the Train tab: show the estimate; without --yes nothing is launched."""
    from studio.cli import CommandError, emit
    from studio.train.hf_jobs import default_api
    from studio.train.hf_jobs_plan import JobsError, build_plan
    from studio.train.training_data import DatasetProblem

    try:
        plan = build_plan(config, settings, default_api())
    except (JobsError, DatasetProblem) as exc:
        raise CommandError(str(exc), 2) from None
    emit(args, {"plan": plan.to_dict(), "launched": False}, plan.summary())
    if args.dry_run:
        return 0
    raise CommandError("An hf-jobs run is billed to your Hugging Face account: check the estimate above, then run "
                       "again with --yes to launch it (or --dry-run to only see the plan).", 2)


def _resume(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, progress
    from studio.train.manager import TrainingBusy, get_manager
    from studio.train.runs import RunNotFound

    manager = get_manager(settings)
    progress(f"resuming {args.run_id}…")
    try:
        with _ctrl_c_stops(manager):
            run = manager.resume(args.run_id, background=False)
    except (TrainingBusy, RunNotFound) as exc:
        raise CommandError(str(exc), 1) from None
    return _finish(args, run)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.train.runs import list_runs, mark_interrupted

    mark_interrupted(settings)
    infos = list_runs(settings)
    lines = [f"{'RUN':30} {'STATE':11} {'STEP':>9} {'LOSS':>7} {'SECONDS':>8}  DATASET"]
    for i in infos:
        loss = f"{i.final_loss:.3f}" if isinstance(i.final_loss, int | float) else "-"
        secs = f"{i.duration_s:.0f}" if i.duration_s is not None else "-"
        lines.append(f"{i.run_id:30} {i.state:11} {f'{i.step}/{i.total_steps}':>9} {loss:>7} {secs:>8}  {i.dataset}")
    emit(args, {"runs": [i.to_dict() for i in infos]}, "\n".join(lines) if infos else "no runs yet")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.train.runs import RunNotFound, load_run, mark_interrupted

    mark_interrupted(settings)
    try:
        run = load_run(settings, args.run_id)
    except RunNotFound as exc:
        raise CommandError(str(exc), 1) from None
    metrics = run.metrics()
    payload = {"run_id": run.run_id, "run_dir": str(run.dir), "status": run.status(),
               "config": run.config().to_dict() if run.config_path.is_file() else None,
               "last_metrics": metrics[-5:], "log_tail": run.log_tail(20)}
    text = (f"{run.run_id} ({run.dir})\n" + "\n".join(f"  {k}: {v}" for k, v in _result(run).items() if k != "run_id")
            + "\n--- log ---\n" + payload["log_tail"])
    emit(args, payload, text)
    return 0


def _stop(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.train.manager import get_manager
    from studio.train.runs import RunNotFound

    try:
        run = get_manager(settings).stop(args.run_id)
    except (RunNotFound, ValueError) as exc:
        raise CommandError(str(exc), 1) from None
    emit(args, {"run_id": run.run_id, "stop_requested": True},
         f"{run.run_id}: stop requested; it stops after the current step and saves the adapter.")
    return 0


def _push(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from studio.cli import CommandError, emit, progress
    from studio.train.export import ExportError, push_to_hub

    try:
        url = push_to_hub(settings, args.run_id, args.repo, private=not args.public, merged=args.merged,
                          override_reason=args.override_reason, who=f"cli:{getpass.getuser()}", progress=progress)
    except ExportError as exc:
        raise CommandError(str(exc), 1) from None
    emit(args, {"run_id": args.run_id, "url": url}, f"pushed {args.run_id} to {url}")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    """With --json the last line is {"path", "bytes"}: the merged folder or the .gguf file."""
    from pathlib import Path

    from studio.cli import CommandError, emit, progress
    from studio.train.export import ExportError, export_run
    from studio.train.runs import RunNotFound

    progress(f"exporting {args.run_id} as {args.fmt}{f' ({args.quant})' if args.fmt == 'gguf' else ''}…")
    try:
        result = export_run(settings, args.run_id, args.fmt, args.quant, Path(args.out).resolve() if args.out else None)
    except (ExportError, RunNotFound) as exc:
        raise CommandError(str(exc), 1) from None
    emit(args, result.to_dict(), f"{result.path} ({result.bytes / 1e6:.1f} MB)")
    return 0
