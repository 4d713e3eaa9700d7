"""An automatic metric: loss and perplexity of both models on a dataset's eval split.

The eval split is the one the training engine holds out (``studio.train.training_data.split`` with the same
fraction and seed), and loss counts the assistant's tokens only, with the same masking as training
(``studio.train.masking``), so the tuned run's number is comparable to its own ``eval_loss``.
Perplexity is ``exp`` of the token-weighted mean loss. When both models share base weights, one
forward pass over a two-row batch scores both (PEFT ``adapter_names``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from studio.compare.side_by_side import CompareError, resolve_ref, shares_weights
from studio.models.loader import BASE_ADAPTER, LoadedModel, ModelRef, model_cache
from studio.settings import Settings

DEFAULT_EVAL_FRACTION = 0.1
DEFAULT_SPLIT_SEED = 42  # TrainConfig's default seed: the split a default run held out
MAX_LENGTH = 1024


@dataclass(frozen=True)
class EvalSplit:
    dataset: str
    eval_fraction: float
    seed: int


def split_for(models: tuple[str, str], dataset: str | None, eval_fraction: float | None, seed: int | None,
              settings: Settings) -> EvalSplit:
    """The explicit choice, else the held-out split of the tuned run being compared (B first, then A)."""
    run_cfg = next((cfg for cfg in (_run_config(m, settings) for m in reversed(models)) if cfg), {})
    dataset = dataset or run_cfg.get("eval_dataset") or run_cfg.get("dataset")
    if not dataset:
        raise CompareError("Choose a dataset for the eval metric (a stored dataset name or a JSONL file).")
    if eval_fraction is None:
        from_run = run_cfg.get("eval_fraction") if dataset == run_cfg.get("dataset") else None
        eval_fraction = 0.0 if dataset == run_cfg.get("eval_dataset") else (from_run or DEFAULT_EVAL_FRACTION)
    if seed is None:
        seed = int(run_cfg.get("seed", DEFAULT_SPLIT_SEED)) if dataset == run_cfg.get("dataset") else DEFAULT_SPLIT_SEED
    if not 0 <= float(eval_fraction) < 1:
        raise CompareError("The eval fraction must be at least 0 (0 = the whole file is the eval data) and below 1.")
    return EvalSplit(str(dataset), float(eval_fraction), int(seed))


def _run_config(model: str, settings: Settings) -> dict | None:
    path = settings.runs_dir / model / "config.yaml"
    if not model or not path.is_file():
        return None
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or None
    except (OSError, yaml.YAMLError):
        return None


def eval_conversations(split: EvalSplit, settings: Settings) -> list[list[dict]]:
    from studio.data.export import split as train_split
    from studio.train.training_data import DatasetProblem, load_training_conversations

    try:
        _, convs = load_training_conversations(split.dataset, settings)
    except DatasetProblem as exc:
        raise CompareError(str(exc)) from None
    if split.eval_fraction == 0:
        return convs
    _, held_out = train_split(convs, split.eval_fraction, split.seed)
    if not held_out:
        raise CompareError(f"Dataset '{split.dataset}' is too small to hold out an eval split; use a separate eval file.")
    return held_out


def eval_metrics(model_a: str, model_b: str, split: EvalSplit, settings: Settings, limit: int | None = None,
                 progress=None) -> dict:
    """``{"dataset", "eval_fraction", "seed", "conversations", "tokens", "a": {"model", "loss", "perplexity"}, "b": ...}``."""
    convs = eval_conversations(split, settings)[: limit or None]
    refs = (resolve_ref(model_a, settings), resolve_ref(model_b, settings))
    cache = model_cache(settings)
    groups = [[0, 1]] if shares_weights(*refs) else [[0], [1]]
    totals = [[0.0, 0], [0.0, 0]]  # per model: summed loss, scored tokens
    for group in groups:
        loaded = cache.get(refs[group[0]])
        for i, messages in enumerate(convs, start=1):
            for row, (loss, tokens) in zip(group, _score(loaded, [refs[r] for r in group], messages), strict=True):
                totals[row][0] += loss
                totals[row][1] += tokens
            if progress and i % 10 == 0:
                progress(f"scored {i}/{len(convs)} conversations")
    if totals[0][1] == 0:
        raise CompareError("The eval split has no assistant tokens to score.")
    result = {"dataset": split.dataset, "eval_fraction": split.eval_fraction, "seed": split.seed,
              "conversations": len(convs), "tokens": totals[0][1]}
    for key, model, (loss_sum, tokens) in zip(("a", "b"), (model_a, model_b), totals, strict=True):
        loss = loss_sum / tokens
        # Per side: models on different bases may tokenize differently (then perplexities are not comparable).
        result[key] = {"model": model, "loss": round(loss, 4), "perplexity": round(math.exp(min(loss, 50)), 3),
                       "tokens": tokens}
    return result


def _score(loaded: LoadedModel, refs: list[ModelRef], messages: list[dict]) -> list[tuple[float, int]]:
    """Summed cross-entropy over assistant tokens, and their count, for each ref (one forward pass)."""
    import torch
    from peft import PeftModel

    from studio.train.masking import IGNORE_INDEX, tokenize_conversation

    tokenized = tokenize_conversation(loaded.tokenizer, messages, MAX_LENGTH, assistant_only=True)
    rows = len(refs)
    ids = torch.tensor([tokenized.input_ids] * rows, device=loaded.device)
    labels = torch.tensor([tokenized.labels] * rows, device=loaded.device)
    extra = {}
    if isinstance(loaded.model, PeftModel):
        extra["adapter_names"] = [ref.adapter_name or BASE_ADAPTER for ref in refs]
    with loaded.lock, torch.inference_mode():
        logits = loaded.model(input_ids=ids, **extra).logits.float()
    shift_logits, shift_labels = logits[:, :-1], labels[:, 1:]
    losses = torch.nn.functional.cross_entropy(
        shift_logits.transpose(1, 2), shift_labels, ignore_index=IGNORE_INDEX, reduction="none"
    ).sum(dim=1)
    tokens = int((shift_labels[0] != IGNORE_INDEX).sum())
    return [(float(loss), tokens) for loss in losses]
