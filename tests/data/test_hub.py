"""Hub push: the dataset card, private by default, token never stored, offline gives a clear message."""

from __future__ import annotations

import pytest

from studio.data.hub import HubPushError, dataset_card, push_to_hub

from .conftest import conv

CONVS = [conv(("user", f"q{i}"), ("assistant", f"a{i}"), tags=["prep" if i % 2 else "sleep"]) for i in range(10)]


class RecordingApi:
    """Stands in for HfApi (no network here): records what would be sent."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/datasets/{repo_id}"

    def create_commit(self, repo_id, operations, **kwargs):
        self.calls.append(("create_commit", repo_id, [(op.path_in_repo, op.path_or_fileobj) for op in operations], kwargs))


def test_push_uploads_splits_and_card_privately(tmp_path):
    api = RecordingApi()
    result = push_to_hub(CONVS, "clinic/companion-data", token="hf_abcdefghijklmnop", eval_fraction=0.2, api=api, source="starter")
    assert result.private and result.files == ["data/train.jsonl", "data/eval.jsonl", "README.md"]
    (_, _, repo_kwargs), (_, _, ops, _) = api.calls
    assert repo_kwargs["private"] is True and repo_kwargs["repo_type"] == "dataset"
    files = dict(ops)
    assert files["data/train.jsonl"].count(b"\n") == 8 and files["data/eval.jsonl"].count(b"\n") == 2
    card = files["README.md"].decode()
    assert "AI companion, not a therapist" in card and "| prep | 5 |" in card and "path: data/eval.jsonl" in card
    assert b"hf_abcdefghijklmnop" not in b"".join(files.values())
    assert not any(p.is_file() and "hf_abc" in p.read_text(errors="ignore") for p in tmp_path.rglob("*"))


def test_card_text_column_and_size():
    card = dataset_card("a/b", CONVS, {"train": 10}, with_text_column=True)
    assert "n<1K" in card and "`text`" in card and card.startswith("---\n")


def test_bad_repo_and_no_token():
    with pytest.raises(HubPushError, match="your-name/dataset-name"):
        push_to_hub(CONVS, "no-slash", token="x")
    with pytest.raises(HubPushError, match="No Hugging Face token"):
        push_to_hub(CONVS, "a/b", token=None)


def test_offline_push_is_explained(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubPushError) as info:
        push_to_hub(CONVS, "a/b", token="hf_secretsecretsecret")
    assert "a/b" in str(info.value) and "hf_secretsecretsecret" not in str(info.value)
