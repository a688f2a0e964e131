"""Per-API-key rate limit: a token bucket per key, refilled continuously.

In process memory: each web process limits on its own (documented in docs/intake.md). Good enough to stop
a runaway intake system; a shared limit across processes would need the database or a cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[object, _Bucket] = field(default_factory=dict)

    def take(self, key: object, *, rate_per_minute: int, burst: int) -> float:
        """Take one token; returns 0 when allowed, else the seconds to wait before retrying."""
        now = self.clock()
        rate = rate_per_minute / 60.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(burst), updated=now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate
