"""Preference training (method: dpo) and starting from an earlier run's adapter (init_adapter).

The data is a preference JSONL (``studio.data.preferences``: prompt/chosen/rejected, conversational or
plain text), checked with errors that name the line, its ``{crisis_line}``-style placeholders rendered
for the run's region. TRL's ``DPOTrainer`` runs in process with the same arguments, presets, callback,
stop and resume as SFT (trl_job builds them). With ``init_adapter`` the model starts from that run's
adapter, which DPO also uses as the frozen reference (TRL copies it into a "ref" adapter); without it
the reference is the base model (adapter disabled).
"""

from __future__ import annotations

from pathlib import Path

from studio.settings import Settings
from studio.train.config import ConfigError, TrainConfig
from studio.train.runs import Run, RunNotFound, load_run
from studio.train.training_data import DataStats, load_pairs


# --- init_adapter -----------------------------------------------------------------------------------
def init_adapter_run(config: TrainConfig, settings: Settings) -> Run | None:
    """The run whose adapter this one starts from, after checking it exists, has an adapter and fits the base."""
    if not config.init_adapter:
        return None
    from studio.train.model_card import hub_base_id

    try:
        run = load_run(settings, config.init_adapter)
    except RunNotFound as exc:
        raise ConfigError([f"init_adapter: {exc}"]) from None
    if not run.has_adapter():
        raise ConfigError([f"init_adapter: run {run.run_id} has no adapter yet (it is {run.state}); "
                           "choose a run that finished training."])
    try:
        theirs = run.config().base_model
    except ConfigError as exc:
        raise ConfigError([f"init_adapter: run {run.run_id} has no usable config.yaml ({'; '.join(exc.problems)})"]) from None
    if theirs != config.base_model and hub_base_id(theirs) != hub_base_id(config.base_model):
        raise ConfigError([f"init_adapter: run {run.run_id} was trained on base model '{theirs}', but this run's "
                           f"base_model is '{config.base_model}'. An adapter only fits the base it was trained on: "
                           f"set base_model to '{theirs}' or choose another run."])
    return run


def with_init_adapter(model, run: Run):
    """The base model wrapped with ``run``'s adapter, trainable (TRL then trains it instead of a fresh LoRA)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(run.adapter_dir), is_trainable=True)


# --- data ---------------------------------------------------------------------------------------------
def pair_datasets(config: TrainConfig, settings: Settings, stats: DataStats) -> tuple[Path, list[dict], list[dict]]:
    from studio.data.export import split

    path, rows = load_pairs(config.dataset, settings, config.region)
    if config.eval_dataset:
        train, held = rows, load_pairs(config.eval_dataset, settings, config.region)[1]
    else:
        train, held = split(rows, config.eval_fraction, config.seed)
    stats.conversations, stats.eval_conversations = len(train), len(held)
    stats.assistant_turns = len(train)
    return path, train, held


# --- trainer ------------------------------------------------------------------------------------------
def dpo_trainer(args_kwargs: dict, config: TrainConfig, model, tokenizer, train_rows, eval_rows, peft_config, callback):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(**args_kwargs, beta=config.beta, max_length=config.max_length, truncation_mode="keep_start")
    return DPOTrainer(
        model=model, args=args, processing_class=tokenizer, peft_config=peft_config,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None, callbacks=[callback],
    )
