"""Errors of the spatial library: they name what is wrong and where."""

from __future__ import annotations


class GeometryError(ValueError):
    """A geometry that cannot be used, with the reason and its place in the input.

    Parameters
    ----------
    reason : str
        What is wrong and how to fix it, in words a user can act on.
    loc : tuple of str or int
        Where in the input: for example ``("coordinates", 0, 3)`` for the fourth position of the
        first ring.
    """

    def __init__(self, reason: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.loc = loc
