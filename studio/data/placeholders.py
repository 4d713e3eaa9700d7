"""Region placeholders in training data: ``{crisis_line}``, ``{emergency_number}``, ...

Crisis turns in a dataset name resources through placeholders, and the studio renders them for the
region chosen (``STUDIO_REGION`` or a TrainConfig's ``region``) from the one verified table in
``studio.safety.resources``: validation checks them, and the template preview, training and export
see the rendered text. A dataset rendered for the UK therefore contains no 988.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from studio.data.schema import DataError
from studio.safety.resources import PLACEHOLDERS, REGIONS, placeholder_values, region_key

# Lowercase names only, so JSON-looking text such as {"a": 1} or {Name} in a user message is left alone.
PATTERN = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class PlaceholderError(DataError):
    """A row uses a placeholder the studio does not know, or one the region has no verified line for."""


def region_code(region: str | None) -> str:
    """The table's code for ``region``; unknown codes are an error that lists the known ones."""
    key = region_key(region)
    if key is None:
        raise PlaceholderError(f"Unknown region {region!r}. Known regions: {', '.join(REGIONS)} "
                               "(INTL is for places without verified lines in the table).")
    return key


def names_in(text: str) -> list[str]:
    return PATTERN.findall(text)


def problems(text: str, region: str, values: dict[str, str] | None = None) -> list[str]:
    """Why ``text`` cannot be rendered for ``region`` (empty when it can).

    ``values`` is ``placeholder_values(region)`` when the caller has it (it checks many texts).
    """
    values = placeholder_values(region) if values is None else values
    out = []
    for name in dict.fromkeys(names_in(text)):
        if name not in PLACEHOLDERS:
            out.append(f"unknown placeholder {{{name}}}; known placeholders: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        elif name not in values:
            out.append(f"placeholder {{{name}}} has no verified value for region {region}; rewrite the turn or choose "
                       f"another region ({', '.join(r for r in REGIONS if name in placeholder_values(r))} have one)")
    return out


def render_text(text: str, values: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise PlaceholderError(f"no value for {{{name}}}")
        return values[name]

    return PATTERN.sub(fill, text)


@dataclass
class Rendered:
    rows: list[dict]
    placeholders: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict:
        return {"rows": len(self.rows), "placeholders": dict(sorted(self.placeholders.items()))}


def render_conversation(conv: dict, region: str) -> dict:
    """A copy of ``conv`` with every message's placeholders filled in; raises ``PlaceholderError``."""
    return render_rows([conv], region).rows[0]


def render_rows(rows: list[dict], region: str | None) -> Rendered:
    """Every row rendered for ``region``; the first row that cannot be is an error naming its line."""
    code = region_code(region)
    values = placeholder_values(code)
    out = Rendered([])
    for line, row in enumerate(rows, 1):
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list):
            out.rows.append(row)
            continue
        fresh = []
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str) or "{" not in content:
                fresh.append(message)
                continue
            found = problems(content, code, values)
            if found:
                raise PlaceholderError(f"line {line}: {found[0]}")
            out.placeholders.update(names_in(content))
            fresh.append({**message, "content": render_text(content, values)})
        out.rows.append({**row, "messages": fresh})
    return out
