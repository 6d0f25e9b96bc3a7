"""Workers located in their own country of nationality are not migrant workers there: the index
leaves them out of every count and list, and counts them apart."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from geo.exposure import ExposureIndex

# Three Malaysians and two Indonesians in Malaysia, one Malaysian in Singapore.
PEOPLE = [
    ("MYS", "MYS"),
    ("MYS", "MYS"),
    ("MYS", "MYS"),
    ("IDN", "MYS"),
    ("IDN", "MYS"),
    ("MYS", "SGP"),
]
ZONE = box(100.0, 0.0, 105.0, 5.0)


def index() -> ExposureIndex:
    built = ExposureIndex.from_arrays(
        pk=list(range(1, len(PEOPLE) + 1)),
        lon=[103.0 + i * 0.01 for i in range(len(PEOPLE))],
        lat=[1.5] * len(PEOPLE),
        attributes={
            "nationality": [n for n, _ in PEOPLE],
            "country": [c for _, c in PEOPLE],
            "admin1": ["MY-01"] * 5 + ["SG-01"],
        },
        family=[1] * len(PEOPLE),
        vulnerable=[True] * len(PEOPLE),
    )
    return built


def test_nationals_at_home_are_in_no_count_but_their_own() -> None:
    counts = index().query(ZONE)
    assert counts.workers == 3
    assert counts.by_nationality == {"IDN": 2, "MYS": 1}
    assert counts.by_nationality_country == {"IDN": {"MYS": 2}, "MYS": {"SGP": 1}}
    assert counts.by_country == {"MYS": 2, "SGP": 1}
    assert counts.by_admin1 == {"MY-01": 2, "SG-01": 1}
    assert (counts.accompanying_family, counts.vulnerable) == (3, 3)
    assert counts.nationals_in_own_country == 3


def test_filters_count_nationals_at_home_apart_too() -> None:
    counts = index().query(ZONE, nationalities=["MYS"])
    assert (counts.workers, counts.nationals_in_own_country) == (1, 3)
    counts = index().query(ZONE, nationalities=["MYS"], countries=["SGP"])
    assert (counts.workers, counts.nationals_in_own_country) == (1, 0)


def test_a_delta_is_counted_the_same() -> None:
    built = index()
    built.upsert(
        pk=[7], lon=[103.5], lat=[1.5], attributes={"nationality": ["SGP"], "country": ["SGP"]}
    )
    built.upsert(
        pk=[4], lon=[103.5], lat=[1.6], attributes={"nationality": ["IDN"], "country": ["IDN"]}
    )
    counts = built.query(ZONE)
    assert (counts.workers, counts.nationals_in_own_country) == (2, 5)


def test_lists_leave_them_out_unless_asked() -> None:
    built = index()
    assert built.select_pks(ZONE).tolist() == [4, 5, 6]
    assert built.select_pks(ZONE, own_country="only").tolist() == [1, 2, 3]
    assert built.select_pks(ZONE, own_country="include").tolist() == [1, 2, 3, 4, 5, 6]
    assert built.select_pks(ZONE, nationalities=["MYS"], own_country="only").tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="own_country"):
        built.select_pks(ZONE, own_country="maybe")


def test_an_unknown_nationality_or_country_is_no_national() -> None:
    built = ExposureIndex.from_arrays(
        pk=[1, 2], lon=[103.0, 103.1], lat=[1.5, 1.5], attributes={"nationality": ["", "MYS"]}
    )
    counts = built.query(ZONE)
    assert (counts.workers, counts.nationals_in_own_country) == (2, 0)
