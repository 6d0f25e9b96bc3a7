"""Small cells withheld, the rest rounded: never a zero that hides a person."""

from __future__ import annotations

from geo.suppress import round_to, suppress, suppress_total


def test_small_cells_are_withheld_and_others_rounded() -> None:
    assert suppress({"PHL": 1234, "IDN": 4, "MMR": 5, "KHM": 0}) == {"PHL": 1235, "MMR": 5}
    assert suppress({"PHL": 12}, threshold=10, step=10) == {"PHL": 10}
    assert suppress_total(3) is None
    assert suppress_total(7) == 5
    assert round_to(12, 5) == 10 and round_to(13, 5) == 15
