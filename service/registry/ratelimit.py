"""Per-key token buckets (per process): lists of people per token, safe-and-well searches per
address."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    """``rate`` requests per second on average, bursts of ``burst``."""

    rate: float = 1.0
    burst: int = 30
    #: Keys held before the full buckets are forgotten (a full bucket is the same as none).
    max_keys: int = 100_000
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str) -> float:
        """Take one request; return 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        if len(self._state) >= self.max_keys and key not in self._state:
            self._forget_full(now)
        tokens, last = self._state.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets refilled by now: many callers (an address each) must not grow the
        table without end, and a bucket dropped full is one given back as it would be."""
        full = [
            k
            for k, (tokens, last) in self._state.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for k in full:
            del self._state[k]
