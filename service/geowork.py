"""CPU-heavy geometry work (parsing, repair, validation, exposure, the crisis pass's unions and
comparisons) off the event loop, within a deadline: the one way every route that takes a zone,
the CAP push and the crisis pass run it (``docs/decisions/0007-geometry-off-the-event-loop.md``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from geo.errors import DeadlineExceeded, GeometryError, GeometryLimitExceeded, check_deadline
from service.errors import InvalidInput, LifelineError

log = logging.getLogger("lifeline.geometry")
P = ParamSpec("P")
T = TypeVar("T")

DEADLINE_SETTING = "LIFELINE_GEOMETRY_DEADLINE_S"
#: How often a thread running Python code hands the GIL over to another that waits for it, in
#: seconds (Python's default is 5 ms). While a geometry thread runs Python code, the event loop
#: waits up to this at each of the several times a request gives the GIL up (at each read and
#: write of a socket), so 5 ms makes a /healthz of hundreds of milliseconds.
SWITCH_INTERVAL_S = 0.0005


class ZoneTooComplex(LifelineError):
    """The zone's geometry work did not finish within the deadline."""

    status, code, title = 422, "zone-too-complex", "The zone cannot be handled in time"


class GeometryBusy(LifelineError):
    """Every geometry thread was busy with other zones for the whole deadline."""

    status, code, title = 503, "geometry-busy", "Too many zones are being processed"


class GeometryWorkers:
    """The process's geometry threads and its deadline.

    Threads, not processes: GEOS releases the GIL, the zones' limits bound the time of every
    single GEOS call, and the exposure index (gigabytes at ten million workers) is in this
    process. Loops of the library look at the deadline between steps, so work whose caller gave
    up stops soon after; a single GEOS call cannot be stopped, which is why the limits on the
    zones, not the deadline, bound it.
    """

    def __init__(self, *, deadline_s: float, threads: int) -> None:
        self.deadline_s = deadline_s
        self.threads = threads
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="geometry"
        )
        self._lock = threading.Lock()
        self.running = 0  # jobs in a thread now: what a test or a probe looks at

    def budget(self) -> Budget:
        """A deadline starting now, for all the geometry work of one request or one alert."""
        return Budget(self, time.monotonic() + self.deadline_s)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _job(self, started: threading.Event, deadline: float, fn: Callable[[], T]) -> T:
        check_deadline(deadline)  # waited in the queue past it: do nothing
        started.set()
        with self._lock:
            self.running += 1
        try:
            return fn()
        finally:
            with self._lock:
                self.running -= 1


class Budget:
    """The deadline of one unit of work, shared by each of its geometry steps."""

    def __init__(self, workers: GeometryWorkers, deadline: float) -> None:
        self.workers = workers
        self.deadline = deadline

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in a geometry thread, within what is left of the deadline.

        Raises
        ------
        ZoneTooComplex
            The work ran past the deadline (422, naming the setting).
        GeometryBusy
            It could not even start before the deadline: the threads were busy (503).
        """
        started = threading.Event()
        future = self.workers._executor.submit(
            self.workers._job, started, self.deadline, lambda: fn(*args, **kwargs)
        )
        left = self.deadline - time.monotonic()
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=max(left, 0.0))
        except TimeoutError:
            future.cancel()
            if not started.is_set():
                raise self._busy() from None
            raise self._too_complex() from None
        except DeadlineExceeded:
            if not started.is_set():
                raise self._busy() from None
            raise self._too_complex() from None

    def _too_complex(self) -> ZoneTooComplex:
        limit = self.workers.deadline_s
        log.warning("geometry work ran past its deadline", extra={"deadline_s": limit})
        return ZoneTooComplex(
            f"The zone could not be handled within the geometry deadline of {limit:g} s "
            f"({DEADLINE_SETTING}): simplify it, for example to a tolerance of a few hundred "
            "metres, or give fewer vertices",
            extra={"limit": "geometry_deadline_s", "deadline_s": limit},
        )

    def _busy(self) -> GeometryBusy:
        return GeometryBusy(
            "Every geometry thread was busy with other zones for the whole deadline of "
            f"{self.workers.deadline_s:g} s ({DEADLINE_SETTING}); send the request again",
            headers={"Retry-After": "1"},
        )


def zone_problem(exc: GeometryError, loc: Sequence[str | int]) -> InvalidInput:
    """A zone that cannot be used, as a 422 naming the problem, its place, and the limit."""
    extra: dict[str, Any] = {}
    if isinstance(exc, GeometryLimitExceeded):
        extra = {"limit": exc.limit, "allowed": exc.allowed}
    return InvalidInput(
        f"The zone is not usable: {exc.reason}",
        errors=[{"loc": [*loc, *exc.loc], "msg": exc.reason}],
        extra=extra,
    )


_default: GeometryWorkers | None = None


def default_workers() -> GeometryWorkers:
    """The process's geometry threads outside the API (the worker, the CLI, the demo)."""
    global _default
    if _default is None:
        from service.settings import get_settings

        settings = get_settings()
        _default = GeometryWorkers(
            deadline_s=settings.geometry_deadline_s, threads=settings.geometry_threads
        )
    return _default
