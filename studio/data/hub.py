"""Push a dataset to a Hugging Face Hub dataset repo (private by default) with a dataset card.

The token is passed straight to ``HfApi``: it is never written to disk, logged or put in the card,
and any error text is redacted. Files are uploaded from memory.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from studio.data.export import DEFAULT_SPLIT_SEED, split, with_text
from studio.data.schema import DataError, tags_of, to_jsonl
from studio.util.redact import error_line, register_secret

REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


class HubPushError(DataError):
    pass


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    url: str
    files: list[str]
    private: bool


def dataset_card(repo_id: str, conversations: list[dict], splits: dict[str, int], source: str = "",
                 with_text_column: bool = False) -> str:
    tags = Counter(t for c in conversations for t in tags_of(c))
    n = len(conversations)
    size = "n<1K" if n < 1000 else "1K<n<10K" if n < 10000 else "10K<n<100K" if n < 100000 else "n>100K"
    data_files = "\n".join(f"  - split: {s}\n    path: data/{s}.jsonl" for s in splits)
    topic_lines = "\n".join(f"| {t} | {k} |" for t, k in tags.most_common(30)) or "| (untagged) | |"
    text_note = "\n- `text`: the conversation rendered with the base model's chat template." if with_text_column else ""
    return f"""---
language:
- en
task_categories:
- text-generation
size_categories:
- {size}
tags:
- conversational
- mental-health
- companion-studio
configs:
- config_name: default
  data_files:
{data_files}
---

# {repo_id.split('/')[-1]}

Chat conversations for fine-tuning a careful AI companion for people in ketamine-assisted therapy,
curated in Companion Studio{f' from the dataset `{source}`' if source else ''}.

## Important

- The companion these examples teach is an **AI companion, not a therapist or medical provider**.
- Examples never give dosing or medication advice and never diagnose; they defer those questions to
  the prescribing clinician or care team.
- Crisis messages are answered with the crisis protocol (US: call or text 988, chat at 988lifeline.org,
  911 for emergencies).
- Not for clinical decision making. Review the data before using it.

## Format

One conversation per line (TRL conversational format):

- `messages`: a list of `{{"role": "system" | "user" | "assistant", "content": "..."}}`.
- `tags`: topics.{text_note}

## Splits

| split | examples |
| --- | --- |
{chr(10).join(f'| {s} | {k} |' for s, k in splits.items())}

## Topics

| tag | examples |
| --- | --- |
{topic_lines}
"""


def push_to_hub(conversations: list[dict], repo_id: str, token: str | None, private: bool = True,
                eval_fraction: float = 0.0, seed: int = DEFAULT_SPLIT_SEED, tokenizer=None, source: str = "", api=None) -> PushResult:
    """Create (or reuse) the dataset repo and upload ``data/*.jsonl`` and ``README.md`` in one commit."""
    repo_id = (repo_id or "").strip()
    if not REPO_RE.match(repo_id):
        raise HubPushError(f"Hub repo {repo_id!r} should look like 'your-name/dataset-name'.")
    if not conversations:
        raise HubPushError("The dataset is empty; nothing to push.")
    if not token and api is None:
        raise HubPushError("No Hugging Face token: set HF_TOKEN or paste a token with write access.")
    register_secret(token)
    parts = dict(zip(("train", "eval"), split(conversations, eval_fraction, seed), strict=True))
    parts = {k: v for k, v in parts.items() if v}
    if tokenizer is not None:
        parts = {k: with_text(v, tokenizer) for k, v in parts.items()}
    try:
        from huggingface_hub import CommitOperationAdd, HfApi

        api = api or HfApi(token=token)
        card = dataset_card(repo_id, conversations, {k: len(v) for k, v in parts.items()}, source, tokenizer is not None)
        ops = [CommitOperationAdd(f"data/{k}.jsonl", to_jsonl(v).encode("utf-8")) for k, v in parts.items()]
        ops.append(CommitOperationAdd("README.md", card.encode("utf-8")))
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.create_commit(repo_id, ops, commit_message="Update dataset from Companion Studio", repo_type="dataset")
    except HubPushError:
        raise
    except Exception as exc:  # network, auth, offline mode: all end up as one readable line
        raise HubPushError(_explain(exc, repo_id)) from None
    return PushResult(repo_id, str(url), [op.path_in_repo for op in ops], private)


def _explain(exc: Exception, repo_id: str) -> str:
    text = error_line(exc)
    name = type(exc).__name__
    if "Offline" in name or "offline" in text.lower():
        return f"Cannot push to {repo_id}: the Hugging Face Hub is unreachable here (offline mode)."
    if "401" in text or "403" in text or "Unauthorized" in name:
        return f"Cannot push to {repo_id}: the token was refused (it needs write access to that namespace)."
    return f"Cannot push to {repo_id}: {text}"
