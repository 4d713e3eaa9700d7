"""Read AutoTrain's console output: loss dictionaries, progress, and whether training really failed.

AutoTrain logs through loguru (``INFO     | 2026-11-27 05:22:51 | module:function:line - message``),
prints the trainer's tqdm bar on the same stream (joined to log lines by ``\\r``, not newlines), and
logs each trainer log dict with ``LossLoggingCallback``. Its ``@monitor`` decorator turns any training
exception into ``<fn> has failed due to an exception: <traceback>`` plus ``str(exc)`` and exits 0,
so failure is read here, never from the exit code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

LOG_START = re.compile(r"(TRACE|DEBUG|INFO|SUCCESS|WARNING|ERROR|CRITICAL)\s+\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| ")
LOG_LINE = re.compile(r"^(\w+)\s+\| [\d-]+ [\d:]+ \| ([\w.]+):(\w+):(\d+) - (.*)$")
# The trainer's bar only: "3/5 [00:19<00:11,  5.87s/it]" (data bars count "examples/s", weights bars are not tqdm here).
TRAIN_BAR = re.compile(r"(\d+)/(\d+) \[[^\]]*?(?:s/it|it/s)\]")
EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?\w*(?:Error|Exception|Interrupt|Exit)\b(?::.*)?$")
BAR_END = re.compile(r"%\|[^|]*\| *\d+/\d+ \[[^\]]*\]")
FAILED_MARKER = "has failed due to an exception"
TRAIN_STARTED = "Starting to train..."
TRAIN_FINISHED = "Finished training, saving model"
JOB_ID = re.compile(r"Job ID: (\S+)")
METRIC_KEYS = ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch")


@dataclass
class Event:
    kind: str  # "line" (show in train.log), "progress" (new step), "metrics", "summary", "started", "finished", "job"
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def split_segments(chunk: str) -> list[str]:
    """Split raw output on \\r and \\n, then split a tqdm bar from the text glued behind it."""
    out = []
    for piece in re.split(r"[\r\n]", chunk):
        if not piece.strip():
            continue
        match = LOG_START.search(piece)
        if match and match.start() > 0:
            out += [piece[: match.start()], piece[match.start():]]
            continue
        bar = BAR_END.search(piece)
        if bar and bar.end() < len(piece):  # "  0%|  | 0/5 [00:00<?, ?it/s]/path.py:759: UserWarning: ..."
            out += [piece[: bar.end()], piece[bar.end():]]
        else:
            out.append(piece)
    return out


def parse_dict(text: str) -> dict[str, Any] | None:
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, dict) else None


class AutoTrainLog:
    """Feed it output segments; it keeps the state needed to judge the run and yields events."""

    def __init__(self, logging_steps: int = 1):
        self.logging_steps = max(1, logging_steps)
        self.step = 0
        self.total_steps = 0
        self.loss_logs = 0
        self.started = False
        self.finished = False
        self.failed = False
        self.error_message: str | None = None  # str(exc) that AutoTrain logs after the traceback
        self.last_exception: str | None = None  # last "SomeError: ..." line seen (traceback tail)
        self.summary: dict[str, Any] = {}
        self.job_id: str | None = None
        self._in_traceback = False

    def feed(self, segment: str) -> list[Event]:
        segment = segment.rstrip()
        if not segment.strip():
            return []
        match = LOG_LINE.match(segment)
        if match:
            return self._log_line(match.group(1), match.group(5), segment)
        bar = TRAIN_BAR.search(segment)
        if bar and self.started:
            return self._progress(int(bar.group(1)), int(bar.group(2)))
        if "%|" in segment or parse_dict(segment) is not None:
            return []  # data-preparation bars and the progress bar's echo of the log dicts: noise
        if EXCEPTION_LINE.match(segment.strip()):
            self.last_exception = segment.strip()
        return [Event("line", segment)]

    def _log_line(self, level: str, message: str, raw: str) -> list[Event]:
        if FAILED_MARKER in message:
            self.failed = True
            self._in_traceback = True
            return [Event("line", raw)]
        if level == "ERROR" and self._in_traceback and self.error_message is None:
            self.error_message = message.strip()
        self._in_traceback = False
        logs = parse_dict(message)
        if logs is not None:
            return self._metrics(logs)
        events = [Event("line", raw)]
        if TRAIN_STARTED in message:
            self.started = True
            events.append(Event("started"))
        elif TRAIN_FINISHED in message:
            self.finished = True
            events.append(Event("finished"))
        elif (job := JOB_ID.search(message)) is not None:
            self.job_id = job.group(1)
            events.append(Event("job", data={"job_id": self.job_id}))
        return events

    def _progress(self, step: int, total: int) -> list[Event]:
        self.total_steps = total
        if step <= self.step:
            return []
        self.step = step
        return [Event("progress", data={"step": step, "total_steps": total})]

    def _metrics(self, logs: dict[str, Any]) -> list[Event]:
        if "train_runtime" in logs:
            self.summary = logs
            return [Event("summary", data=logs)]
        if "loss" not in logs and "eval_loss" not in logs:
            return []
        if "loss" in logs:
            self.loss_logs += 1
        # HF logs exactly every logging_steps optimizer steps; the bar may lag behind on fast steps.
        self.step = max(self.step, self.loss_logs * self.logging_steps)
        record = {"step": self.step}
        for key in METRIC_KEYS:
            if isinstance(logs.get(key), int | float):
                record[key] = round(float(logs[key]), 6)
        return [Event("metrics", data=record)]

    def error_line(self) -> str | None:
        """AutoTrain's own error: the exception line of its traceback, else the message it logged."""
        if self.last_exception and self.error_message and self.error_message not in self.last_exception:
            return f"{self.last_exception} ({self.error_message})"
        return self.last_exception or self.error_message
