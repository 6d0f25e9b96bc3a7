"""Pieces the benchmarks share: waiting for a served API to be ready, timing a call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

#: The environment of a served API under a bench: no request limits, per token or per address
#: (a bench asks faster than any client may, from one address); failed authentications keep
#: theirs (a bench sends good tokens).
NO_REQUEST_LIMITS = {
    "LIFELINE_TOKEN_REQUESTS_PER_MINUTE": "0",
    "LIFELINE_ADDRESS_REQUESTS_PER_MINUTE": "0",
}


def wait_until_ready(client: httpx.Client, *, seconds: float, every: float = 1.0) -> None:
    """Poll ``/readyz`` until it answers 200 (the index is built), for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(every)


def timed(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    """The median time of ``runs`` calls of ``fn`` in seconds, and its last result."""
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


#: The final table of a bench: each figure with its target, and the counts that must be exact
#: (a wrong one is a failure the bench exits with).
@dataclass
class Table:
    rows: list[tuple[str, str, str, bool]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def target(self, name: str, target: str, figure: str, met: bool) -> None:
        self.rows.append((name, target, figure, met))

    def correct(self, name: str, want: Any, got: Any) -> None:
        self.rows.append((name, f"exactly {want:,}", f"{got:,}", want == got))
        if want != got:
            self.failures.append(f"{name}: {got:,}, not {want:,}")

    def print(self) -> None:
        width = [max(len(r[i]) for r in self.rows) for i in range(3)]
        print(f"\n| {'figure':<{width[0]}} | {'target':<{width[1]}} | {'measured':<{width[2]}} | |")
        print(f"|{'-' * (width[0] + 2)}|{'-' * (width[1] + 2)}|{'-' * (width[2] + 2)}|---|")
        for name, target, figure, met in self.rows:
            print(
                f"| {name:<{width[0]}} | {target:<{width[1]}} | {figure:<{width[2]}} | "
                f"{'met' if met else 'MISSED'} |"
            )
