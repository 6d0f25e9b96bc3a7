"""Per-token token buckets (per process), for lists of people."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    """``rate`` requests per second on average, bursts of ``burst``."""

    rate: float = 1.0
    burst: int = 30
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str) -> float:
        """Take one request; return 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        tokens, last = self._state.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1.0 - tokens) / self.rate
