"""Admin-area lookup: the rules on a small made-up world, then the shipped boundaries on real cities."""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from geo.admin import AdminAreas, Location
from geo.circles import geodesic_circle

FLAGS = {None, "snapped", "at_sea", "swapped_lat_lon", "out_of_range"}


def feature(geometry: BaseGeometry, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}


@pytest.fixture(scope="module")
def toy() -> AdminAreas:
    """AAA and BBB share the meridian 10; DDD lies 0.04 degrees (4.4 km) west of AAA; CCC
    reaches the antimeridian. AAA's subdivisions start 0.02 degrees inside its outline, as
    generalised layers drift apart."""
    countries = [
        feature(box(0, 0, 10, 10), iso_a3="AAA"),
        feature(box(10, 0, 20, 10), iso_a3="BBB"),
        feature(box(170, -10, 180, 10), iso_a3="CCC"),
        feature(box(-10, 0, -0.04, 10), iso_a3=None, ne_adm0_a3="DDD"),
    ]
    admin1 = [
        feature(box(0.02, 0, 5, 10), adm1_id="AA-1", iso_a3="AAA", parent_iso_3166_2="AA-P"),
        feature(box(5, 0, 10, 10), adm1_id="AA-2", iso_a3="AAA", parent_iso_3166_2="AA-P"),
        feature(box(-10, 0, -0.04, 10), adm1_id="DD-X-ONE", iso_a3="DDD", iso_3166_2=None),
    ]
    return AdminAreas(countries, admin1)


@pytest.fixture(scope="module")
def areas() -> AdminAreas:
    return AdminAreas.load()


# --- the rules ----------------------------------------------------------------------------------


def test_points_inside_get_country_and_subdivision(toy: AdminAreas) -> None:
    assert toy.locate(2, 5) == Location("AAA", "AA-1", None)
    assert toy.locate(7, 5) == Location("AAA", "AA-2", None)
    assert toy.locate(15, 5) == Location("BBB", None, None)
    assert toy.locate(-5, 5) == Location("DDD", "DD-X-ONE", None)


def test_points_within_5_km_of_a_coast_are_snapped_to_the_nearest_country(toy: AdminAreas) -> None:
    # 0.03 degrees of longitude at latitude 5 is 3.3 km; 0.06 degrees is 6.7 km.
    assert toy.locate(20.03, 5) == Location("BBB", None, "snapped")
    assert toy.locate(20.06, 5) == Location(None, None, "at_sea")
    assert toy.locate(9.99, -0.02) == Location("AAA", "AA-2", "snapped")
    assert toy.locate(5, 10.04) == Location("AAA", "AA-1", "snapped")  # 4.4 km north


def test_a_snapped_point_takes_a_subdivision_of_its_own_country(toy: AdminAreas) -> None:
    # 1.7 km from AAA and 2.8 km from DDD, but 3.9 km from AAA's subdivisions and 2.8 km from
    # DDD's: the country is AAA, so the subdivision must be AAA's.
    assert toy.locate(-0.015, 5) == Location("AAA", "AA-1", "snapped")


def test_snapping_works_across_the_antimeridian(toy: AdminAreas) -> None:
    assert toy.locate(-179.98, 0) == Location("CCC", None, "snapped")
    assert toy.locate(-179.9, 0) == Location(None, None, "at_sea")


def test_far_at_sea_a_point_that_lands_when_swapped_is_flagged(toy: AdminAreas) -> None:
    assert toy.locate(5, 15) == Location(None, None, "swapped_lat_lon")  # (15, 5) is in BBB
    assert toy.locate(5, 175) == Location(None, None, "swapped_lat_lon")  # latitude beyond 90
    assert toy.locate(50, -50) == Location(None, None, "at_sea")
    # 22 km off AAA: at sea, even though (10.2, 5) is in AAA.
    assert toy.locate(5, 10.2) == Location(None, None, "at_sea")


@pytest.mark.parametrize(
    ("lon", "lat"), [(181, 0), (-180.5, 0), (0, 95), (100, 120), (float("nan"), 0), (0, np.inf)]
)
def test_out_of_range(toy: AdminAreas, lon: float, lat: float) -> None:
    assert toy.locate(lon, lat) == Location(None, None, "out_of_range")


def test_many_points_at_once_agree_with_one_at_a_time(toy: AdminAreas) -> None:
    rng = np.random.default_rng(3)
    lons = np.concatenate([rng.uniform(-20, 30, 400), [181.0, np.nan, -179.98]])
    lats = np.concatenate([rng.uniform(-20, 30, 400), [0.0, 0.0, 0.0]])
    many = toy.locate_many(lons, lats)
    assert len(many.country) == len(many.admin1) == len(many.flag) == len(lons)
    for i in range(len(lons)):
        one = toy.locate(lons[i], lats[i])
        assert (many.country[i], many.admin1[i], many.flag[i]) == (
            one.country,
            one.admin1,
            one.flag,
        )
    country, admin1, flag = toy.locate_many([], [])
    assert len(country) == len(admin1) == len(flag) == 0


def test_mismatched_inputs_are_refused(toy: AdminAreas) -> None:
    with pytest.raises(ValueError, match="lons and lats"):
        toy.locate_many([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="lons and lats"):
        toy.locate_many([[1.0]], [[1.0]])
    with pytest.raises(ValueError, match="lons and lats"):
        toy.locate_many(["east"], [1.0])


def test_geometries_by_code(toy: AdminAreas) -> None:
    aaa = toy.country_geometry("aaa")
    assert aaa is not None and aaa.equals(box(0, 0, 10, 10))
    assert toy.country_geometry("DDD") is not None  # a territory known by its Natural Earth code
    assert toy.country_geometry("ZZZ") is None
    one = toy.admin1_geometry("AA-1")
    assert one is not None and one.equals(box(0.02, 0, 5, 10))
    parent = toy.admin1_geometry("AA-P")  # a parent region is the union of its members
    assert parent is not None and parent.equals(box(0.02, 0, 10, 10))
    assert toy.admin1_geometry("AA-9") is None


def test_countries_intersecting_leaves_out_a_zone_that_only_touches(toy: AdminAreas) -> None:
    assert toy.countries_intersecting(box(9, 1, 11, 2)) == ["AAA", "BBB"]
    assert toy.countries_intersecting(box(10, 1, 11, 2)) == ["BBB"]
    assert toy.countries_intersecting(box(20, 1, 21, 2)) == []
    assert toy.countries_intersecting(box(100, 1, 101, 2)) == []


# --- the shipped boundaries ---------------------------------------------------------------------


def cities() -> list[dict[str, str]]:
    with resources.files("geo").joinpath("data", "cities.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_real_cities_land_in_their_country_and_province(areas: AdminAreas) -> None:
    rows = cities()
    assert len(rows) > 10_000
    found = areas.locate_many([float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows])
    same_country = np.mean(
        [r["country_iso3"] == c for r, c in zip(rows, found.country, strict=True)]
    )
    same_admin1 = np.mean([r["adm1_id"] == a for r, a in zip(rows, found.admin1, strict=True)])
    # The misses are border towns across a generalised border and islets smaller than it.
    assert same_country >= 0.99
    assert same_admin1 >= 0.98
    assert set(found.flag) <= {None, "snapped", "at_sea"}


@pytest.mark.parametrize(
    ("place", "lon", "lat", "country", "admin1"),
    [
        ("Kuala Lumpur", 101.6869, 3.1390, "MYS", "MY-14"),
        ("George Town", 100.3288, 5.4141, "MYS", "MY-07"),
        ("Manila", 120.9842, 14.5995, "PHL", "PH-X-MANILA"),
        ("Quezon City", 121.0437, 14.6760, "PHL", "PH-X-QUEZON_CITY"),
        ("Cebu City", 123.8907, 10.3157, "PHL", "PH-X-CEBU_CITY"),
        ("Jakarta", 106.8456, -6.2088, "IDN", "ID-JK"),
        ("Bangkok", 100.5018, 13.7563, "THA", "TH-10"),
        ("Ho Chi Minh City", 106.6297, 10.8231, "VNM", "VN-SG"),
        ("Dubai", 55.2708, 25.2048, "ARE", "AE-DU"),
        ("Doha", 51.5310, 25.2854, "QAT", "QA-DA"),
        ("Riyadh", 46.6753, 24.7136, "SAU", "SA-01"),
        ("Taipei", 121.5654, 25.0330, "TWN", "TW-TPE"),
        ("Dhaka", 90.4125, 23.8103, "BGD", "BD-C"),
        ("Kathmandu", 85.3240, 27.7172, "NPL", "NP-X-BAGMATI"),
        ("Macao", 113.5439, 22.1987, "MAC", "MO-X-MACAU"),
        ("Singapore", 103.8198, 1.3521, "SGP", None),
        ("Paris", 2.3522, 48.8566, "FRA", None),
    ],
)
def test_known_places(
    areas: AdminAreas, place: str, lon: float, lat: float, country: str, admin1: str | None
) -> None:
    found = areas.locate(lon, lat)
    assert found.country == country, place
    if admin1 or country != "SGP":
        assert found.admin1 == admin1, place
    assert found.flag in {None, "snapped"}


@pytest.mark.parametrize(
    ("place", "lon", "lat", "country", "admin1"),
    [
        ("Victoria, Hong Kong", 114.14417, 22.2875, "HKG", "HK-X-CENTRAL_AND_WESTERN"),
        ("Wan Chai", 114.17258, 22.28142, "HKG", "HK-X-WAN_CHAI"),
        ("Punggol", 103.90694, 1.41444, "SGP", "SG-01"),
        ("Kota Kinabalu", 116.0724, 5.9749, "MYS", "MY-12"),
        ("Malacca", 102.2405, 2.196, "MYS", "MY-04"),
        ("Cavite City", 120.89878, 14.48369, "PHL", "PH-CAV"),
    ],
)
def test_coastal_cities_just_off_the_generalised_coast_are_snapped(
    areas: AdminAreas, place: str, lon: float, lat: float, country: str, admin1: str
) -> None:
    assert areas.locate(lon, lat) == Location(country, admin1, "snapped"), place


def test_real_swapped_at_sea_and_out_of_range_points(areas: AdminAreas) -> None:
    assert areas.locate(6.93, 79.85).flag == "swapped_lat_lon"  # Colombo, latitude first
    assert areas.locate(14.5995, 120.9842).flag == "swapped_lat_lon"  # Manila, latitude first
    assert areas.locate(80.0, -10.0) == Location(None, None, "at_sea")  # Indian Ocean
    assert areas.locate(51.7, 25.3) == Location(None, None, "at_sea")  # off Doha
    assert areas.locate(200.0, 3.0) == Location(None, None, "out_of_range")


def test_a_large_batch_agrees_with_single_lookups(areas: AdminAreas) -> None:
    rng = np.random.default_rng(11)
    n = 200_000
    lons = rng.uniform(-180, 180, n)
    lats = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    found = areas.locate_many(lons, lats)
    assert set(found.flag) <= FLAGS
    assert 0.2 < np.mean(found.country != None) < 0.4  # noqa: E711 - about 29 % of Earth is land
    for i in rng.choice(n, 200, replace=False):
        one = areas.locate(lons[i], lats[i])
        assert (found.country[i], found.admin1[i], found.flag[i]) == tuple(
            [one.country, one.admin1, one.flag]
        )


def test_shipped_geometries_for_zones(areas: AdminAreas) -> None:
    mys = areas.country_geometry("MYS")
    assert mys is not None and shapely.contains_xy(mys, 101.6869, 3.1390)
    assert set(areas.countries_intersecting(mys.buffer(0.01))) >= {"BRN", "IDN", "MYS", "THA"}
    assert set(areas.countries_intersecting(geodesic_circle(103.82, 1.35, 30_000))) >= {
        "MYS",
        "SGP",
    }
    ncr = areas.admin1_geometry("PH-00")  # Metro Manila: the union of its cities
    manila = areas.admin1_geometry("PH-X-MANILA")
    assert ncr is not None and manila is not None
    assert shapely.contains_xy(ncr, 121.0437, 14.6760)  # Quezon City
    assert ncr.area > 5 * manila.area
    dadra_daman = areas.admin1_geometry("IN-DH")  # one ISO code for two features since 2020
    assert dadra_daman is not None and dadra_daman.geom_type == "MultiPolygon"
    assert areas.admin1_geometry("MY-14") is not None
    assert areas.admin1_geometry("FR-IDF") is None  # subdivisions only for the focus countries


def test_the_boundaries_are_loaded_once(areas: AdminAreas) -> None:
    assert AdminAreas.load() is areas
