"""The blind arena: two models answer a prompt on randomized sides, a rater votes, names are revealed.

A battle is stored before generation starts, with the sides as shown to the rater; the client
only ever holds the battle id, so it cannot learn or forge the model names, and a vote is taken
from the stored answers, not from what a client sends. After the vote the battle is closed:
regenerating it is refused.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime

from studio.compare.models import model_choices
from studio.compare.raters import RaterError, clean_name
from studio.compare.side_by_side import stream_pair
from studio.compare.votes import WINNERS, StoreError, VoteStore
from studio.models.generate import GenerationSettings
from studio.models.system_prompt import load_system_prompt
from studio.safety import gate_turn
from studio.settings import Settings
from studio.util.errors import UserError
from studio.util.io import atomic_write_json, read_json

VOTE_LABELS = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both are bad"}
MAX_COMMENT_CHARS = 2000


class ArenaError(UserError, ValueError):
    pass


class SideFailed(ArenaError):
    """A hosted model (``remote:<name>``) could not answer: its side shows why; the battle can be regenerated."""


class CrisisPrompt(ArenaError):
    """The crisis gate fired: no battle, no model call; show ``response`` (the fixed template)."""

    def __init__(self, response: str):
        super().__init__("The crisis gate answered this prompt; no battle was started.")
        self.response = response


@dataclass
class ArenaConfig:
    """What the arena runs: the model pool and fixed generation settings (admins edit it)."""

    models: list[str] = field(default_factory=list)  # empty: base + every succeeded run
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    system: str = ""  # empty: follow the companion system prompt Chat serves (studio.models.system_prompt)

    def __post_init__(self) -> None:
        self.models = [m.strip() for m in self.models if m and m.strip()]
        if len(set(self.models)) != len(self.models):
            raise ArenaError("The arena's model list has duplicates; list each model once.")
        if self.models and len(self.models) < 2:
            raise ArenaError("Pick at least two models for the arena (or none, to use base and every finished run).")
        GenerationSettings(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p)

    @classmethod
    def load(cls, settings: Settings) -> ArenaConfig:
        data = read_json(settings.arena_config_file, {}) or {}
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in data.items() if k in known})
        config.system = (config.system or "").strip() or load_system_prompt(settings)
        return config

    def save(self, settings: Settings) -> None:
        data = asdict(self)
        if data["system"].strip() == load_system_prompt(settings):
            data["system"] = ""  # unchanged: keep following Chat's prompt when an admin edits it later
        atomic_write_json(settings.arena_config_file, data)

    def pool(self, settings: Settings) -> list[str]:
        return list(self.models) or model_choices(settings)


def store(settings: Settings) -> VoteStore:
    return VoteStore(settings.votes_db)


def utc_ts() -> str:
    # Milliseconds: two otherwise identical votes (same prompt, answers, rater) stay distinct on import.
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clean_rater(name: str | None) -> str:
    try:
        return clean_name(name, missing="Enter your name first (it is stored with each vote).")
    except RaterError as exc:
        raise ArenaError(str(exc)) from None


def start_battle(settings: Settings, prompt: str, rater: str, rng: random.Random | None = None) -> dict:
    """Gate the prompt, pick two models on random sides, and store the battle. -> the battle dict."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise ArenaError("Choose a prompt from the set or type one.")
    rater = clean_rater(rater)
    gate = gate_turn(prompt, settings)
    if gate.crisis:
        raise CrisisPrompt(gate.response or "")
    config = ArenaConfig.load(settings)
    pool = config.pool(settings)
    if len(pool) < 2:
        raise ArenaError("The arena needs two models: train a run first, or ask an admin to choose the models.")
    rng = rng or random.SystemRandom()
    model_a, model_b = rng.sample(pool, 2)  # a random pair in a random order: the sides are randomized
    battle = {
        "id": uuid.uuid4().hex, "ts": utc_ts(), "model_a": model_a, "model_b": model_b, "prompt": prompt,
        "system": config.system, "seed": secrets.randbits(31), "rater": rater,
    }
    store(settings).add_battle(battle)
    return battle


def stream_battle(settings: Settings, battle_id: str) -> Iterator[tuple[str, str]]:
    """Generate a stored battle's two answers, yielding both texts; stores them when both finish."""
    votes = store(settings)
    battle = votes.battle(battle_id)
    if battle is None:
        raise ArenaError("This battle does not exist. Start a new battle.")
    if battle["state"] != "generating":
        raise ArenaError("This battle already has its answers.")
    config = ArenaConfig.load(settings)
    gen = GenerationSettings(
        max_new_tokens=config.max_new_tokens, temperature=config.temperature, top_p=config.top_p, seed=battle["seed"]
    )
    for update in stream_pair(battle["model_a"], battle["model_b"], battle["prompt"], battle["system"], gen, settings):
        yield update.texts
        if update.answers is not None:
            a, b = update.answers
            if a.error or b.error:  # a hosted model failed: its side shows why; no vote on half a battle
                raise SideFailed(f"One model could not answer: {a.error or b.error} Regenerate to try again.")
            votes.finish_battle(battle_id, a.text, b.text, a.safety.to_dict(), b.safety.to_dict())


def regenerate(settings: Settings, battle_id: str) -> None:
    """Allow new answers for the same pair and sides; refused once the battle was voted on."""
    if not store(settings).restart_battle(battle_id, secrets.randbits(31)):
        raise ArenaError("This battle was already voted on; its answers can no longer be regenerated. Start a new battle.")


def vote(settings: Settings, battle_id: str, winner: str, rater: str, comment: str = "") -> dict:
    """Record the vote (once per battle) and return the reveal: model names, safety flags, the stored vote."""
    if winner not in WINNERS:
        raise ArenaError(f"Choose a vote: {', '.join(VOTE_LABELS.values())}.")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise ArenaError(f"Please keep the comment under {MAX_COMMENT_CHARS} characters.")
    votes = store(settings)
    try:
        record, created = votes.vote_on_battle((battle_id or "").strip(), winner, clean_rater(rater), comment, utc_ts())
    except StoreError as exc:
        raise ArenaError(str(exc)) from None
    battle = votes.battle(battle_id) or {}
    quick = bool((votes.vote_flags(battle_id) or {}).get("quick"))
    return {"vote": record, "created": created, "quick": quick,
            "safety_a": battle.get("safety_a"), "safety_b": battle.get("safety_b")}


def export_jsonl(settings: Settings, path) -> int:
    """Write the votes that count (excluded raters' votes stay stored but are left out)."""
    from studio.util.io import atomic_write_text

    records = store(settings).votes(include_excluded=False)
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return len(records)


def import_jsonl(settings: Settings, path) -> dict:
    """Add the votes of an exported file; votes already stored are skipped. Nothing is added on a bad line."""
    from pathlib import Path

    from studio.compare.votes import validate_vote

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArenaError(f"Cannot read {path}: {exc}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                records.append(validate_vote(json.loads(line), f"line {number}"))
            except json.JSONDecodeError as exc:
                raise ArenaError(f"line {number}: not valid JSON ({exc.msg}).") from None
            except StoreError as exc:
                raise ArenaError(str(exc)) from None
    added = store(settings).add_votes(records)
    return {"read": len(records), "added": added, "skipped": len(records) - added}
