"""Keep secrets out of logs, error messages and files.

Every log handler the studio installs gets :class:`RedactingFilter`; text that leaves the
process (errors shown in the UI, train.log lines, model cards) goes through :func:`redact`.
"""

from __future__ import annotations

import logging
import os
import re

# Hugging Face tokens start with hf_; also catch "token=..." style assignments.
_TOKEN_PATTERNS = [
    re.compile(r"hf_[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)((?:hf_token|token|password|authorization|invite)\s*[=:]\s*)(?:Bearer\s+)?[^\s'\",]+"),
    re.compile(r"sk-studio-[A-Za-z0-9_-]{8,}"),  # the studio's API keys (studio.api.keys.KEY_PREFIX)
]
_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret (e.g. a token typed into the UI) so it is scrubbed everywhere."""
    if value and len(value) >= 4:
        _extra_secrets.add(value)


def _known_secrets() -> list[str]:
    env = [os.environ.get(n) for n in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "STUDIO_ADMIN_PASSWORD", "STUDIO_RATER_PASSWORD")]
    return [s for s in [*env, *_extra_secrets] if s and len(s) >= 4]


def redact(text: str) -> str:
    if not text:
        return text
    for secret in _known_secrets():
        text = text.replace(secret, "***")
    text = _TOKEN_PATTERNS[0].sub("hf_***", text)
    text = _TOKEN_PATTERNS[2].sub("sk-studio-***", text)
    return _TOKEN_PATTERNS[1].sub(lambda m: m.group(1) + "***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_redaction() -> None:
    """Attach the filter to the root logger's handlers (and future ones via the root)."""
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def error_line(exc: BaseException) -> str:
    """The first line of an error's message (or its type), redacted: what a person is shown."""
    text = str(exc)
    return redact(text.splitlines()[0] if text else type(exc).__name__)
