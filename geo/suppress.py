"""Aggregates for callers outside the need-to-know: small cells withheld, the rest rounded."""

from __future__ import annotations

from collections.abc import Mapping


def round_to(value: int, step: int) -> int:
    """Nearest multiple of ``step`` (halves up)."""
    return int((value + step // 2) // step * step)


def suppress(counts: Mapping[str, int], *, threshold: int = 5, step: int = 5) -> dict[str, int]:
    """Cells under ``threshold`` are withheld (absent, never shown as zero); others rounded.

    Parameters
    ----------
    counts : mapping of str to int
        Exact counts per cell.
    threshold : int
        Smallest count shown.
    step : int
        Rounding step for the counts shown.
    """
    return {k: round_to(v, step) for k, v in counts.items() if v >= threshold}


def suppress_total(value: int, *, threshold: int = 5, step: int = 5) -> int | None:
    """A total under the same rule: None when withheld."""
    return round_to(value, step) if value >= threshold else None
