"""Areas and area shares in an equal-area projection, checked against the ellipsoid's formula."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from geo.area import area_km2, area_share
from geo.errors import GeometryError
from geo.geojson import parse_geojson

A = 6_378_137.0
E2 = 0.006_694_379_990_14


def ellipsoid_box_km2(west: float, south: float, east: float, north: float) -> float:
    """Exact area of a longitude-latitude box on the WGS84 ellipsoid (authalic formula)."""
    e = math.sqrt(E2)

    def q(lat: float) -> float:
        s = math.sin(math.radians(lat))
        return (1 - E2) * (s / (1 - E2 * s * s) - math.log((1 - e * s) / (1 + e * s)) / (2 * e))

    return A * A * math.radians(east - west) / 2 * (q(north) - q(south)) / 1e6


@pytest.mark.parametrize(
    "bounds", [(0, 0, 1, 1), (100, 1, 101, 2), (10, 60, 12, 70), (-180, -90, 180, 90)]
)
def test_area_of_a_box_matches_the_ellipsoid(bounds: tuple[float, float, float, float]) -> None:
    assert area_km2(box(*bounds)) == pytest.approx(ellipsoid_box_km2(*bounds), rel=1e-6)


def test_area_of_the_earth() -> None:
    assert area_km2(box(-180, -90, 180, 90)) == pytest.approx(510_065_622, rel=1e-6)


def test_half_covered_square_is_half() -> None:
    square = box(100, 0, 101, 1)
    assert area_share(square, box(100, 0, 100.5, 1)) == pytest.approx(0.5, rel=1e-6)
    assert area_share(square, box(99, -1, 102, 2)) == pytest.approx(1.0)
    assert area_share(square, box(110, 0, 111, 1)) == 0.0
    assert area_share(square, box(101, 0, 102, 1)) == 0.0  # touching is not sharing


def test_equal_area_differs_from_naive_degrees_at_high_latitude() -> None:
    band = box(0, 60, 1, 70)
    north = box(0, 65, 1, 70)
    naive = north.area / band.area
    share = area_share(band, north)
    assert naive == pytest.approx(0.5)
    assert share < 0.47
    assert share == pytest.approx(
        ellipsoid_box_km2(0, 65, 1, 70) / ellipsoid_box_km2(0, 60, 1, 70), rel=1e-6
    )
    # At the equator the two agree.
    assert area_share(box(0, 0, 1, 10), box(0, 5, 1, 10)) == pytest.approx(0.5, abs=0.005)


def test_slanted_edges_are_measured_as_drawn() -> None:
    # A triangle's hypotenuse is straight in degrees; the two halves of a box along its
    # diagonal are not equal in area, and sum to the box.
    lower = Polygon([(0, 50), (20, 50), (20, 70)])
    upper = Polygon([(0, 50), (20, 70), (0, 70)])
    whole = ellipsoid_box_km2(0, 50, 20, 70)
    assert area_km2(lower) + area_km2(upper) == pytest.approx(whole, rel=1e-5)
    assert area_km2(lower) > area_km2(upper)


def test_areas_across_the_antimeridian() -> None:
    across = parse_geojson(
        {
            "type": "Polygon",
            "coordinates": [[[179, -1], [-179, -1], [-179, 1], [179, 1], [179, -1]]],
        }
    ).geometry
    same_size = ellipsoid_box_km2(0, -1, 2, 1)
    assert area_km2(across) == pytest.approx(same_size, rel=1e-6)
    # Given unwrapped, the same area is measured on both sides.
    assert area_km2(box(179, -1, 181, 1)) == pytest.approx(same_size, rel=1e-6)
    assert area_share(across, box(179, -5, 180, 5)) == pytest.approx(0.5, rel=1e-6)
    assert area_share(across, box(-180, -5, -179.5, 5)) == pytest.approx(0.25, rel=1e-6)
    assert area_share(box(179, -1, 181, 1), across) == pytest.approx(1.0)


def test_multipolygons_and_holes() -> None:
    ring = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
    assert area_share(ring, box(1, 1, 3, 3)) == 0.0
    assert area_share(ring, box(0, 0, 4, 4)) == pytest.approx(1.0)
    two = MultiPolygon([box(0, 0, 1, 1), box(10, 0, 11, 1)])
    assert area_share(two, box(9, -1, 12, 2)) == pytest.approx(0.5, rel=1e-4)


def test_an_invalid_area_is_measured_as_its_repair() -> None:
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    assert area_km2(bowtie) == pytest.approx(area_km2(box(0, 0, 1, 1)) / 2, rel=1e-3)


@pytest.mark.parametrize(
    ("area", "zone", "name"),
    [
        (Point(0, 0), box(0, 0, 1, 1), "area"),
        (box(0, 0, 1, 1), LineString([(0, 0), (1, 1)]), "zone"),
        (Polygon(), box(0, 0, 1, 1), "area"),
        (box(0, 0, 1, 1), box(0, 80, 1, 95), "zone"),
        (Polygon([(0, 0), (1, 1), (2, 2)]), box(0, 0, 1, 1), "area"),
    ],
)
def test_unusable_arguments_are_named(area: object, zone: object, name: str) -> None:
    with pytest.raises(GeometryError, match=f"^{name} ") as caught:
        area_share(area, zone)
    assert caught.value.loc == (name,)
