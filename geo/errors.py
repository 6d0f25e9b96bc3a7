"""Errors of the spatial library: they name what is wrong, where, and how to fix it."""

from __future__ import annotations

from typing import Any


class GeometryError(ValueError):
    """A geometry that cannot be used, with the reason and its place in the input.

    Every parser of the library raises it, so callers turn one exception into a validation
    error for the user.

    Parameters
    ----------
    reason : str
        What is wrong and how to fix it, in words a user can act on.
    loc : tuple of str or int
        Where in the input: keys and indices from the top of the document, for example
        ``("coordinates", 0, 3, 1)`` for the latitude of the fourth position of the first ring,
        or ``("char", 57)`` for a character offset in WKT. Empty when the problem is the input as
        a whole (its size, its syntax as a whole).
    """

    reason: str
    loc: tuple[str | int, ...]

    def __init__(self, reason: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(reason, loc)
        self.reason = reason
        self.loc = tuple(loc)

    def __str__(self) -> str:
        if not self.loc:
            return self.reason
        return f"{self.reason} (at {'/'.join(map(str, self.loc))})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.loc))


class GeometryLimitExceeded(GeometryError):
    """A zone over one of the limits that keep its processing time bounded.

    Parameters
    ----------
    reason, loc
        As for ``GeometryError``.
    limit : str
        The name of the limit (``max_vertices``, ``max_bytes``, ``max_overlaps``), for a
        client to tell which one it hit.
    allowed : int
        Its value.
    """

    limit: str
    allowed: int

    def __init__(
        self, reason: str, loc: tuple[str | int, ...] = (), *, limit: str = "", allowed: int = 0
    ) -> None:
        super().__init__(reason, loc)
        self.limit = limit
        self.allowed = allowed

    def __reduce__(self) -> tuple[Any, ...]:
        return (_limit_exceeded, (self.reason, self.loc, self.limit, self.allowed))


def _limit_exceeded(
    reason: str, loc: tuple[str | int, ...], limit: str, allowed: int
) -> GeometryLimitExceeded:
    return GeometryLimitExceeded(reason, loc, limit=limit, allowed=allowed)


class DeadlineExceeded(Exception):
    """Geometry work stopped because its deadline passed (``time.monotonic()`` seconds).

    Long loops of the library check the deadline they are given between steps, so that work
    running in a thread stops soon after its caller gave up on it.
    """


def check_deadline(deadline: float | None) -> None:
    """Raise ``DeadlineExceeded`` when ``deadline`` (a ``time.monotonic()`` value) has passed."""
    import time

    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded("the geometry work ran past its deadline")
