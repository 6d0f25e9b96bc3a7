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
