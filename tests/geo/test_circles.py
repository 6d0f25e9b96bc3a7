"""Geodesic circles in metres, checked with the ellipsoid's own distances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box

from geo.area import area_km2
from geo.circles import circle_geojson, geodesic_circle, haversine_m, split_at_antimeridian
from geo.errors import GeometryError

WGS84 = Geod(ellps="WGS84")


def vertex_distances(circle: Polygon | MultiPolygon, lon: float, lat: float) -> np.ndarray:
    """Geodesic distance in metres from the centre to every vertex, leaving out the points
    where the antimeridian or a meridian to the pole cuts the ring."""
    xy = shapely.get_coordinates(circle)
    xy = xy[(np.abs(xy[:, 0]) < 180) & (np.abs(xy[:, 1]) < 90)]
    _, _, dist = WGS84.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
    return np.asarray(dist)


@pytest.mark.parametrize(
    ("lon", "lat", "radius_m"),
    [(101.69, 3.14, 150_000), (0, 0, 1_000), (139.7, 35.7, 500_000), (120, 60, 2_000_000)],
)
def test_vertices_lie_at_the_radius(lon: float, lat: float, radius_m: float) -> None:
    circle = geodesic_circle(lon, lat, radius_m)
    assert circle.is_valid
    dist = vertex_distances(circle, lon, lat)
    assert len(dist) == 73  # 72 vertices, then the first again
    assert np.all(np.abs(dist - radius_m) <= radius_m * 1e-3)


def test_contains_points_by_distance_in_metres() -> None:
    circle = geodesic_circle(0.0, 0.0, 150_000)
    for azimuth in range(0, 360, 15):
        for km, expected in ((149, True), (151, False)):
            lon, lat, _ = WGS84.fwd(0.0, 0.0, azimuth, km * 1000)
            assert bool(shapely.contains_xy(circle, lon, lat)) is expected, (azimuth, km)


def test_a_circle_across_the_antimeridian_is_split() -> None:
    circle = geodesic_circle(179.5, -17.0, 200_000)  # off Fiji
    assert isinstance(circle, MultiPolygon) and circle.is_valid
    assert circle.bounds[0] >= -180 and circle.bounds[2] <= 180
    assert shapely.contains_xy(circle, 179.9, -17.0)
    assert shapely.contains_xy(circle, -179.9, -17.0)
    assert not shapely.contains_xy(circle, 0.0, -17.0)
    dist = vertex_distances(circle, 179.5, -17.0)
    assert np.all(np.abs(dist - 200_000) <= 200)
    east, _, _ = WGS84.fwd(179.5, -17.0, 90, 190_000)
    assert east < 0 and shapely.contains_xy(circle, east, -17.0)


def test_a_circle_round_a_pole_covers_the_pole() -> None:
    circle = geodesic_circle(30.0, 88.0, 500_000)
    assert isinstance(circle, Polygon) and circle.is_valid
    assert circle.bounds[3] == 90.0
    # The far side of the pole, 278 km from the centre, is inside; the near side beyond the
    # radius is not.
    assert shapely.contains_xy(circle, -150.0, 89.5)
    assert not shapely.contains_xy(circle, 30.0, 83.0)
    area = area_km2(circle)
    assert area == pytest.approx(math.pi * 500**2, rel=0.01)
    south = geodesic_circle(0.0, -85.0, 1_000_000)
    assert south.bounds[1] == -90.0 and shapely.contains_xy(south, 180 - 1e-9, -89.0)


def test_split_at_antimeridian() -> None:
    inside = box(10, 0, 20, 10)
    assert split_at_antimeridian(inside) is inside
    split = split_at_antimeridian(box(170, -5, 190, 5))
    assert isinstance(split, MultiPolygon)
    assert sorted(p.bounds for p in split.geoms) == [(-180, -5, -170, 5), (170, -5, 180, 5)]
    west = split_at_antimeridian(MultiPolygon([box(-190, 0, -170, 1), box(0, 0, 1, 1)]))
    assert west.area == pytest.approx(21.0)
    assert west.bounds[0] >= -180 and west.bounds[2] <= 180


def test_circle_geojson_and_sanity_distance() -> None:
    mapping = circle_geojson(103.8, 1.35, 10_000)
    assert mapping["type"] == "Polygon"
    assert len(mapping["coordinates"][0]) == 73
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0, 0, 0), "radius_m"),
        ((0, 0, -5), "radius_m"),
        ((0, 0, 20_000_000), "radius_m"),
        ((0, 0, float("nan")), "radius_m"),
        ((0, 95, 1_000), "lat"),
        ((181, 0, 1_000), "lon"),
        ((float("nan"), 0, 1_000), "lon"),
    ],
)
def test_bad_circles_are_refused_naming_the_argument(
    args: tuple[float, float, float], name: str
) -> None:
    with pytest.raises(GeometryError, match=f"^{name}=") as caught:
        geodesic_circle(*args)
    assert isinstance(caught.value, ValueError)
    assert caught.value.loc == (name,)
    with pytest.raises(GeometryError, match="segments"):
        geodesic_circle(0, 0, 1_000, segments=4)
