"""The synthetic register: each person stands in their corridor's destination, carries a name of
their nationality that fits their sex, and a mobile number of the country they work in."""

from __future__ import annotations

import re

import numpy as np
import pytest

from service.demo.synthetic import corridors, names, synthetic_register, synthetic_rows
from service.registry.locate import default_locator

N = 20_000

#: ITU-T E.164 country calling codes of the destinations, written out here on their own so
#: that a wrong code in the shipped table fails.
CALLING_CODES = {
    "ARE": "971", "BHR": "973", "BRN": "673", "HKG": "852", "IDN": "62", "JPN": "81",
    "KHM": "855", "KOR": "82", "KWT": "965", "LAO": "856", "MAC": "853", "MMR": "95",
    "MYS": "60", "OMN": "968", "PHL": "63", "QAT": "974", "SAU": "966", "SGP": "65",
    "THA": "66", "TLS": "670", "TWN": "886", "VNM": "84",
}  # fmt: skip


@pytest.fixture(scope="module")
def register() -> tuple[list[dict[str, str]], list[str]]:
    rows = list(synthetic_rows(N, seed=7))
    return rows, [str(d) for d in synthetic_register(N, seed=7).destination]


def test_every_person_stands_in_their_destination_not_their_own_country(
    register: tuple[list[dict[str, str]], list[str]],
) -> None:
    rows, destinations = register
    placed = default_locator().locate_many(
        [float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows]
    )
    countries = [p.country for p in placed]
    nationals = sum(c == r["nationality"] for c, r in zip(countries, rows, strict=True))
    assert nationals == 0
    astray = [
        (r["nationality"], d, c)
        for r, d, c in zip(rows, destinations, countries, strict=True)
        if c != d
    ]
    assert astray == []
    assert not any(p.doubtful for p in placed)
    # The corridor that used to spill into Johor Bahru is drawn at this size.
    assert ("MYS", "SGP") in {
        (r["nationality"], d) for r, d in zip(rows, destinations, strict=True)
    }


def test_names_fit_the_nationality_and_the_sex(
    register: tuple[list[dict[str, str]], list[str]],
) -> None:
    rows, _ = register
    tables = names()
    for r in rows:
        table = tables[r["nationality"]]
        assert r["sex"] in {"F", "M"}
        assert r["given_name"] in table.given[r["sex"]], r
        assert r["family_name"] in table.family, r
    # Some variety: not one name for everybody.
    assert len({r["given_name"] for r in rows if r["nationality"] == "IDN"}) > 10


def test_phones_are_mobiles_of_the_destination(
    register: tuple[list[dict[str, str]], list[str]],
) -> None:
    rows, destinations = register
    for r, destination in zip(rows, destinations, strict=True):
        code = CALLING_CODES[destination]
        assert re.fullmatch(rf"\+{code}\d{{7,11}}", r["phone"]), (destination, r["phone"])
        assert len(r["phone"]) - 1 <= 15  # E.164's longest


def test_every_corridor_has_names_and_a_numbering() -> None:
    lanes = corridors()
    assert {c.origin for c in lanes} <= set(names())
    assert {c.destination for c in lanes} <= set(CALLING_CODES)
    for nationality, table in names().items():
        assert not set(table.given["F"]) & set(table.given["M"]), nationality
        assert min(len(table.given["F"]), len(table.given["M"]), len(table.family)) >= 10


def test_same_seed_same_people() -> None:
    assert list(synthetic_rows(50, seed=3)) == list(synthetic_rows(50, seed=3))
    first = synthetic_register(50, seed=3)
    assert np.array_equal(first.lat, synthetic_register(50, seed=3).lat)
