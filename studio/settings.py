"""Process-wide settings, read once from the environment.

One frozen dataclass so that every part of the studio (core, CLI, UI) agrees on paths and
options, and so tests can build their own with ``Settings.from_env(env)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from studio.util.errors import UserError

SPACES_DATA_ROOT = Path("/data")


class SettingsError(UserError, RuntimeError):
    """A setting is unusable; the message names the path or variable to fix."""


def _default_data_dir(env: Mapping[str, str]) -> Path:
    if "STUDIO_DATA_DIR" in env and env["STUDIO_DATA_DIR"].strip():
        return Path(env["STUDIO_DATA_DIR"]).expanduser()
    # Spaces mounts persistent storage at /data; prefer it so data survives restarts.
    if SPACES_DATA_ROOT.is_dir() and os.access(SPACES_DATA_ROOT, os.W_OK):
        return SPACES_DATA_ROOT / "companion-studio"
    return Path("studio-data")


def _int(env: Mapping[str, str], name: str, default: int, low: int = 1, high: int = 10**6) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be from {low} to {high}, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0 (true or false), got {raw[:40]!r}")


def _public_url(env: Mapping[str, str]) -> str:
    url = env.get("STUDIO_PUBLIC_URL", "").strip()
    if url:
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"STUDIO_PUBLIC_URL must start with http:// or https://, got {url[:80]!r}")
        return url.rstrip("/")
    if env.get("SPACE_HOST", "").strip():
        return f"https://{env['SPACE_HOST'].strip()}"
    return f"http://127.0.0.1:{env.get('GRADIO_SERVER_PORT', '').strip() or 7860}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("studio-data")
    cache_dir: Path = Path("~/.cache/companion-studio").expanduser()
    base_model: str = "embedded"
    hf_token: str | None = field(default=None, repr=False)
    upload_limit_mb: int = 50
    region: str = "US"
    clinic_name: str = ""
    clinic_phone: str = ""
    chroma_host: str | None = None
    chroma_port: int = 8000
    embedder: str = "embedded"
    admin_password: str | None = field(default=None, repr=False)
    rater_password: str | None = field(default=None, repr=False)
    admins: tuple[str, ...] = ()
    space_author: str | None = None
    max_queue: int = 64
    # Bounded work per request: text is checked before it is tokenized (a 1 MB message once held the
    # model for minutes). Older history beyond its budget is left out, newest turns kept.
    max_message_chars: int = 8000
    max_history_chars: int = 24000
    # Where invite links point: STUDIO_PUBLIC_URL, else the Space's own host, else the local server.
    public_url: str = "http://127.0.0.1:7860"
    # Whether a visitor who has not signed in may chat (they may never vote); STUDIO_ANONYMOUS_CHAT=0 closes chat.
    anonymous_chat: bool = True
    # The release gate refuses a push when more than this share of the tuned model's report-card answers
    # are unsafe (flagged by the output guard), whatever the base model does.
    unsafe_ceiling_pct: int = 10
    # Prompts per category in the card the release gate makes when no fresh one exists (0 = the whole
    # suite). A CPU-only deployment may cap it; the card says how many prompts it was made on.
    release_card_limit: int = 0
    # Loaded base models beyond the configured one are dropped, least recently used first, when their
    # weights together pass this many MB (the configured base is never dropped).
    model_cache_mb: int = 8192
    # One chat, side-by-side or arena answer stops after this many seconds of generation, whatever its length.
    max_generation_s: int = 180
    # The generation scheduler (studio/models/scheduler.py): requests decoded together at most, requests
    # waiting beyond those (more are refused with "the studio is busy"), prompt tokens prefilled per chunk
    # (cancel is checked between chunks), and the most new tokens one answer may have (more are clipped).
    gen_max_batch: int = 16
    gen_queue: int = 48
    gen_prefill_chunk: int = 128
    gen_max_new_tokens: int = 1024
    # Requests per minute that one API key may make to /v1/... (a token bucket; STUDIO_API_RATE_PER_MIN).
    api_rate_per_min: int = 30
    # Remote models (remote:<name>, studio.models.remote): seconds to wait for a connection and for each
    # read of a hosted model's stream before that side fails with a timeout (STUDIO_REMOTE_TIMEOUT_S).
    remote_timeout_s: int = 60

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        cache = env.get("STUDIO_CACHE_DIR", "").strip() or "~/.cache/companion-studio"
        admins = tuple(a.strip() for a in env.get("STUDIO_ADMINS", "").split(",") if a.strip())
        return cls(
            data_dir=_default_data_dir(env),
            cache_dir=Path(cache).expanduser(),
            base_model=env.get("STUDIO_BASE_MODEL", "").strip() or "embedded",
            hf_token=env.get("HF_TOKEN") or None,
            upload_limit_mb=_int(env, "STUDIO_UPLOAD_LIMIT_MB", 50, high=10_240),
            region=(env.get("STUDIO_REGION", "").strip() or "US").upper(),
            clinic_name=env.get("STUDIO_CLINIC_NAME", "").strip(),
            clinic_phone=env.get("STUDIO_CLINIC_PHONE", "").strip(),
            chroma_host=env.get("STUDIO_CHROMA_HOST", "").strip() or None,
            chroma_port=_int(env, "STUDIO_CHROMA_PORT", 8000, high=65_535),
            embedder=env.get("STUDIO_EMBEDDER", "").strip() or "embedded",
            admin_password=env.get("STUDIO_ADMIN_PASSWORD") or None,
            rater_password=env.get("STUDIO_RATER_PASSWORD") or None,
            admins=admins,
            space_author=env.get("SPACE_AUTHOR_NAME") or None,
            max_queue=_int(env, "STUDIO_MAX_QUEUE", 64),
            max_message_chars=_int(env, "STUDIO_MAX_MESSAGE_CHARS", 8000, low=100),
            max_history_chars=_int(env, "STUDIO_MAX_HISTORY_CHARS", 24000, low=0),
            public_url=_public_url(env),
            anonymous_chat=_flag(env, "STUDIO_ANONYMOUS_CHAT", True),
            unsafe_ceiling_pct=_int(env, "STUDIO_UNSAFE_CEILING_PCT", 10, low=0, high=100),
            release_card_limit=_int(env, "STUDIO_RELEASE_CARD_LIMIT", 0, low=0, high=10_000),
            model_cache_mb=_int(env, "STUDIO_MODEL_CACHE_MB", 8192, low=0, high=10**7),
            max_generation_s=_int(env, "STUDIO_MAX_GENERATION_S", 180, low=1, high=86_400),
            api_rate_per_min=_int(env, "STUDIO_API_RATE_PER_MIN", 30, high=100_000),
            remote_timeout_s=_int(env, "STUDIO_REMOTE_TIMEOUT_S", 60, low=1, high=3_600),
            gen_max_batch=_int(env, "STUDIO_GEN_MAX_BATCH", 16, high=256),
            gen_queue=_int(env, "STUDIO_GEN_QUEUE", 48, high=10_000),
            gen_prefill_chunk=_int(env, "STUDIO_GEN_PREFILL_CHUNK", 128, low=16, high=65_536),
            gen_max_new_tokens=_int(env, "STUDIO_MAX_NEW_TOKENS", 1024, high=4096),
        )

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def upload_limit_bytes(self) -> int:
        return self.upload_limit_mb * 1024 * 1024

    # Sub-directories of the data dir; every feature stores under one of these.
    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def kb_dir(self) -> Path:
        return self.data_dir / "knowledge"

    @property
    def votes_db(self) -> Path:
        return self.data_dir / "arena" / "votes.sqlite3"

    @property
    def api_keys_db(self) -> Path:
        return self.data_dir / "api" / "keys.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def system_prompt_file(self) -> Path:
        return self.data_dir / "chat" / "system_prompt.txt"

    @property
    def safety_dir(self) -> Path:
        return self.data_dir / "safety"  # admins' crisis-template overrides

    @property
    def arena_config_file(self) -> Path:
        return self.data_dir / "arena" / "config.json"

    @property
    def preferences_dir(self) -> Path:
        return self.data_dir / "preferences"  # preference sets the feedback inbox writes (DPO data)

    @property
    def prompts_dir(self) -> Path:
        return self.data_dir / "prompts"  # the clinic's own prompt sets, beside the packaged examples

    @property
    def eval_suite_dir(self) -> Path:
        return self.data_dir / "eval-suite"  # a clinic's own report-card suite replaces the default

    def ensure_data_dir(self) -> Path:
        """Create the data dir or fail with a message naming the path and the variable."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise SettingsError(
                f"The data directory {self.data_dir} is not writable ({exc.strerror or exc}). "
                "Set STUDIO_DATA_DIR to a writable folder."
            ) from None
        return self.data_dir
