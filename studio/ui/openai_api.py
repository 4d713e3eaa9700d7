"""The OpenAI-compatible endpoint on the studio's web server: ``/v1/models`` and ``/v1/chat/completions``.

Like the invite links (``studio.ui.invites``), it is a small ASGI middleware given to Gradio's FastAPI
app through ``launch(app_kwargs={"middleware": [...]})``: a request under ``/v1/`` is answered by a
Starlette router here and never reaches Gradio (nor its password login: API callers use keys); every
other request passes through untouched. The work itself is in ``studio.api`` (no web framework there).

Each request: the ``Authorization: Bearer <key>`` header must hold an active key (``studio.api.keys``;
a rater's sign-in or invite cookie is not a key) -> 401; then the key's token bucket -> 429 with
Retry-After; then the body is validated -> 400/404 naming the field. A key that worked is registered
for log redaction; keys are never logged, and only their hash is stored. Generation runs in worker
threads, at most ``GENERATION_SLOTS`` at a time (they queue on the model's lock anyway).
"""

from __future__ import annotations

import json
import logging

import anyio

from studio.api.completions import ApiError, complete, models_payload, parse_request, stream_chunks
from studio.api.keys import key_hash, resolve_key
from studio.api.ratelimit import RateLimiter, retry_after
from studio.settings import Settings
from studio.util.errors import public_message
from studio.util.redact import register_secret

log = logging.getLogger(__name__)
PREFIX = "/v1/"
MAX_BODY_BYTES = 2 * 1024 * 1024
GENERATION_SLOTS = 4
NO_KEY = ("No API key: send the header 'Authorization: Bearer <key>'. "
          "A studio admin creates keys with `python -m studio api-keys create NAME`.")
BAD_KEY = "This API key is not valid: it is unknown or was revoked. Ask the studio's admin for a key."


class OpenAIMiddleware:
    def __init__(self, app, settings: Settings):
        from starlette.applications import Starlette
        from starlette.routing import Route

        self.app = app
        self.settings = settings
        self.limiter = RateLimiter(settings.api_rate_per_min)
        self._slots: anyio.CapacityLimiter | None = None
        self.api = Starlette(routes=[
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/v1/{rest:path}", self.not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ])

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and _relative_path(scope).startswith(PREFIX):
            await self.api(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @property
    def slots(self) -> anyio.CapacityLimiter:
        if self._slots is None:  # made inside the event loop
            self._slots = anyio.CapacityLimiter(GENERATION_SLOTS)
        return self._slots

    async def models(self, request):
        try:
            await self._admit(request)
            return _json(200, await anyio.to_thread.run_sync(models_payload, self.settings))
        except ApiError as exc:
            return _error(exc, self.settings)

    async def chat_completions(self, request):
        try:
            await self._admit(request)
            body = await _read_json(request)
            req = await anyio.to_thread.run_sync(parse_request, body, self.settings)
            if not req.stream:
                return _json(200, await anyio.to_thread.run_sync(complete, req, self.settings, limiter=self.slots))
            chunks = stream_chunks(req, self.settings)
            first = await anyio.to_thread.run_sync(_next, chunks, limiter=self.slots)  # a refusal is still an HTTP error
        except ApiError as exc:
            return _error(exc, self.settings)
        except Exception:
            log.exception("The chat completion failed")
            return _error(ApiError(500, "The server failed to answer; the studio's log has the details.", kind="server_error"),
                          self.settings)
        return _sse(first, chunks, self.slots, self.settings)

    async def not_found(self, request):
        return _error(ApiError(404, f"There is no {request.url.path} here: use /v1/chat/completions or /v1/models.",
                               code="unknown_url"), self.settings)

    async def _admit(self, request) -> str:
        """The name of the caller's key, after its rate limit; refusals raise."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiError(401, NO_KEY, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        name = await anyio.to_thread.run_sync(resolve_key, self.settings, key)
        if name is None:
            raise ApiError(401, BAD_KEY, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        register_secret(key)  # only keys that work: a stranger's guesses must not grow the set
        wait = self.limiter.take(key_hash(key))
        if wait:
            seconds = retry_after(wait)
            raise ApiError(429, f"Rate limit reached for this key ({self.settings.api_rate_per_min} requests per minute, "
                           f"STUDIO_API_RATE_PER_MIN). Retry in {seconds} s.", code="rate_limit_exceeded",
                           kind="requests", headers={"Retry-After": str(seconds)})
        return name


async def _read_json(request) -> object:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"The request body is over {MAX_BODY_BYTES // (1024 * 1024)} MB.")
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.") from None


_END = object()


def _next(chunks):
    return next(chunks, _END)


def _sse(first, chunks, slots: anyio.CapacityLimiter, settings: Settings):
    from starlette.responses import StreamingResponse

    async def events():
        try:
            chunk = first
            while chunk is not _END:
                yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
                chunk = await anyio.to_thread.run_sync(_next, chunks, limiter=slots)
        except ApiError as exc:
            yield f"data: {json.dumps(_public(exc, settings).body(), ensure_ascii=False)}\n\n"
        except Exception:
            log.exception("The streamed chat completion failed")
            failure = ApiError(500, "The server failed while answering; the studio's log has the details.", kind="server_error")
            yield f"data: {json.dumps(failure.body())}\n\n"
        finally:
            with anyio.CancelScope(shield=True):  # a client that hung up: stop generating at the next token
                await anyio.to_thread.run_sync(chunks.close)
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _json(status: int, payload: dict, headers: dict[str, str] | None = None):
    from starlette.responses import JSONResponse

    return JSONResponse(payload, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def _public(exc: ApiError, settings: Settings) -> ApiError:
    """``exc`` with no server paths in its message (a model's load failure can name its folder)."""
    exc.message = public_message(exc.message, settings.data_dir)
    return exc


def _error(exc: ApiError, settings: Settings):
    return _json(exc.status, _public(exc, settings).body(), exc.headers)


def _relative_path(scope) -> str:
    path, root = scope.get("path", ""), (scope.get("root_path") or "").rstrip("/")
    return path[len(root):] if root and path.startswith(root) else path


def middleware(settings: Settings):
    """The entry for ``launch(app_kwargs={"middleware": [...]})``."""
    from starlette.middleware import Middleware

    return Middleware(OpenAIMiddleware, settings=settings)
