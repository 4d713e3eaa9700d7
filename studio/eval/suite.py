"""Eval suites: a folder of JSONL files, one per category (the file's stem is the category).

Each line is ``{"id", "prompt", "expect"?, "facts"?, "source"?}``:

* ``facts`` (psychoeducation): a list of groups, each a list of lowercase alternatives; a correct answer
  contains one alternative of every group;
* ``source`` (knowledge): the knowledge document that answers the question (for drill-down).

The default suite is the clinic's own ``<data>/eval-suite/`` when it exists, else ``examples/eval/``.
Errors name the file and the 1-based line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from studio.compare.prompts import PromptSetError, parse_prompt_line
from studio.settings import Settings
from studio.util.errors import UserError

DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "examples" / "eval"
# The scored categories, in the order a report shows them; each has a scorer in studio.eval.scoring.
CATEGORIES = ("dosing", "crisis", "red_flags", "benign", "psychoeducation", "knowledge")


class SuiteError(UserError, ValueError):
    pass


@dataclass(frozen=True)
class EvalItem:
    category: str
    id: str
    prompt: str
    expect: str = ""
    facts: tuple[tuple[str, ...], ...] = ()
    source: str = ""


@dataclass
class Suite:
    path: Path
    items: list[EvalItem]
    digest: str  # sha256 of the files' bytes: a card made on another version of the suite is not reused
    counts: dict[str, int] = field(default_factory=dict)

    def limited(self, limit: int | None) -> list[EvalItem]:
        """The first ``limit`` prompts of each category (all of them for None)."""
        if not limit:
            return list(self.items)
        taken: dict[str, int] = {}
        out = []
        for item in self.items:
            if taken.get(item.category, 0) < limit:
                taken[item.category] = taken.get(item.category, 0) + 1
                out.append(item)
        return out


def default_suite(settings: Settings | None) -> Path:
    own = settings.eval_suite_dir if settings else None
    return own if own and own.is_dir() else DEFAULT_SUITE


def load_suite(path: Path | str | None = None, settings: Settings | None = None) -> Suite:
    folder = Path(path) if path else default_suite(settings)
    if not folder.is_dir():
        raise SuiteError(f"No eval suite at {folder}: give a folder of <category>.jsonl files ({', '.join(CATEGORIES)}).")
    files = [folder / f"{name}.jsonl" for name in CATEGORIES if (folder / f"{name}.jsonl").is_file()]
    unknown = sorted(p.name for p in folder.glob("*.jsonl") if p.stem not in CATEGORIES)
    if unknown:
        raise SuiteError(f"{unknown[0]}: not a known category; name files after one of {', '.join(CATEGORIES)}.")
    if not files:
        raise SuiteError(f"{folder} has no category files: add e.g. dosing.jsonl with one {{\"id\", \"prompt\"}} per line.")
    digest = hashlib.sha256()
    items: list[EvalItem] = []
    seen: dict[str, str] = {}
    for file in files:
        raw = file.read_bytes()
        digest.update(file.name.encode() + b"\0" + raw)
        for item, where in _items(file, raw):
            if item.id in seen:
                raise SuiteError(f"{where}: id {item.id!r} is used twice (first at {seen[item.id]}).")
            seen[item.id] = where
            items.append(item)
    counts = {name: sum(1 for i in items if i.category == name) for name in CATEGORIES}
    return Suite(folder, items, digest.hexdigest(), {k: v for k, v in counts.items() if v})


def _items(file: Path, raw: bytes):
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise SuiteError(f"{file.name}: not UTF-8 text.") from None
    found = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            where = f"{file.name} line {number}"
            yield _parse(line, file.stem, where), where
            found += 1
    if not found:
        raise SuiteError(f"{file.name} is empty: write one JSON object per line with \"id\" and \"prompt\".")


def _parse(line: str, category: str, where: str) -> EvalItem:
    try:
        record = parse_prompt_line(line, where)
    except PromptSetError as exc:
        raise SuiteError(str(exc)) from None
    prompt, item_id = record["prompt"], record.get("id")
    if not isinstance(item_id, str) or not item_id.strip():
        raise SuiteError(f"{where}: \"id\" must be a non-empty string.")
    facts = _facts(record.get("facts"), where)
    if category == "psychoeducation" and not facts:
        raise SuiteError(f"{where}: a psychoeducation prompt needs \"facts\": [[\"alternative\", ...], ...].")
    return EvalItem(category, item_id.strip(), prompt.strip(), str(record.get("expect") or ""), facts,
                    str(record.get("source") or ""))


def _facts(value, where: str) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    ok = isinstance(value, list) and all(
        isinstance(group, list) and group and all(isinstance(alt, str) and alt.strip() for alt in group) for group in value
    )
    if not ok:
        raise SuiteError(f"{where}: \"facts\" must be a list of groups, each a non-empty list of strings.")
    return tuple(tuple(alt.strip().lower() for alt in group) for group in value)
