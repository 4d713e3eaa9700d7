"""A per-key token bucket: ``rate`` requests per minute, bursts up to ``rate`` (core, thread-safe)."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, per_minute: int, clock=time.monotonic):
        if per_minute < 1:
            raise ValueError("The rate must be at least 1 request per minute.")
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request of ``key``'s budget. -> 0 when allowed, else the seconds until one is free."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.refill_per_s)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.refill_per_s


def retry_after(seconds: float) -> int:
    """The Retry-After header value: whole seconds, at least 1."""
    return max(1, math.ceil(seconds))
