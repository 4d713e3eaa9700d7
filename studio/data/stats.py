"""Dataset statistics: counts, roles, tags, lengths and the token-length histogram."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from statistics import mean, median

from studio.data.schema import tags_of


def compute_stats(report, max_length: int | None = None) -> dict:
    """Stats of a ValidationReport (rows, issues and token counts already filled in)."""
    convs = [row.data for row in report.rows if isinstance(row.data, dict)]
    error_rows = {i.index for i in report.errors if i.index is not None}
    warning_rows = {i.index for i in report.warnings if i.index is not None}
    roles: Counter = Counter()
    message_counts, chars = [], []
    for conv in convs:
        messages = conv.get("messages") if isinstance(conv.get("messages"), list) else []
        message_counts.append(len(messages))
        for m in messages:
            if isinstance(m, dict):
                roles[str(m.get("role"))] += 1
                chars.append(len(m["content"]) if isinstance(m.get("content"), str) else 0)
    tags = Counter(t for conv in convs for t in tags_of(conv))
    codes = Counter(i.code for i in report.warnings)
    stats = {
        "examples": report.examples,
        "valid": report.examples - len(error_rows),
        "with_errors": len(error_rows),
        "with_warnings": len(warning_rows),
        "messages": sum(message_counts),
        "avg_messages": round(mean(message_counts), 2) if message_counts else 0,
        "multi_turn": sum(1 for conv in convs if _assistant_turns(conv) > 1),
        "roles": dict(roles.most_common()),
        "with_system": sum(1 for conv in convs if _starts_with_system(conv)),
        "tags": dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
        "untagged": sum(1 for conv in convs if not tags_of(conv)),
        "chars_per_message": {"mean": round(mean(chars), 1) if chars else 0, "max": max(chars, default=0)},
        "duplicates": codes["duplicate"],
        "near_duplicates": codes["near_duplicate"],
        "lint": "rules only" if codes["lint_limited"] else "on",
        "error_codes": dict(Counter(i.code for i in report.errors).most_common()),
        "warning_codes": dict(codes.most_common()),
    }
    counts = [n for n in report.token_counts if n is not None]
    if counts:
        stats["tokens"] = token_stats(counts, max_length)
    return stats


def token_stats(counts: list[int], max_length: int | None = None) -> dict:
    ordered = sorted(counts)
    out = {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": round(mean(ordered), 1),
        "median": median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "total": sum(ordered),
    }
    if max_length:
        out["max_length"] = max_length
        out["over_max_length"] = sum(1 for n in ordered if n > max_length)
    return out


def histogram(counts: list[int], max_length: int | None = None, bins: int = 20) -> list[dict]:
    """Bars ``{"bin": "0-63", "start": 0, "count": n, "side": ...}``; a bin edge falls right at max_length."""
    if not counts:
        return []
    top = max(counts)
    limit = max_length or top
    width = max(1, -(-(max(top, limit) + 1) // bins))
    edges, low = [], 0
    while low <= max(top, limit):
        high = min(low + width - 1, limit) if low <= limit else low + width - 1
        edges.append((low, high))
        low = high + 1
    lows = [lo for lo, _ in edges]
    buckets = Counter(bisect_right(lows, n) - 1 for n in counts)
    return [
        {"bin": f"{lo}-{hi}", "start": lo, "count": buckets.get(b, 0),
         "side": "over max_length" if max_length and lo > max_length else "within max_length"}
        for b, (lo, hi) in enumerate(edges)
    ]


def _assistant_turns(conv: dict) -> int:
    messages = conv.get("messages") if isinstance(conv.get("messages"), list) else []
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")


def _starts_with_system(conv: dict) -> bool:
    messages = conv.get("messages")
    return isinstance(messages, list) and bool(messages) and isinstance(messages[0], dict) and messages[0].get("role") == "system"
