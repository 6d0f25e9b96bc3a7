"""Zone parsing: GeoJSON and WKT in, a valid (Multi)Polygon out, or a located reason."""

from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any

import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from geo.errors import GeometryError
from geo.geojson import parse_geojson, to_zone
from geo.geometry import Zone
from geo.limits import MAX_CROSSINGS
from geo.wkt import parse_wkt

SQUARE = [[100.0, 0.0], [101.0, 0.0], [101.0, 1.0], [100.0, 1.0], [100.0, 0.0]]
HOLE = [[100.2, 0.2], [100.8, 0.2], [100.8, 0.8], [100.2, 0.8], [100.2, 0.2]]
POLYGON = {"type": "Polygon", "coordinates": [SQUARE]}
# Crosses the antimeridian: 179 then -179 is a step of 2 degrees east, not 358 west.
ACROSS = [[179.0, -10.0], [-179.0, -10.0], [-179.0, 10.0], [179.0, 10.0], [179.0, -10.0]]


def polygon(*rings: list[Any]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def inside(parsed: Zone, lon: float, lat: float) -> bool:
    return bool(shapely.contains_xy(parsed.geometry, lon, lat))


# --- what is accepted ---------------------------------------------------------------------------


def test_geometry_feature_collection_and_text_give_the_same_zone() -> None:
    feature = {"type": "Feature", "properties": {"name": "x"}, "geometry": POLYGON}
    collection = {"type": "FeatureCollection", "features": [feature]}
    text = json.dumps(POLYGON)
    for source in (POLYGON, feature, collection, text, text.encode(), "\ufeff" + text):
        parsed = parse_geojson(source)
        assert parsed.geometry.equals(box(100, 0, 101, 1))
        assert parsed.repairs == []
        assert parsed.bounds == (100.0, 0.0, 101.0, 1.0)


def test_a_feature_collection_is_the_union_of_its_polygons_and_leaves_out_the_rest() -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": polygon([[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]])},
            {"type": "Feature", "geometry": polygon([[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]])},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [5, 5]}},
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [9, 9]]},
            },
            {"type": "Feature", "geometry": None},
        ],
    }
    parsed = parse_geojson(collection)
    assert parsed.geometry.geom_type == "Polygon"
    assert parsed.geometry.area == pytest.approx(7.0)
    assert any("1 Point" in r and "1 LineString" in r for r in parsed.repairs)
    assert any("merged" in r for r in parsed.repairs)


def test_empty_severity_polygons_of_a_feed_are_left_out_of_a_collection() -> None:
    # Feeds publish empty classes as polygons whose positions are all one point.
    empty = polygon([[172.2, -16.9]] * 10)
    collection = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": g} for g in (empty, POLYGON)],
    }
    parsed = parse_geojson(collection)
    assert parsed.geometry.equals(box(100, 0, 101, 1))
    assert any("polygon without area" in r for r in parsed.repairs)
    with pytest.raises(GeometryError) as caught:
        parse_geojson(empty)
    assert type(caught.value) is GeometryError
    assert caught.value.loc == ("coordinates", 0)


def test_holes_are_kept() -> None:
    parsed = parse_geojson(polygon(SQUARE, HOLE))
    assert parsed.geometry.area == pytest.approx(1 - 0.36)
    assert not inside(parsed, 100.5, 0.5)
    assert inside(parsed, 100.1, 0.1)


def test_multipolygons_and_geometry_collections_of_polygons() -> None:
    triangle = [[102, 0], [103, 0], [103, 1], [102, 0]]
    multi = parse_geojson({"type": "MultiPolygon", "coordinates": [[SQUARE, HOLE], [triangle]]})
    assert multi.geometry.geom_type == "MultiPolygon"
    assert multi.geometry.area == pytest.approx(1 - 0.36 + 0.5)
    assert not inside(multi, 100.5, 0.5) and inside(multi, 102.9, 0.1)
    collection = parse_geojson(
        {
            "type": "GeometryCollection",
            "geometries": [POLYGON, {"type": "Point", "coordinates": [0, 0]}, polygon(triangle)],
        }
    )
    assert collection.geometry.equals(multi.geometry.union(box(100.2, 0.2, 100.8, 0.8)))
    assert any("1 Point" in r for r in collection.repairs)


def test_to_geojson_is_rfc7946_and_reads_back_the_same() -> None:
    # Given clockwise, returned counter-clockwise (the right-hand rule of RFC 7946).
    clockwise = polygon(SQUARE[::-1], HOLE)
    parsed = parse_geojson(clockwise)
    out = parse_geojson(clockwise).to_geojson()
    assert out["type"] == "Polygon"
    assert shapely.is_ccw(shapely.linearrings(out["coordinates"][0]))
    assert not shapely.is_ccw(shapely.linearrings(out["coordinates"][1]))
    assert json.loads(json.dumps(out)) == out
    assert parse_geojson(out).geometry.equals(parsed.geometry)


def test_the_result_is_frozen() -> None:
    parsed = parse_geojson(POLYGON)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.geometry = box(0, 0, 1, 1)  # type: ignore[misc]


# --- repairs ------------------------------------------------------------------------------------


def test_open_rings_are_closed_with_a_note() -> None:
    parsed = parse_geojson(polygon(SQUARE[:-1]))
    assert parsed.geometry.equals(box(100, 0, 101, 1))
    assert parsed.repairs == ["closed the open ring at coordinates/0"]


def test_a_bowtie_is_repaired_into_its_two_triangles() -> None:
    parsed = parse_geojson(polygon([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]))
    assert parsed.geometry.is_valid
    assert parsed.geometry.geom_type == "MultiPolygon"
    assert parsed.geometry.area == pytest.approx(0.5)
    assert inside(parsed, 0.1, 0.5) and not inside(parsed, 0.5, 0.1)
    assert any("Self-intersection" in r for r in parsed.repairs)


def test_a_self_intersecting_ring_and_a_stray_hole_are_repaired() -> None:
    loop = parse_geojson(polygon([[0, 0], [2, 0], [2, 2], [1, 2], [1, -1], [0, -1], [0, 0]]))
    assert loop.geometry.is_valid and loop.geometry.area == pytest.approx(3.0)
    stray = parse_geojson(polygon(SQUARE, [[0, 0], [1, 0], [1, 1], [0, 0]]))
    assert stray.geometry.is_valid
    assert stray.repairs


def test_overlapping_parts_of_a_multipolygon_are_merged() -> None:
    parts = [[[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]], [[[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]]]
    parsed = parse_geojson({"type": "MultiPolygon", "coordinates": parts})
    assert parsed.geometry.is_valid and parsed.geometry.area == pytest.approx(7.0)


def test_a_scribble_is_refused_quickly_rather_than_repaired_for_minutes() -> None:
    # Every edge crosses most others: repair time would grow with the square of the crossings.
    zigzag = [[float(i % 2), i / 2000] for i in range(2000)] + [[0.5, -1.0]]
    scribble = [*zigzag, *([[x + 0.25, y] for x, y in zigzag])[::-1]]
    spikes = [[0.0 if i % 2 else 1.0, (i * 37 % 2000) / 2000] for i in range(2000)]
    for ring in (scribble, spikes):
        with pytest.raises(GeometryError, match=f"more than {MAX_CROSSINGS} times"):
            parse_geojson(polygon([*ring, ring[0]]))


# --- the antimeridian ---------------------------------------------------------------------------


def test_a_ring_jumping_across_the_antimeridian_is_split_on_both_sides() -> None:
    parsed = parse_geojson(polygon(ACROSS))
    assert parsed.geometry.geom_type == "MultiPolygon"
    assert inside(parsed, 179.9, 0) and inside(parsed, -179.9, 0)
    assert not inside(parsed, 0, 0) and not inside(parsed, 178.9, 0)
    assert parsed.geometry.area == pytest.approx(40.0)
    assert parsed.bounds[0] >= -180 and parsed.bounds[2] <= 180
    assert any("antimeridian" in r for r in parsed.repairs)


def test_longitudes_written_beyond_180_are_brought_back() -> None:
    east = parse_geojson(polygon([[170, -5], [190, -5], [190, 5], [170, 5], [170, -5]]))
    west = parse_geojson(polygon([[-190, -5], [-170, -5], [-170, 5], [-190, 5], [-190, -5]]))
    for parsed in (east, west):
        assert parsed.geometry.geom_type == "MultiPolygon"
        assert parsed.bounds[0] >= -180 and parsed.bounds[2] <= 180
        assert parsed.geometry.area == pytest.approx(200.0)
    assert inside(east, -175, 0) and inside(east, 175, 0) and not inside(east, 0, 0)
    assert inside(west, 175, 0) and inside(west, -175, 0)


def test_a_hole_across_the_antimeridian_stays_a_hole_on_both_sides() -> None:
    hole = [[179.5, -1], [-179.5, -1], [-179.5, 1], [179.5, 1], [179.5, -1]]
    parsed = parse_geojson(polygon(ACROSS, hole))
    assert not inside(parsed, 179.9, 0) and not inside(parsed, -179.9, 0)
    assert inside(parsed, 179.9, 5) and inside(parsed, -179.9, -5)
    assert parsed.geometry.area == pytest.approx(40.0 - 2.0)


def test_a_zone_already_split_at_the_antimeridian_is_kept_as_it_is() -> None:
    split = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[179, -1], [180, -1], [180, 1], [179, 1], [179, -1]]],
            [[[-180, -1], [-179, -1], [-179, 1], [-180, 1], [-180, -1]]],
        ],
    }
    parsed = parse_geojson(split)
    assert parsed.geometry.area == pytest.approx(4.0)
    assert parsed.repairs == []


def test_a_box_from_minus_180_to_180_is_the_whole_band() -> None:
    world = parse_geojson(polygon([[-180, -60], [180, -60], [180, 60], [-180, 60], [-180, -60]]))
    assert world.geometry.area == pytest.approx(360 * 120)
    assert inside(world, 0, 0) and inside(world, 179.9, 0) and inside(world, -179.9, 0)


def test_a_ring_round_a_pole_is_refused() -> None:
    ring = [[0, 70], [90, 70], [180, 70], [-90, 70], [0, 70]]
    with pytest.raises(GeometryError, match="enclose a pole") as caught:
        parse_geojson(polygon(ring))
    assert caught.value.loc == ("coordinates", 0)


def test_a_ring_both_wrapped_and_jumping_is_refused_at_the_coordinate() -> None:
    ring = [[170, 0], [190, 0], [-170, 5], [170, 5], [170, 0]]
    with pytest.raises(GeometryError, match="beyond ±180") as caught:
        parse_geojson(polygon(ring))
    assert caught.value.loc == ("coordinates", 0, 1, 0)


# --- refusals, each with a reason and a place ---------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "words", "loc"),
    [
        ({"type": "Point", "coordinates": [1, 2]}, "circle", ("type",)),
        ({"type": "MultiPoint", "coordinates": [[1, 2]]}, "not an area", ("type",)),
        ({"type": "LineString", "coordinates": [[1, 2], [3, 4]]}, "not an area", ("type",)),
        ({"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]]]}, "not an area", ("type",)),
        (
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}},
            "not an area",
            ("geometry", "type"),
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}
                ],
            },
            "none of the features",
            ("features",),
        ),
        (
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "Point", "coordinates": [1, 2]}],
            },
            "no Polygon",
            ("geometries",),
        ),
        (polygon([[0, 0], [1, 95], [1, 0], [0, 0]]), "latitude 95", ("coordinates", 0, 1, 1)),
        (polygon([[0, 0], [1, -90.5], [1, 0], [0, 0]]), "[lon, lat]", ("coordinates", 0, 1, 1)),
        (polygon([[0, 0], [999, 1], [1, 0], [0, 0]]), "longitude 999", ("coordinates", 0, 1, 0)),
        (polygon([[0, 0], [200, 1], [0, 1], [0, 0]]), "beyond ±180", ("coordinates", 0, 1, 0)),
        (polygon([[0, 0], ["a", 1], [1, 0], [0, 0]]), "number", ("coordinates", 0, 1, 0)),
        (polygon([[0, 0], [1, None], [1, 0], [0, 0]]), "number", ("coordinates", 0, 1, 1)),
        (polygon([[0, 0], [True, 1], [1, 0], [0, 0]]), "number", ("coordinates", 0, 1, 0)),
        (polygon([[0, 0], [float("nan"), 1], [1, 0], [0, 0]]), "finite", ("coordinates", 0, 1, 0)),
        (polygon([[0, 0], [1, float("inf")], [1, 0], [0, 0]]), "finite", ("coordinates", 0, 1, 1)),
        (polygon([[0, 0], [1], [1, 0], [0, 0]]), "[lon, lat]", ("coordinates", 0, 1)),
        (polygon([[0, 0], "1,1", [1, 0], [0, 0]]), "[lon, lat]", ("coordinates", 0, 1)),
        (polygon([[0, 0], [1, 1], [0, 0]]), "at least 4 positions", ("coordinates", 0)),
        (polygon([[0, 0], [1, 1]]), "at least 4 positions", ("coordinates", 0)),
        (polygon([[0, 0], [1, 1], [1, 1], [0, 0]]), "3 distinct corners", ("coordinates", 0)),
        (polygon([[0, 0], [1, 1], [2, 2], [0, 0]]), "no area", ("coordinates",)),
        ({"type": "Polygon", "coordinates": []}, "list of rings", ("coordinates",)),
        ({"type": "Polygon", "coordinates": "0 0 1 1"}, "list of rings", ("coordinates",)),
        ({"type": "Polygon", "coordinates": [7]}, "ring must be a list", ("coordinates", 0)),
        ({"type": "MultiPolygon", "coordinates": []}, "non-empty", ("coordinates",)),
        ({"type": "Hexagon", "coordinates": []}, "unknown GeoJSON type", ("type",)),
        ({"coordinates": [SQUARE]}, "unknown GeoJSON type None", ("type",)),
        ({"type": "Feature", "geometry": None}, "no geometry", ("geometry",)),
        ({"type": "FeatureCollection", "features": []}, "non-empty list", ("features",)),
        ({"type": "FeatureCollection", "features": [POLYGON]}, "Feature", ("features", 0)),
        (
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "Feature", "geometry": POLYGON}],
            },
            "expected a GeoJSON geometry",
            ("geometries", 0),
        ),
        ("[1, 2", "not valid JSON", ()),
        ("[1, 2]", "expected a GeoJSON object", ()),
        (b"\xff\xfe\x00", "not valid JSON", ()),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_a_place(
    obj: Any, words: str, loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(GeometryError) as caught:
        parse_geojson(obj)
    assert words in caught.value.reason
    assert caught.value.loc == loc


def test_nesting_is_bounded() -> None:
    nested: dict[str, Any] = POLYGON
    for _ in range(20):
        nested = {"type": "GeometryCollection", "geometries": [nested]}
    with pytest.raises(GeometryError, match="nest deeper"):
        parse_geojson(nested)


def test_size_limits_name_the_limit() -> None:
    ring = [[100 + i / 1000, 0] for i in range(1000)] + [[101, 1], [100, 1], [100, 0]]
    with pytest.raises(GeometryError, match="max_vertices") as caught:
        parse_geojson(polygon(ring), max_vertices=500)
    assert "500" in caught.value.reason
    text = json.dumps(polygon(ring))
    for source in (text, text.encode(), json.loads(text)):
        with pytest.raises(GeometryError, match=r"limit of 1000 bytes \(max_bytes\)"):
            parse_geojson(source, max_bytes=1000)
    assert parse_geojson(polygon(ring), max_vertices=1003).geometry.area > 0
    with pytest.raises(ValueError, match="max_vertices"):
        parse_geojson(POLYGON, max_vertices=0)


def test_the_default_limits_admit_a_large_real_zone() -> None:
    lons = [100 + 10 * i / 49_998 for i in range(49_999)]
    ring = [[x, 0.0] for x in lons] + [[x, 1.0] for x in reversed(lons)] + [[100.0, 0.0]]
    assert parse_geojson(polygon(ring)).geometry.area == pytest.approx(10.0)
    with pytest.raises(GeometryError, match="100000"):
        parse_geojson(polygon(ring, ring))


# --- WKT ----------------------------------------------------------------------------------------


def test_wkt_follows_the_same_rules() -> None:
    assert parse_wkt("POLYGON((100 0, 101 0, 101 1, 100 1, 100 0))").geometry.area == 1.0
    assert parse_wkt(b"SRID=4326;POLYGON Z ((100 0 5, 101 0 5, 101 1 5, 100 0 5))").geometry.area
    multi = parse_wkt(
        "MULTIPOLYGON (((100 0, 101 0, 101 1, 100 1, 100 0), (100.2 0.2, 100.8 0.2, 100.8 0.8, "
        "100.2 0.8, 100.2 0.2)), EMPTY, ((102 0, 103 0, 103 1, 102 0)))"
    )
    assert multi.geometry.area == pytest.approx(1 - 0.36 + 0.5)
    opened = parse_wkt("polygon ((100 0, 101 0, 101 1, 100 1))")
    assert opened.geometry.area == 1.0 and opened.repairs
    across = parse_wkt("POLYGON ((179 -10, -179 -10, -179 10, 179 10, 179 -10))")
    assert inside(across, 179.9, 0) and inside(across, -179.9, 0) and not inside(across, 0, 0)
    collection = parse_wkt(
        "GEOMETRYCOLLECTION (POINT (1 2), LINESTRING (0 0, 1 1), POLYGON ((0 0, 1 0, 1 1, 0 0)))"
    )
    assert collection.geometry.area == pytest.approx(0.5)
    assert any("1 Point" in r for r in collection.repairs)


@pytest.mark.parametrize(
    ("text", "words", "loc"),
    [
        ("POINT (1 2)", "not an area", ("type",)),
        ("MULTIPOINT ((1 2), (3 4))", "not an area", ("type",)),
        ("POLYGON EMPTY", "list of rings", ("coordinates",)),
        ("POLYGON ((100 0, 101 0, 101 95, 100 0))", "latitude 95", ("coordinates", 0, 2, 1)),
        ("POLYGON ((0 0, NaN 0, 1 1, 0 0))", "finite", ("coordinates", 0, 1, 0)),
        ("POLYGON((100 0, 101", "missing ')'", ("char", 19)),
        ("POLYGON ((100 0, 101 x, 100 1))", "not a pair of numbers", ("char", 16)),
        ("POLYGON ((100 0, 101 0, 101 1, 100 0)) junk", "unexpected text", ("char", 39)),
        ("HEXAGON ((0 0))", "unknown geometry type", ("char", 0)),
        ("42", "expected a geometry type", ("char", 0)),
        ("SRID=3857;POLYGON ((0 0, 1 0, 1 1, 0 0))", "SRID=3857", ("srid",)),
    ],
)
def test_bad_wkt_is_refused_with_a_place(text: str, words: str, loc: tuple[str | int, ...]) -> None:
    with pytest.raises(GeometryError) as caught:
        parse_wkt(text)
    assert words in caught.value.reason
    assert caught.value.loc == loc


def test_wkt_size_limits() -> None:
    text = "POLYGON ((" + ", ".join(f"{100 + i / 1000} 0" for i in range(600)) + ", 100 1, 100 0))"
    with pytest.raises(GeometryError, match="max_vertices"):
        parse_wkt(text, max_vertices=500)
    with pytest.raises(GeometryError, match="max_bytes"):
        parse_wkt(text, max_bytes=100)


# --- the error and helpers ----------------------------------------------------------------------


def test_the_error_is_a_value_error_that_says_where_and_survives_pickling() -> None:
    error = GeometryError("latitude 95 is out of range", ("coordinates", 0, 1, 1))
    assert isinstance(error, ValueError)
    assert str(error) == "latitude 95 is out of range (at coordinates/0/1/1)"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.loc) == (error.reason, error.loc)


def test_to_zone_passes_good_zones_through_and_checks_the_rest() -> None:
    good = box(0, 0, 1, 1)
    assert to_zone(good) is good
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    assert to_zone(bowtie).is_valid
    unwrapped = Polygon([(170, 0), (190, 0), (190, 5), (170, 5)])
    assert isinstance(to_zone(unwrapped), MultiPolygon)
    for not_an_area in (Point(0, 0), LineString([(0, 0), (1, 1)])):
        with pytest.raises(GeometryError, match="not an area"):
            to_zone(not_an_area)


def test_a_star_is_refused_by_its_overlapping_edges_before_it_is_validated() -> None:
    """A star's validation takes the square of its vertices; the limit is on the pairs of edges
    it compares, counted first, and named in the refusal."""
    from geo.errors import GeometryLimitExceeded
    from geo.limits import MAX_OVERLAPS, overlap_estimate, overlapping_pairs
    from tests.hostile_zones import STAR_ACCEPTED, STAR_REFUSED, star

    accepted = parse_geojson(star(STAR_ACCEPTED)).geometry
    assert shapely.get_num_coordinates(accepted) == STAR_ACCEPTED + 1
    assert overlapping_pairs(accepted, MAX_OVERLAPS) <= MAX_OVERLAPS < overlap_estimate(accepted)
    with pytest.raises(GeometryLimitExceeded, match="max_overlaps") as caught:
        parse_geojson(star(STAR_REFUSED))
    assert caught.value.limit == "max_overlaps" and caught.value.allowed == MAX_OVERLAPS
    # The bound never undercounts; the exact count stops just past its limit.
    small = Polygon(star(400)["coordinates"][0])
    exact = overlapping_pairs(small, 10**9)
    assert overlap_estimate(small) >= exact > 0
    assert overlapping_pairs(small, 100) <= exact


def test_a_multipolygon_is_merged_only_where_its_members_meet_along_more_than_points() -> None:
    apart = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
            [[[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]],  # touches the first at one corner
        ],
    }
    parsed = parse_geojson(apart)
    assert parsed.geometry.geom_type == "MultiPolygon" and parsed.repairs == []
    sharing = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
            [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]],  # shares an edge
        ],
    }
    merged = parse_geojson(sharing)
    assert merged.geometry.geom_type == "Polygon"
    assert merged.repairs == ["merged overlapping or adjacent polygons into one zone"]
