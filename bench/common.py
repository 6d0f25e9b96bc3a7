"""Pieces the benchmarks share: waiting for a served API to be ready, timing a call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx


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
