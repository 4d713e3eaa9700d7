"""Goals printed as measured against target, one line each, so a run reads as met / not met at a glance."""

from __future__ import annotations


def goal(label: str, measured: float, target: float, unit: str = "", higher_is_better: bool = False) -> str:
    met = measured >= target if higher_is_better else measured <= target
    sign = ">=" if higher_is_better else "<="
    line = f"{label}: measured {measured:g}{unit} vs goal {sign} {target:g}{unit}: {'MET' if met else 'NOT MET'}"
    print(line, flush=True)
    return line
