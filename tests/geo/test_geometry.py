"""Zone parsing: GeoJSON and WKT in, a valid (Multi)Polygon out, or a located reason."""

from __future__ import annotations

import json

import pytest
import shapely

from geo.errors import GeometryError
from geo.geometry import parse_geojson, parse_wkt

SQUARE = [[100.0, 0.0], [101.0, 0.0], [101.0, 1.0], [100.0, 1.0], [100.0, 0.0]]


def test_geometry_feature_and_collection_alike() -> None:
    polygon = {"type": "Polygon", "coordinates": [SQUARE]}
    feature = {"type": "Feature", "properties": {}, "geometry": polygon}
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature,
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]}},
        ],
    }
    areas = {
        parse_geojson(o).geometry.area for o in (polygon, feature, collection, json.dumps(polygon))
    }
    assert areas == {1.0}


def test_holes_and_multipolygons_survive() -> None:
    hole = [[100.2, 0.2], [100.8, 0.2], [100.8, 0.8], [100.2, 0.8], [100.2, 0.2]]
    zone = parse_geojson(
        {
            "type": "MultiPolygon",
            "coordinates": [[SQUARE, hole], [[[102, 0], [103, 0], [103, 1], [102, 0]]]],
        }
    ).geometry
    assert zone.geom_type == "MultiPolygon"
    assert zone.area == pytest.approx(1 - 0.36 + 0.5)
    assert not shapely.contains_xy(zone, 100.5, 0.5)


def test_wkt() -> None:
    assert parse_wkt("POLYGON((100 0, 101 0, 101 1, 100 1, 100 0))").geometry.area == 1.0
    with pytest.raises(GeometryError, match="WKT"):
        parse_wkt("POLYGON((100 0, 101")


def test_open_rings_are_closed_and_bowties_repaired_with_a_note() -> None:
    opened = parse_geojson({"type": "Polygon", "coordinates": [SQUARE[:-1]]})
    assert opened.geometry.area == 1.0
    assert any("closed" in r for r in opened.repairs)
    bowtie = parse_geojson(
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    )
    assert bowtie.geometry.is_valid
    assert bowtie.geometry.area == pytest.approx(0.5)
    assert any("Self-intersection" in r for r in bowtie.repairs)


def test_antimeridian_crossing_is_split_so_both_sides_count() -> None:
    zone = parse_geojson(
        {
            "type": "Polygon",
            "coordinates": [[[179, -10], [-179, -10], [-179, 10], [179, 10], [179, -10]]],
        }
    )
    assert zone.geometry.geom_type == "MultiPolygon"
    assert shapely.contains_xy(zone.geometry, 179.9, 0) and shapely.contains_xy(
        zone.geometry, -179.9, 0
    )
    assert not shapely.contains_xy(zone.geometry, 0, 0)
    beyond = parse_geojson(
        {"type": "Polygon", "coordinates": [[[170, -5], [190, -5], [190, 5], [170, 5], [170, -5]]]}
    )
    assert shapely.contains_xy(beyond.geometry, -175, 0)
    assert beyond.bounds[0] >= -180 and beyond.bounds[2] <= 180


@pytest.mark.parametrize(
    ("obj", "words", "loc"),
    [
        ({"type": "Point", "coordinates": [1, 2]}, "not an area", ("type",)),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 95], [1, 0], [0, 0]]]},
            "latitude 95",
            ("coordinates", 0, 1, 1),
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [999, 1], [1, 0], [0, 0]]]},
            "longitude 999",
            ("coordinates", 0, 1, 0),
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]},
            "at least 4",
            ("coordinates", 0),
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], ["a", 1], [1, 0], [0, 0]]]},
            "numbers",
            ("coordinates", 0, 1),
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [float("nan"), 1], [1, 0], [0, 0]]]},
            "finite",
            ("coordinates", 0, 1),
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]},
            "nothing of it",
            ("coordinates",),
        ),
        ({"type": "Hexagon", "coordinates": []}, "unknown geometry type", ("type",)),
        ({"type": "Feature", "geometry": None}, "no geometry", ("geometry",)),
        ({"type": "FeatureCollection", "features": []}, "no features", ("features",)),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_a_place(
    obj: object, words: str, loc: tuple[object, ...]
) -> None:
    with pytest.raises(GeometryError) as caught:
        parse_geojson(obj)  # type: ignore[arg-type]
    assert words in caught.value.reason
    assert caught.value.loc == loc


def test_size_limits() -> None:
    ring = [[100 + i / 1000, 0] for i in range(1000)] + [[101, 1], [100, 1], [100, 0]]
    with pytest.raises(GeometryError, match="vertices"):
        parse_geojson({"type": "Polygon", "coordinates": [ring]}, max_vertices=500)
    with pytest.raises(GeometryError, match="bytes"):
        parse_geojson(json.dumps({"type": "Polygon", "coordinates": [ring]}), max_bytes=1000)
