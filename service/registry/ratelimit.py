"""Per-key token buckets (per process): lists of people per token, safe-and-well searches per
address, requests per token and per address, failed authentications per address."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    """``rate`` requests per second on average, bursts of ``burst``."""

    rate: float = 1.0
    burst: int = 30
    #: Keys held before the full buckets are forgotten (a full bucket is the same as none).
    max_keys: int = 100_000
    #: Seconds, from any fixed point: a test moves it on instead of sleeping.
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str) -> float:
        """Take one request; return 0 if allowed, else the seconds to wait."""
        now = self.clock()
        if len(self._state) >= self.max_keys and key not in self._state:
            self._forget_full(now)
        tokens = self._level(key, now)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def wait(self, key: str) -> float:
        """The seconds until ``key`` may take one request (0: now), taking nothing."""
        tokens = self._level(key, self.clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def full(self, key: str) -> bool:
        """Whether ``key``'s bucket has refilled whole (as if it had never been used)."""
        return self._level(key, self.clock()) >= self.burst

    def _level(self, key: str, now: float) -> float:
        tokens, last = self._state.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate)

    def _forget_full(self, now: float) -> None:
        """Drop the buckets refilled by now: many callers (an address each) must not grow the
        table without end, and a bucket dropped full is one given back as it would be.

        Each pass frees at least a tenth of the table, so that a flood from more keys than it
        holds, none of them refilled yet, costs one scan per tenth of new keys and not one per
        request: past the refilled ones, the keys seen first go (their callers start afresh,
        the price of a table bounded under such a flood)."""
        full = [
            k
            for k, (tokens, last) in self._state.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for k in full:
            del self._state[k]
        shortfall = forget_at_least(self.max_keys) - len(full)
        for k in list(itertools.islice(self._state, max(0, shortfall))):
            del self._state[k]


def forget_at_least(max_keys: int) -> int:
    """How many keys a pass over a full table of ``max_keys`` frees, at the least."""
    return max(1, max_keys // 10)
