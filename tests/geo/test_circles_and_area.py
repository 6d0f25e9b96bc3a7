"""Geodesic circles in metres; areas in an equal-area projection."""

from __future__ import annotations

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box

from geo.area import area_km2, area_share
from geo.circles import geodesic_circle

WGS84 = Geod(ellps="WGS84")


def test_circle_vertices_lie_at_the_radius() -> None:
    circle = geodesic_circle(101.69, 3.14, 150_000)
    lons, lats = circle.exterior.coords.xy
    _, _, dist = WGS84.inv([101.69] * len(lons), [3.14] * len(lons), list(lons), list(lats))
    assert all(d == pytest.approx(150_000, rel=1e-3) for d in dist)


def test_circle_contains_by_distance_in_metres() -> None:
    circle = geodesic_circle(0.0, 0.0, 150_000)
    for km, inside in ((149, True), (151, False)):
        lon, lat, _ = WGS84.fwd(0.0, 0.0, 45.0, km * 1000)
        assert bool(shapely.contains_xy(circle, lon, lat)) is inside


def test_circle_across_the_antimeridian_splits() -> None:
    circle = geodesic_circle(179.5, -17.0, 200_000)  # off Fiji
    assert circle.geom_type == "MultiPolygon"
    assert bool(shapely.contains_xy(circle, -179.8, -17.0)) and bool(
        shapely.contains_xy(circle, 179.9, -17.0)
    )


def test_bad_circles_are_refused() -> None:
    with pytest.raises(ValueError, match="radius_m"):
        geodesic_circle(0, 0, 0)
    with pytest.raises(ValueError, match="lat"):
        geodesic_circle(0, 95, 1000)


def test_area_share_is_equal_area() -> None:
    square = box(100, 0, 101, 1)
    assert area_share(square, box(100, 0, 100.5, 1)) == pytest.approx(0.5, rel=1e-3)
    assert area_share(square, box(110, 0, 111, 1)) == 0.0
    # Near the pole, the northern half of a degree band is smaller than the southern half.
    band = box(0, 60, 1, 70)
    assert area_share(band, box(0, 65, 1, 70)) < 0.47
    assert area_km2(box(0, 0, 1, 1)) == pytest.approx(12_308, rel=0.01)
