"""The in-process TRL + PEFT job: one call trains one run and leaves its files in a final state.

``run_trl(run, config, settings, stop_event)`` has the same signature as the AutoTrain backend so
the manager dispatches on ``config.backend`` in one line. Everything it learns is published through
the run directory (see runs.py): a TrainerCallback rewrites status.json each step and appends
metrics.jsonl at each log. Stop is cooperative: a set ``stop_event`` or a STOP file ends training
after the current step, a checkpoint and the adapter are saved, and the state becomes ``cancelled``.
A run with a checkpoint continues from it (resume). Any exception becomes ``failed`` with a clear
message; the hosting process keeps running. ``config.method`` picks SFTTrainer or DPOTrainer
(studio.train.preference); both share the arguments, the callback and the files.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from studio.data.export import split
from studio.settings import Settings
from studio.train.config import TrainConfig
from studio.train.faults import explain_failure, lora_b_all_zero
from studio.train.runs import Run, utc_now
from studio.train.training_data import DataStats, load_training_conversations, tokenize_all

log = logging.getLogger(__name__)
HEARTBEAT_S = 30
# TRL's DPO log keys -> metrics.jsonl keys (ARCHITECTURE.md: preference runs carry reward_margin and reward_accuracy)
PREFERENCE_METRICS = {"rewards/margins": "reward_margin", "rewards/accuracies": "reward_accuracy",
                      "rewards/chosen": "reward_chosen", "rewards/rejected": "reward_rejected"}


def _callback_class():
    """Built lazily so importing this module does not import transformers."""
    from transformers import TrainerCallback

    class RunFilesCallback(TrainerCallback):
        """Publishes progress to the run files and turns a stop request into a clean stop."""

        def __init__(self, run: Run, stop_event: threading.Event, prior_runtime: float, prior_tokens: int = 0):
            self.run, self.stop_event, self.prior, self.prior_tokens = run, stop_event, prior_runtime, prior_tokens
            self.t0 = time.perf_counter()
            self.first_step: int | None = None
            self.stopped = False
            self.trainer = None  # set after the trainer exists, to read its token counter
            self._last_tokens, self._last_t = prior_tokens, self.t0

        def tokens(self) -> int:
            """Non-padding tokens processed, across resumed segments (TRL counts per trainer)."""
            return self.prior_tokens + int(getattr(self.trainer, "_total_train_tokens", 0) or 0)

        def on_train_begin(self, args, state, control, **kwargs):
            self.first_step = state.global_step
            self.run.write_status(step=state.global_step, total_steps=state.max_steps)
            self.run.log(f"Training: {state.max_steps} optimizer steps (starting at step {state.global_step}).")

        def on_step_end(self, args, state, control, **kwargs):
            elapsed = time.perf_counter() - self.t0
            done = state.global_step - (self.first_step or 0)
            eta = elapsed / done * (state.max_steps - state.global_step) if done else None
            self.run.write_status(
                step=state.global_step, total_steps=state.max_steps, epoch=round(state.epoch or 0, 4),
                train_runtime_s=round(self.prior + elapsed, 2), tokens_trained=self.tokens(),
                eta_s=round(eta, 1) if eta is not None else None, heartbeat_at=utc_now(),
            )
            if not self.stopped and self.run.should_stop(self.stop_event):
                self.stopped = True
                control.should_training_stop = True
                control.should_save = True  # a checkpoint at this exact step, so resume loses nothing
                self.run.log(f"Stop requested: stopping after step {state.global_step} and saving.")
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = dict(logs or {})
            now = time.perf_counter()
            record = metrics_record(logs, state.global_step, state.epoch)
            if "loss" in logs:
                tokens = self.tokens()
                span = now - self._last_t
                record["tokens_per_second"] = round((tokens - self._last_tokens) / span, 1) if span > 0 else None
                self._last_tokens, self._last_t = tokens, now
            if not any(k in record for k in ("loss", "eval_loss")):
                return
            record["elapsed_s"] = round(self.prior + now - self.t0, 2)
            self.run.publish_metrics(record)

    return RunFilesCallback


def metrics_record(logs: dict[str, Any], step: int, epoch: float | None) -> dict[str, Any]:
    """TRL's log dict as a metrics.jsonl record: the studio's key names, rounded."""
    record: dict[str, Any] = {"step": step, "epoch": round(epoch or 0, 4)}
    for key in ("loss", "eval_loss", "learning_rate", "grad_norm", "mean_token_accuracy"):
        if key in logs:
            record[key] = round(float(logs[key]), 6)
    for theirs, ours in PREFERENCE_METRICS.items():  # DPO: TRL's reward names -> the run-files contract
        for prefix in ("", "eval_"):
            if prefix + theirs in logs:
                record[prefix + ours] = round(float(logs[prefix + theirs]), 6)
    return record


class _RunLogHandler(logging.Handler):
    """Library warnings raised by the job's thread go to train.log (redacted by Run.log)."""

    def __init__(self, run: Run):
        super().__init__(logging.WARNING)
        self.run, self.thread = run, threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.run.log(f"{record.levelname.lower()}: {record.getMessage()}")


def run_trl(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event | None = None) -> str:
    """Train ``run`` to a final state (succeeded, cancelled or failed) and return it."""
    stop_event = stop_event or threading.Event()
    previous = run.status()
    resume_from = run.last_checkpoint()
    handler = _RunLogHandler(run)
    loggers = [logging.getLogger(n) for n in ("transformers", "trl", "peft", "accelerate")]
    for lg in loggers:
        lg.addHandler(handler)
    beat = _Heartbeat(run)
    try:
        run.clear_stop()
        run.claim()
        run.write_status(state="running", backend="trl", started_at=previous.get("started_at") or utc_now(),
                         finished_at=None, error=None, error_tail=None,
                         resumed_from=resume_from.name if resume_from else None)
        if resume_from:
            _trim_metrics(run, int(resume_from.name.rsplit("-", 1)[-1]))
        run.log(f"Resuming from {resume_from.name}." if resume_from else "Starting.")
        # a resumed run keeps counting its training time and tokens; a restart from scratch does not
        prior = (float(previous.get("train_runtime_s") or 0), int(previous.get("tokens_trained") or 0)) if resume_from else (0.0, 0)
        state = _train(run, config, settings, stop_event, resume_from, prior)
    except BaseException as exc:  # noqa: BLE001 - every failure must end in a final state
        message = explain_failure(exc, settings)
        state = "failed"
        try:
            run.log(traceback.format_exc())
            run.log("Failed: " + message)
            run.write_status(state="failed", finished_at=utc_now(), error=message,
                             error_tail=_tail(traceback.format_exc()))
        except OSError:  # e.g. the disk is full: the manager reconciles the state from its side
            log.exception("Could not record the failure of run %s", run.run_id)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
    finally:
        beat.stop()
        for lg in loggers:
            lg.removeHandler(handler)
        _free_memory()
    return state


def _trim_metrics(run: Run, step: int) -> None:
    """Steps after the checkpoint are trained again on resume: drop their old records (no duplicates in the plot)."""
    import json

    from studio.util.io import atomic_write_text

    kept = [m for m in run.metrics() if int(m.get("step", 0)) <= step]
    atomic_write_text(run.metrics_path, "".join(json.dumps(m) + "\n" for m in kept))


def _train(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event, resume_from,
           prior: tuple[float, int]) -> str:
    import torch
    from transformers import set_seed

    from studio.models.loader import base_path
    from studio.train.presets import resolve_preset

    base_dir = base_path(config.base_model, settings)
    chosen = resolve_preset(config, base_dir=base_dir)
    run.write_status(preset=chosen)
    run.log("Preset: " + chosen["reason"])
    torch.set_num_threads(chosen["torch_threads"])
    set_seed(config.seed)

    from studio.train.preference import init_adapter_run, pair_datasets, with_init_adapter

    stats = DataStats()
    init = init_adapter_run(config, settings)
    if config.method == "dpo":
        data_path, train_rows, eval_rows = pair_datasets(config, settings, stats)
    else:
        data_path, convs = load_training_conversations(config.dataset, settings, config.region)
    tokenizer, model = _load_model(base_dir, chosen, settings)
    if init is not None:
        model = with_init_adapter(model, init)
        run.log(f"Starting from the adapter of run {init.run_id} (its LoRA settings apply).")
    if config.method != "dpo":
        train_rows, eval_rows = _datasets(config, settings, tokenizer, convs, stats)
    warning = fit_batch_to_data(chosen, len(train_rows))
    if warning:
        run.log("Warning: " + warning)
        run.write_status(preset=chosen)
    steps = _expected_steps(config, chosen, len(train_rows))
    run.log(_data_line(config, stats, data_path, steps))
    run.write_status(data_stats=_stats_dict(stats), total_steps=steps, method=config.method)

    trainer, callback = _trainer(run, config, chosen, model, tokenizer, train_rows, eval_rows, stop_event, prior)
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    runtime = round(prior[0] + time.perf_counter() - started, 2)

    state = "cancelled" if callback.stopped else "succeeded"
    _save_result(run, config, settings, state, trainer, tokenizer, chosen, stats, callback, result, runtime)
    return state


def _data_line(config: TrainConfig, stats: DataStats, data_path: Path, steps: int) -> str:
    if config.method == "dpo":
        return (f"Data {data_path.name}: {stats.conversations} train / {stats.eval_conversations} eval preference "
                f"pairs, beta {config.beta}; about {steps} optimizer steps.")
    return (f"Data {data_path.name}: {stats.conversations} train / {stats.eval_conversations} eval conversations, "
            f"{stats.tokens} tokens ({stats.trained_tokens} trained), {stats.truncated} truncated, {stats.dropped} "
            f"dropped; about {steps} optimizer steps.")


def _save_result(run: Run, config: TrainConfig, settings: Settings, state: str, trainer, tokenizer, chosen: dict,
                 stats: DataStats, callback, result, runtime: float) -> None:
    """Save the adapter (also when stopped: resume starts from it), final figures, then the push if asked."""
    from studio.train.export import push_after_run, save_adapter

    final = _final_losses(run)
    save_adapter(run, trainer.model, tokenizer, config, chosen, _stats_dict(stats), final)
    run.write_status(
        step=trainer.state.global_step, train_runtime_s=runtime, tokens_trained=callback.tokens(),
        final_loss=final.get("loss"), final_eval_loss=final.get("eval_loss"),
        **({"final_reward_margin": final.get("reward_margin"), "final_reward_accuracy": final.get("reward_accuracy")}
           if config.method == "dpo" else {}),
        train_loss=round(float(result.training_loss), 6) if result.training_loss is not None else None,
    )
    if state == "succeeded" and lora_b_all_zero(run.adapter_dir):
        raise RuntimeError("Training finished but every LoRA B matrix is still zero: nothing was learned. "
                           "Check the learning rate and that at least one optimizer step ran.")
    run.write_status(state=state, finished_at=utc_now(), eta_s=0 if state == "succeeded" else None)
    run.log(f"{state.capitalize()} after {runtime:.1f} s of training; adapter saved to adapter/.")
    if state == "succeeded" and config.hub.push:
        push_after_run(run, config, settings)


def _load_model(base_dir: str, chosen: dict, settings: Settings):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(base_dir, token=settings.hf_token)
    except (OSError, ValueError) as exc:
        raise ValueError(f"Base model '{base_dir}' could not be loaded ({str(exc).splitlines()[0][:300]}). Use "
                         "'embedded', a local model folder, or a hub id this machine can download.") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    kwargs: dict[str, Any] = {"token": settings.hf_token}
    if chosen["device"] == "cpu":
        kwargs["dtype"] = torch.float32
    else:
        kwargs["dtype"] = torch.bfloat16 if chosen["bf16"] else torch.float16
        kwargs["device_map"] = {"": 0}
        if chosen["quantization"] in ("4bit", "8bit"):
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=chosen["quantization"] == "4bit", load_in_8bit=chosen["quantization"] == "8bit",
                bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=kwargs["dtype"],
            )
    model = AutoModelForCausalLM.from_pretrained(base_dir, **kwargs)
    model.config.use_cache = False
    return tokenizer, model


def _datasets(config: TrainConfig, settings: Settings, tokenizer, convs, stats: DataStats):
    if config.eval_dataset:
        train, held = convs, load_training_conversations(config.eval_dataset, settings, config.region)[1]
    else:
        train, held = split(convs, config.eval_fraction, config.seed)
    stats.conversations, stats.eval_conversations = len(train), len(held)
    stats.assistant_turns = sum(1 for c in train for m in c if m["role"] == "assistant")
    train_rows = tokenize_all(tokenizer, train, config.max_length, config.assistant_only_loss, stats)
    eval_rows = tokenize_all(tokenizer, held, config.max_length, config.assistant_only_loss, DataStats())
    if not train_rows:
        raise ValueError("No conversation has assistant tokens left to train on (all truncated away?). "
                         "Raise max_length or check the dataset.")
    return train_rows, eval_rows


def fit_batch_to_data(chosen: dict, n_rows: int) -> str | None:
    """A batch larger than the dataset only costs memory (batch_size 100000 ran out of it): cap it, and say so."""
    if n_rows < 1 or chosen["batch_size"] <= n_rows:
        return None
    asked, chosen["batch_size"] = chosen["batch_size"], n_rows
    return f"batch_size {asked} is larger than the {n_rows} training conversations; using {n_rows}."


def _expected_steps(config: TrainConfig, chosen: dict, n_rows: int) -> int:
    """Count optimizer steps before launching: a run of zero steps would learn nothing yet 'succeed'."""
    if config.max_steps:
        return config.max_steps
    per_epoch = math.ceil(n_rows / chosen["batch_size"]) // chosen["gradient_accumulation"]
    steps = math.ceil(max(per_epoch, 0) * config.epochs)
    if steps < 1:
        raise ValueError(
            f"{n_rows} conversations at batch {chosen['batch_size']} x accumulation {chosen['gradient_accumulation']} "
            "make less than one optimizer step: lower batch_size/gradient_accumulation, add data, or set max_steps."
        )
    return steps


def _training_args(run, config, chosen, has_eval: bool) -> dict[str, Any]:
    """The arguments SFT and DPO share: presets, schedule, checkpoints, logging."""
    return dict(
        output_dir=str(run.checkpoints_dir), run_name=run.run_id, report_to="none", disable_tqdm=True,
        per_device_train_batch_size=chosen["batch_size"], per_device_eval_batch_size=chosen["batch_size"],
        gradient_accumulation_steps=chosen["gradient_accumulation"], learning_rate=config.learning_rate,
        num_train_epochs=config.epochs, max_steps=config.max_steps or -1, lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio, weight_decay=config.weight_decay, seed=config.seed,
        logging_steps=config.logging_steps, save_strategy="steps", save_steps=config.save_steps, save_total_limit=2,
        eval_strategy="steps" if has_eval else "no", eval_steps=config.eval_steps or config.save_steps,
        prediction_loss_only=True, bf16=chosen["bf16"], fp16=chosen["fp16"],
        gradient_checkpointing=chosen["gradient_checkpointing"], use_cpu=chosen["use_cpu"], dataloader_num_workers=0,
    )


def _trainer(run, config, chosen, model, tokenizer, train_rows, eval_rows, stop_event, prior):
    from datasets import Dataset
    from peft import LoraConfig as PeftLoraConfig
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from studio.train.preference import dpo_trainer

    has_eval = bool(eval_rows)
    lora = config.lora
    peft_config = None if config.init_adapter else PeftLoraConfig(  # an init adapter brings its own LoRA
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=lora.target_modules,
        task_type="CAUSAL_LM")
    callback = _callback_class()(run, stop_event, *prior)
    if config.method == "dpo":
        trainer = dpo_trainer(_training_args(run, config, chosen, has_eval), config, model, tokenizer, train_rows,
                              eval_rows, peft_config, callback)
    else:
        args = SFTConfig(
            **_training_args(run, config, chosen, has_eval), train_sampling_strategy=chosen["train_sampling_strategy"],
            max_length=config.max_length, assistant_only_loss=False,  # our labels already mask non-assistant tokens
            dataset_kwargs={"skip_prepare_dataset": True},  # rows are tokenized, truncated and labelled here
        )
        trainer = SFTTrainer(
            model=model, args=args, processing_class=tokenizer, peft_config=peft_config,
            train_dataset=_with_lengths(Dataset.from_list(train_rows)),
            eval_dataset=Dataset.from_list(eval_rows) if has_eval else None, callbacks=[callback],
        )
    callback.trainer = trainer
    trainer.remove_callback(PrinterCallback)  # progress goes to the run files; stdout stays clean for --json
    return trainer, callback


def _with_lengths(dataset):
    """A ``length`` column lets the length-grouped sampler skip re-measuring every row."""
    return dataset.add_column("length", [len(ids) for ids in dataset["input_ids"]])


def _final_losses(run: Run) -> dict[str, float]:
    final: dict[str, float] = {}
    for record in run.metrics():
        for key in ("loss", "eval_loss", "reward_margin", "reward_accuracy"):
            if key in record:
                final[key] = record[key]
    return final


def _stats_dict(stats: DataStats) -> dict[str, Any]:
    return {k: v for k, v in vars(stats).items() if k != "extra"}


def _tail(text: str, lines: int = 15, limit: int = 3000) -> str:
    from studio.util.redact import redact

    return redact("\n".join(text.strip().splitlines()[-lines:]))[-limit:]


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


class _Heartbeat:
    """Refreshes ``heartbeat_at`` while a long step or data preparation runs."""

    def __init__(self, run: Run):
        self.run, self._stop = run, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"heartbeat-{run.run_id}")
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.run.write_status(heartbeat_at=utc_now())
            except OSError:
                pass

    def stop(self) -> None:
        self._stop.set()
