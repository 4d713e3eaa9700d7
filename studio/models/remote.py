"""Hosted models as model choices: ``remote:<name>`` (core: no gradio).

An admin registers a remote model: a name, an OpenAI-compatible base URL (Inference Providers, an
Inference Endpoint, TGI, vLLM, or another studio's ``/v1``), the model id to ask for there, and the
NAME of the environment variable that holds the key. The key itself is never stored: it is read from
the environment at each call, registered for log redaction, and scrubbed from every error message.

The registry is one JSON file in the data dir (``remote/models.json``), written atomically.
Generation goes through ``huggingface_hub.InferenceClient`` (it speaks to any OpenAI-compatible base
URL), streamed, with a timeout on every read and an overall deadline (``max_generation_s``).
Failures (timeout, 429, 5xx, refused connection) become :class:`RemoteError` carrying the
provider's own message, so a caller can show it on that model's side only.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from studio.models.errors import GenerationError
from studio.settings import Settings
from studio.util.io import atomic_write_json, read_json
from studio.util.redact import redact, register_secret

if TYPE_CHECKING:  # type only: generation imports the loader, which checks this registry
    from studio.models.generate import GenerationSettings

PREFIX = "remote:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MAX_MESSAGE_CHARS = 500  # a provider's error page can be long; its first lines say what went wrong
_lock = threading.Lock()  # one writer at a time inside this process; the file itself is replaced atomically


class RemoteError(GenerationError):
    """A remote model could not answer, or the registry refused a change; the text is safe to show."""


@dataclass(frozen=True)
class RemoteModel:
    name: str
    base_url: str
    model_id: str
    key_env: str = ""  # the environment variable holding the key; empty: the server needs none

    @property
    def ref(self) -> str:
        return PREFIX + self.name

    def key(self) -> str | None:
        value = os.environ.get(self.key_env) if self.key_env else None
        register_secret(value)  # whatever happens next, this value never reaches a log line
        return value or None

    def to_dict(self) -> dict:
        return {**asdict(self), "ref": self.ref, "key_set": bool(self.key_env and os.environ.get(self.key_env))}


def registry_path(settings: Settings):
    return settings.data_dir / "remote" / "models.json"


def is_remote(ref: str | None) -> bool:
    return bool(ref) and str(ref).strip().startswith(PREFIX)


def list_remotes(settings: Settings) -> list[RemoteModel]:
    data = read_json(registry_path(settings), {}) or {}
    out = []
    for row in data.get("models", []):
        try:
            out.append(RemoteModel(**{k: row[k] for k in ("name", "base_url", "model_id", "key_env")}))
        except (KeyError, TypeError):
            continue  # a hand-edited entry that lost a field is skipped, not fatal
    return out


def remote_choices(settings: Settings) -> list[str]:
    return [m.ref for m in list_remotes(settings)]


def get_remote(ref: str, settings: Settings) -> RemoteModel:
    name = ref.strip()[len(PREFIX):] if is_remote(ref) else ref.strip()
    for model in list_remotes(settings):
        if model.name == name:
            return model
    known = ", ".join(remote_choices(settings)) or "none registered"
    raise RemoteError(f"No remote model {PREFIX}{name[:60]} (registered: {known}). "
                      "An admin adds one with `python -m studio remote add`.")


def add_remote(settings: Settings, name: str, base_url: str, model_id: str, key_env: str = "") -> RemoteModel:
    model = RemoteModel(_clean_name(name), _clean_url(base_url), _clean_model_id(model_id), _clean_env(key_env))
    with _lock:
        models = list_remotes(settings)
        if any(m.name == model.name for m in models):
            raise RemoteError(f"{model.ref} is already registered. Remove it first, or choose another name.")
        _save(settings, [*models, model])
    return model


def remove_remote(settings: Settings, name: str) -> RemoteModel:
    with _lock:
        model = get_remote(name, settings)
        _save(settings, [m for m in list_remotes(settings) if m.name != model.name])
    return model


def _save(settings: Settings, models: list[RemoteModel]) -> None:
    atomic_write_json(registry_path(settings), {"models": [asdict(m) for m in models]})


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if name.startswith(PREFIX):
        name = name[len(PREFIX):]
    if not _NAME.match(name):
        raise RemoteError("A remote model's name is 1-60 letters, digits, '.', '_' or '-' (e.g. 'llama-8b').")
    return name


def _clean_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RemoteError("The base URL must start with http:// or https:// (e.g. https://router.huggingface.co/v1).")
    if parts.username or parts.password or parts.query:
        raise RemoteError("Put no key in the base URL: name the environment variable that holds it with --key-env.")
    return url


def _clean_model_id(model_id: str) -> str:
    model_id = (model_id or "").strip()
    if not model_id or len(model_id) > 200 or any(c.isspace() for c in model_id):
        raise RemoteError("Give the model id the server knows (e.g. meta-llama/Llama-3.1-8B-Instruct), without spaces.")
    return model_id


def _clean_env(key_env: str) -> str:
    key_env = (key_env or "").strip()
    if key_env and not _ENV.match(key_env):
        raise RemoteError("--key-env takes the NAME of an environment variable (e.g. HF_TOKEN), not the key itself.")
    return key_env


# --- generation ---


def stream_remote(ref: str, messages: list[dict], gen: GenerationSettings, settings: Settings,
                  stats: dict | None = None) -> Iterator[str]:
    """Yield the remote reply's cumulative text as it grows; failures raise :class:`RemoteError`.

    ``stats`` gets ``new_tokens`` and ``seconds`` at the end (and ``prompt_tokens`` when the server
    reports usage), like ``stream_chat``'s."""
    model = get_remote(ref, settings)
    key = model.key()
    started = time.perf_counter()
    deadline = started + float(settings.max_generation_s)
    text, pieces, usage = "", 0, None
    client = _client(model, key, settings)  # held (and closed below): it owns the open streamed response
    try:
        stream = client.chat_completion(
            messages=messages, model=model.model_id, stream=True, max_tokens=int(gen.max_new_tokens),
            temperature=float(gen.temperature), top_p=float(gen.top_p) if float(gen.temperature) > 0 else None,
            seed=None if gen.seed is None else int(gen.seed))
        for chunk in stream:
            usage = getattr(chunk, "usage", None) or usage
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if _replaces(chunk):  # another studio's guard replaced what it streamed: show its safe text instead
                text = delta or ""
                yield text
            elif delta:
                text += delta
                pieces += 1
                yield text
            if time.perf_counter() > deadline:
                break  # the same per-answer limit as a local generation
    except GeneratorExit:
        raise
    except Exception as exc:  # any transport or provider failure: one message, on this model's side
        raise RemoteError(f"{model.ref} failed: {provider_message(exc, key)}") from None
    finally:
        client.close()  # also when the caller stopped early: the connection goes, the server stops generating
    if stats is not None:
        stats["new_tokens"] = int(getattr(usage, "completion_tokens", 0) or pieces)
        if getattr(usage, "prompt_tokens", None):
            stats["prompt_tokens"] = int(usage.prompt_tokens)
        stats["seconds"] = round(time.perf_counter() - started, 3)


def _replaces(chunk) -> bool:
    extra = chunk.get("safety") if isinstance(chunk, dict) else None  # a studio's non-standard field
    return isinstance(extra, dict) and bool(extra.get("replaced_streamed_text"))


def generate_remote(ref: str, messages: list[dict], gen: GenerationSettings, settings: Settings) -> tuple[str, int, float]:
    """The whole reply at once -> (text, new tokens, seconds)."""
    stats: dict = {}
    text = ""
    for partial in stream_remote(ref, messages, gen, settings, stats):
        text = partial
    return text.strip(), stats.get("new_tokens", 0), stats.get("seconds", 0.0)


def _client(model: RemoteModel, key: str | None, settings: Settings):
    from huggingface_hub import InferenceClient

    # The timeout bounds the connection and every read of the stream: a silent server cannot hang a side.
    return InferenceClient(base_url=model.base_url, api_key=key or "none", timeout=float(settings.remote_timeout_s))


def provider_message(exc: BaseException, key: str | None = None) -> str:
    """What the provider said (status and its error text), without the key, in one short line."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    kind = type(exc).__name__
    if kind == "OfflineModeIsEnabled":  # huggingface_hub blocks every request it makes, not only the Hub's
        detail = "HF_HUB_OFFLINE=1 is set, which stops huggingface_hub from making any request; unset it to use hosted models"
    elif "Timeout" in kind or isinstance(exc, TimeoutError):
        detail = f"no answer within the timeout (STUDIO_REMOTE_TIMEOUT_S) [{kind}]"
    else:
        detail = str(exc) or kind
    if key:
        detail = detail.replace(key, "***")
    detail = " ".join(redact(detail).split())
    if len(detail) > MAX_MESSAGE_CHARS:
        detail = detail[: MAX_MESSAGE_CHARS - 1] + "…"
    return f"HTTP {status}: {detail}" if status and not detail.startswith(f"{status}") else detail

