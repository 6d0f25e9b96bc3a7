"""Admin-area lookup on the shipped boundaries, checked against real cities."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest

from geo.admin import AdminAreas


@pytest.fixture(scope="module")
def areas() -> AdminAreas:
    return AdminAreas.load()


def test_real_cities_land_in_their_country_and_province(areas: AdminAreas) -> None:
    with resources.files("geo").joinpath("data/cities.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    countries, admin1, _ = areas.locate_many(
        np.array([float(r["lon"]) for r in rows]), np.array([float(r["lat"]) for r in rows])
    )
    same_country = np.mean([r["country_iso3"] == c for r, c in zip(rows, countries, strict=True)])
    with_admin1 = [(r["adm1_id"], a) for r, a in zip(rows, admin1, strict=True) if r["adm1_id"]]
    same_admin1 = np.mean([want == got for want, got in with_admin1])
    assert same_country > 0.995
    assert same_admin1 > 0.98


@pytest.mark.parametrize(
    ("lon", "lat", "country", "admin1"),
    [
        (101.6869, 3.1390, "MYS", "MY-14"),  # Kuala Lumpur
        (100.3288, 5.4141, "MYS", "MY-07"),  # George Town, Penang
        (103.8198, 1.3521, "SGP", None),
        (120.9842, 14.5995, "PHL", "PH-X-MANILA"),
        (106.8456, -6.2088, "IDN", "ID-JK"),
        (55.2708, 25.2048, "ARE", "AE-DU"),
        (100.5018, 13.7563, "THA", "TH-10"),
    ],
)
def test_known_places(
    areas: AdminAreas, lon: float, lat: float, country: str, admin1: str | None
) -> None:
    found = areas.locate(lon, lat)
    assert found.country == country
    if admin1:
        assert found.admin1 == admin1
    assert found.flag in {None, "snapped"}


def test_sea_swapped_and_out_of_range_are_flagged(areas: AdminAreas) -> None:
    assert areas.locate(80.0, -10.0).flag == "at_sea"
    assert areas.locate(6.93, 79.85).flag == "swapped_lat_lon"  # Colombo written lon-first
    assert areas.locate(200.0, 3.0).flag == "out_of_range"
    assert areas.locate(80.0, -10.0).country is None


def test_country_geometry_and_intersections(areas: AdminAreas) -> None:
    mys = areas.country_geometry("MYS")
    assert mys is not None
    assert set(areas.countries_intersecting(mys.buffer(0.01))) >= {"BRN", "IDN", "MYS", "THA"}
    assert "MYS" in areas.countries_intersecting(mys)
    assert areas.admin1_geometry("MY-14") is not None
